/**
 * The typed metrics API on DuckDB and PostgreSQL, checked against numbers computed independently in
 * the test from the raw rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/warehouses.js';
import { gql, startHarness, type Harness } from './graphql-harness.js';

interface RawPost {
  metric_date: string;
  platform: string;
  account_id: string;
  impressions: number;
  likes: number | null;
  comments: number | null;
  shares: number | null;
}

const SPEC_QUERY = `{
  social {
    postPerformance(
      where: { platform: { in: ["facebook", "instagram"] }, metricDate: { gte: "2026-01-01", lt: "2026-04-01" } }
      orderBy: [{ metricDate: ASC }, { platform: ASC }]
    ) {
      metricDate(grain: MONTH)
      platform
      impressions
      engagements
      engagementRate
    }
  }
}`;

/** sum(likes + comments + shares) and sum(impressions) per month and platform, from the raw rows. */
function expectedByMonth(rows: RawPost[]) {
  const groups = new Map<string, { metricDate: string; platform: string; impressions: number; engagements: number; dailyRates: number[] }>();
  for (const r of rows) {
    const day = String(r.metric_date).slice(0, 10);
    if (!['facebook', 'instagram'].includes(r.platform) || day < '2026-01-01' || day >= '2026-04-01') continue;
    const month = `${day.slice(0, 7)}-01`;
    const key = `${month}|${r.platform}`;
    const g = groups.get(key) ?? { metricDate: month, platform: r.platform, impressions: 0, engagements: 0, dailyRates: [] };
    // SQL's a + b + c is null when one is null, and sum() skips nulls.
    const e = r.likes === null || r.comments === null || r.shares === null ? null : Number(r.likes) + Number(r.comments) + Number(r.shares);
    g.impressions += Number(r.impressions ?? 0);
    g.engagements += e ?? 0;
    if (e !== null && Number(r.impressions) > 0) g.dailyRates.push(e / Number(r.impressions));
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => (a.metricDate + a.platform < b.metricDate + b.platform ? -1 : 1));
}

