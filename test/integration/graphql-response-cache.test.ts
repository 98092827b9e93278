/**
 * The whole-response cache in front of Apollo (src/serving/response-cache.ts), through HTTP on DuckDB:
 * a metrics query asked again is answered with the same body (its questions marked as cache hits) and
 * no statement; a key of another scope never gets it; a load of a table it read (the change feed's
 * invalidation) makes the next answer the new one; mutations, other reads and errors are not kept; the
 * rate limit still counts every request; SEXTANT_RESULT_CACHE=off keeps nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, withRateLimit } from '../../src/auth/rate-limit.js';
import { authenticateByHeader, gql, startHarness, type GqlResponse, type Harness } from './graphql-harness.js';

const authenticate = authenticateByHeader;

const DAY = '2026-03-15';
const QUERY = `query($limit: Int) { social { postPerformance(where: { metricDate: { gte: "2026-03-15", lt: "2026-03-16" } }, limit: $limit) { platform impressions } } }`;
const queries = (res: GqlResponse) => (res.body.extensions?.sextant as { queries: Array<{ cacheHit: boolean; computedAt: string }> }).queries;
const total = (res: GqlResponse) => (res.body.data!.social as { postPerformance: Array<{ impressions: number }> }).postPerformance.reduce((s, r) => s + r.impressions, 0);

describe('the response cache (DuckDB, through HTTP)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('duckdb', { authenticate });
  });
  afterAll(async () => h?.close());

  it('answers a repeated query with the same body, marked as a cache hit, without a statement', async () => {
    h.serving.clearCaches();
    const first = await gql(h.app, QUERY, { limit: 1000 });
    expect(first.body.errors).toBeUndefined();
    expect(queries(first)[0].cacheHit).toBe(false);
    const before = h.statements.length;
    const second = await gql(h.app, QUERY, { limit: 1000 });
    expect(h.statements.length).toBe(before);
    expect(second.body.data).toEqual(first.body.data);
    expect(queries(second)).toEqual(queries(first).map((q) => ({ ...q, cacheHit: true })));
    // Other variables are another question.
    const other = await gql(h.app, QUERY, { limit: 999 });
    expect(h.statements.length).toBeGreaterThan(before);
    expect(queries(other)[0].cacheHit).toBe(false);
  });

  it('never serves an answer to a key of another scope', async () => {
    h.serving.clearCaches();
    const q = `{ metrics(query: { model: "email.campaigns", measures: ["sends"] }) { rows } }`;
    const admin = await gql(h.app, q);
    expect(admin.body.errors).toBeUndefined();
    expect(await gql(h.app, q)).toMatchObject({ body: { data: admin.body.data } });
    // The social key may not read email: it gets its own refusal, not the admin's cached rows.
    const social = await gql(h.app, q, undefined, { 'x-test-principal': 'social' });
    expect(social.body.data ?? null).toBeNull();
    expect(social.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    // And the email key, which may, gets the numbers: its own entry beside the admin's.
    expect(h.serving.responses.size).toBe(1);
    const email = await gql(h.app, q, undefined, { 'x-test-principal': 'email' });
    expect(email.body.data).toEqual(admin.body.data);
    expect(h.serving.responses.size).toBe(2);
    // A team field the key's schema lacks is refused, however often the admin asked it.
    await gql(h.app, QUERY, { limit: 1000 });
    const scoped = await gql(h.app, QUERY, { limit: 1000 }, { 'x-test-principal': 'email' });
    expect(scoped.body.data ?? null).toBeNull();
    expect(scoped.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('answers the new numbers as soon as a load of a table it read is announced', async () => {
    h.serving.clearCaches();
    const before = await gql(h.app, QUERY, { limit: 1000 });
    expect(queries(await gql(h.app, QUERY, { limit: 1000 }))[0].cacheHit).toBe(true);
    // What a load does: commit rows, then invalidate its tables (ingestion, or the change feed).
    await h.raw.execute(
      `insert into social.post_daily (platform, post_id, metric_date, account_id, account_name, impressions, likes, comments, shares, _loaded_at)
       values ('x', 'response-cache-probe', '${DAY}', 'acc', 'Probe', 1234567, 0, 0, 0, now())`,
    );
    // A load of another table leaves the answer cached.
    h.serving.invalidateTables(['email.campaign_daily']);
    expect(queries(await gql(h.app, QUERY, { limit: 1000 }))[0].cacheHit).toBe(true);
    h.serving.invalidateTables(['social.post_daily']);
    const after = await gql(h.app, QUERY, { limit: 1000 });
    expect(queries(after)[0].cacheHit).toBe(false);
    expect(total(after)).toBe(total(before) + 1234567);
  });

  it('keeps no answer with errors and no operation that reads anything but metrics', async () => {
    h.serving.clearCaches();
    const bad = `{ social { postPerformance(limit: 50001) { platform } } }`;
    expect((await gql(h.app, bad)).body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(h.app, bad)).body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    await gql(h.app, `{ catalog { teams { name } } social { postPerformance(limit: 1) { impressions } } }`);
    await gql(h.app, `{ catalog { teams { name } } social { postPerformance(limit: 1) { impressions } } }`);
    expect(h.serving.responses.size).toBe(0);
  });
});

describe('the response cache under a rate limit', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('duckdb', { authenticate: withRateLimit(authenticateByHeader, createRateLimiter({ perMinute: 3 })) });
  });
  afterAll(async () => h?.close());

  it('still refuses a key past its limit, cached answer or not', async () => {
    const asSocial = { 'x-test-principal': 'social' };
    for (let i = 0; i < 3; i++) expect((await gql(h.app, QUERY, { limit: 1000 }, asSocial)).body.errors).toBeUndefined();
    expect(h.serving.responses.size).toBe(1);
    const refused = await gql(h.app, QUERY, { limit: 1000 }, asSocial);
    expect(refused.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(refused.body.data ?? null).toBeNull();
  });
});

describe('the response cache with SEXTANT_RESULT_CACHE=off', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('duckdb', { env: { SEXTANT_RESULT_CACHE: 'off' } });
  });
  afterAll(async () => h?.close());

  it('asks the warehouse every time', async () => {
    await gql(h.app, QUERY, { limit: 1000 });
    const before = h.statements.length;
    const again = await gql(h.app, QUERY, { limit: 1000 });
    expect(queries(again)[0].cacheHit).toBe(false);
    expect(h.statements.length).toBeGreaterThan(before);
    expect(h.serving.responses.size).toBe(0);
  });
});