describe.each(DIALECTS)('typed metrics on %s', (dialect) => {
  let h: Harness;
  let raw: RawPost[];

  beforeAll(async () => {
    h = await startHarness(dialect);
    raw = (await h.raw.query('select metric_date, platform, account_id, impressions, likes, comments, shares from social.post_daily')) as unknown as RawPost[];
  });
  afterAll(async () => h?.close());

  it('answers the documented example with sums and a ratio of sums per month and platform', async () => {
    const res = await gql(h.app, SPEC_QUERY);
    expect(res.body.errors).toBeUndefined();
    const rows = (res.body.data!.social as { postPerformance: Array<Record<string, unknown>> }).postPerformance;
    const expected = expectedByMonth(raw);
    expect(expected.length).toBeGreaterThan(2);
    expect(rows.map((r) => [r.metricDate, r.platform])).toEqual(expected.map((e) => [e.metricDate, e.platform]));
    rows.forEach((r, i) => {
      const e = expected[i];
      expect(r.impressions).toBe(e.impressions);
      expect(r.engagements).toBe(e.engagements);
      expect(typeof r.engagementRate).toBe('number');
      expect(r.engagementRate as number).toBeCloseTo(e.engagements / e.impressions, 12);
    });
    // The ratio of sums differs from the mean of the daily ratios on this data: the test would notice an average.
    const e0 = expected[0];
    const meanOfDaily = e0.dailyRates.reduce((a, b) => a + b, 0) / e0.dailyRates.length;
    expect(Math.abs(meanOfDaily - e0.engagements / e0.impressions)).toBeGreaterThan(1e-6);
  });

  it('keeps sums unchanged when a joined dimension is selected', async () => {
    const res = await gql(
      h.app,
      `{ social { postPerformance(where: { metricDate: { gte: "2026-01-01", lt: "2026-04-01" } }) { impressions engagements accounts { region } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const rows = (res.body.data!.social as { postPerformance: Array<{ impressions: number; engagements: number; accounts: { region: string | null } }> })
      .postPerformance;
    expect(rows.length).toBeGreaterThan(1);
    const total = rows.reduce((a, r) => a + r.impressions, 0);
    const expectedTotal = raw
      .filter((r) => String(r.metric_date).slice(0, 10) >= '2026-01-01' && String(r.metric_date).slice(0, 10) < '2026-04-01')
      .reduce((a, r) => a + Number(r.impressions ?? 0), 0);
    expect(total).toBe(expectedTotal);
    for (const r of rows) expect(typeof r.accounts.region === 'string' || r.accounts.region === null).toBe(true);
  });

  it('runs one statement for the same question asked twice through aliases and fragments', async () => {
    h.serving.cache.clear();
    const before = h.statements.length;
    const res = await gql(
      h.app,
      `query { social {
        a: postPerformance(where: { platform: { equals: "x" } }) { platform impressions }
        b: postPerformance(where: { platform: { equals: "x" } }) { ...F }
      } }
      fragment F on SocialPostPerformanceRow { impressions platform }`,
    );
    expect(res.body.errors).toBeUndefined();
    const social = res.body.data!.social as Record<string, unknown>;
    expect(social.a).toEqual(social.b);
    expect(h.statements.length - before).toBe(1);
  });

  it('gives one column per grain when a time dimension is aliased at two grains', async () => {
    h.serving.cache.clear();
    const before = h.statements.length;
    const res = await gql(
      h.app,
      `{ social { postPerformance(where: { metricDate: { gte: "2025-12-29", lt: "2026-01-12" } }, orderBy: [{ metricDate: ASC }]) {
        day: metricDate month: metricDate(grain: MONTH) week: metricDate(grain: WEEK) impressions } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(h.statements.length - before).toBe(1);
    const rows = (res.body.data!.social as { postPerformance: Array<{ day: string; month: string; week: string; impressions: number }> }).postPerformance;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(r.month).toBe(`${r.day.slice(0, 7)}-01`);
      // ISO week: the Monday on or before the day.
      const d = new Date(`${r.day}T00:00:00Z`);
      const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
      expect(r.week).toBe(monday);
    }
  });

  it('returns hour buckets as ISO UTC timestamps with sums per hour', async () => {
    const sent = await h.raw.query('select send_time, emails_sent from email.campaign_daily where send_time is not null');
    const expected = new Map<string, number>();
    for (const r of sent) {
      const d = new Date(String(r.send_time).replace(' ', 'T').replace(/(T\d{2}:\d{2}:\d{2}(\.\d+)?)$/, '$1Z'));
      d.setUTCMinutes(0, 0, 0);
      const hour = `${d.toISOString().slice(0, 19)}Z`;
      expected.set(hour, (expected.get(hour) ?? 0) + Number(r.emails_sent ?? 0));
    }
    expect(expected.size).toBeGreaterThan(1);
    const res = await gql(h.app, `{ email { campaigns(orderBy: [{ sendDate: ASC }], limit: 50000) { sendDate(grain: HOUR) sends } } }`);
    expect(res.body.errors).toBeUndefined();
    const rows = (res.body.data!.email as { campaigns: Array<{ sendDate: string | null; sends: number }> }).campaigns.filter((r) => r.sendDate !== null);
    for (const r of rows) expect(r.sendDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
    expect(new Map(rows.map((r) => [r.sendDate!, r.sends]))).toEqual(expected);
  });

  it('reports cache hits in extensions.sextant and serves a repeated question from the cache', async () => {
    const q = `{ social { postPerformance(where: { platform: { equals: "instagram" } }) { postType posts } } }`;
    const first = await gql(h.app, q);
    const before = h.statements.length;
    const second = await gql(h.app, q);
    expect(second.body.data).toEqual(first.body.data);
    expect(h.statements.length).toBe(before);
    const sextant = second.body.extensions?.sextant as { queries: Array<{ model: string; cacheHit: boolean; computedAt: string }> };
    expect(sextant.queries).toEqual([
      {
        model: 'social.post_performance',
        cacheHit: true,
        computedAt: expect.any(String),
        lastLoadedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        rows: (first.body.data as { social: { postPerformance: unknown[] } }).social.postPerformance.length,
        limit: 1000,
        offset: 0,
        hasMore: false,
        rollup: null,
        // The harness's serving layer keeps no rollups (test/integration/rollups-serving.test.ts serves them).
        rollupReason: 'rollups are not kept by this process',
      },
    ]);
    h.serving.invalidateTables(['social.post_daily']);
    const third = await gql(h.app, q);
    expect((third.body.extensions?.sextant as { queries: Array<{ cacheHit: boolean }> }).queries[0].cacheHit).toBe(false);
  });

  it('honours @skip and @include in the selection', async () => {
    const res = await gql(
      h.app,
      `query($withPlatform: Boolean!) { social { postPerformance(limit: 5) { platform @include(if: $withPlatform) postType @skip(if: true) impressions } } }`,
      { withPlatform: false },
    );
    expect(res.body.errors).toBeUndefined();
    const rows = (res.body.data!.social as { postPerformance: Array<Record<string, unknown>> }).postPerformance;
    // Without a dimension, the whole table is one group.
    expect(rows).toHaveLength(1);
    expect(rows[0].impressions).toBe(raw.reduce((a, r) => a + Number(r.impressions ?? 0), 0));
  });

  it('answers BAD_USER_INPUT for a limit over the cap, a bad filter value and an unknown member', async () => {
    const over = await gql(h.app, `{ social { postPerformance(limit: 50001) { platform } } }`);
    expect(over.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(over.body.errors?.[0].message).toMatch(/50001.*maximum of 50000/);

    const badDate = await gql(h.app, `{ social { postPerformance(where: { metricDate: { gte: "2026-13-01" } }) { platform } } }`);
    expect(badDate.status).toBe(400);
    expect(badDate.body.errors?.[0].message).toMatch(/TimeValue: expected an ISO date/);

    const badVar = await gql(h.app, `query($d: TimeValue) { social { postPerformance(where: { metricDate: { gte: $d } }) { platform } } }`, { d: 'yesterday' });
    expect(badVar.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(badVar.body.errors?.[0].message).toMatch(/expected an ISO date/);

    const unknown = await gql(h.app, `{ social { postPerformance { platfrom } } }`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(unknown.body.errors?.[0].message).toMatch(/platfrom/);

    const twoKeys = await gql(h.app, `{ social { postPerformance(orderBy: [{ impressions: DESC, platform: ASC }]) { platform impressions } } }`);
    expect(twoKeys.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(twoKeys.body.errors?.[0].message).toMatch(/exactly one member/);
  });
});
