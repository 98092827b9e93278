/**
 * The limits over real HTTP (reliability-anchors §6.A): operation limits (aliases, fragments, cost,
 * tokens, introspection depth), body size, batching, CSRF, the per-key rate limit, production
 * defaults (masked errors, no introspection or query page), and a slow query cancelled in
 * PostgreSQL itself by the statement timeout.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

describe('operation and request limits', () => {
  let svc: SecurityServer;
  let key: string;
  beforeAll(async () => {
    svc = await startSecurityServer({ dialect: 'duckdb' });
    key = (await svc.app.keys.create({ role: 'admin' })).key;
  });
  afterAll(async () => {
    await svc?.close();
  });
  const gql = (query: string) => svc.gql(query, { key });

  function expectTooComplex(res: Awaited<ReturnType<typeof gql>>, limit: string): void {
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit });
    expect(res.body.errors?.[0].message).toMatch(new RegExp(`^Query too complex: .* the ${limit} limit is \\d+`));
  }

  it('answers an ordinary query', async () => {
    const res = await gql('{ social { postPerformance(limit: 5) { platform impressions } } }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  it('rejects an alias bomb', async () => {
    const fields = Array.from({ length: 200 }, (_, i) => `c${i}: catalog { teams { name } }`).join(' ');
    const res = await gql(`{ ${fields} }`);
    expectTooComplex(res, 'aliases');
    expect(res.body.errors?.[0].message).toMatch(/uses 200 aliases; the aliases limit is 30/);
  });

  it('rejects a fragment bomb by the fields it expands to', async () => {
    const defs = ['fragment F0 on CatalogTeam { name fieldName }'];
    for (let i = 1; i <= 30; i++) defs.push(`fragment F${i} on CatalogTeam { ...F${i - 1} ... on CatalogTeam { ...F${i - 1} } }`);
    const res = await gql(`{ catalog { teams { ...F30 } } } ${defs.join(' ')}`);
    expectTooComplex(res, 'fields');
    // catalog › teams › 2^30 copies of F0's two fields
    expect(res.body.errors?.[0].message).toContain(`selects ${2 ** 31 + 2} fields`);
  });

  it('rejects an operation whose estimated cost is over the limit: many large model queries', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `q${i}: postPerformance(limit: 50000) { metricDate platform impressions engagements engagementRate }`).join(' ');
    const res = await gql(`{ social { ${many} } }`);
    expectTooComplex(res, 'cost');
  });

  it('rejects an introspection depth bomb', async () => {
    const res = await gql('{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].message).toMatch(/Maximum introspection depth exceeded/);
  });

  it('rejects a token flood, first with the limit rule, then in the parser', async () => {
    expectTooComplex(await gql(`{ ${'__typename '.repeat(6_000)} }`), 'tokens');
    const flood = await gql(`{ ${'__typename '.repeat(20_000)} }`);
    expect(flood.status).toBe(400);
    expect(flood.body.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(flood.body.errors?.[0].message).toMatch(/Document contains more th.. 10000 tokens/);
  });

  it('refuses a body over the size limit with 413', async () => {
    const body = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024 + 10) } });
    const res = await svc.http('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    expect(res.status).toBe(413);
    expect(res.body.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.errors?.[0].message).toMatch(/larger than the limit of 1048576 bytes/);
  });

  it('refuses batched operations', async () => {
    const res = await svc.http('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/batching/i);
  });

  it('refuses a simple GET (CSRF) and mutations over GET', async () => {
    const simple = await svc.http(`/graphql?query=${encodeURIComponent('{ __typename }')}&api_key=${encodeURIComponent(key)}`);
    expect(simple.status).toBe(400);
    expect(simple.text).toMatch(/Cross-Site Request Forgery/);
    const mutation = await svc.http(`/graphql?query=${encodeURIComponent('mutation { cancelJob(id: "x") { id } }')}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${key}` },
    });
    expect(mutation.status).toBe(405);
    const preflighted = await svc.http(`/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${key}` },
    });
    expect(preflighted.status).toBe(200);
  });
});

describe('per-key rate limit', () => {
  let svc: SecurityServer;
  beforeAll(async () => {
    svc = await startSecurityServer({ dialect: 'duckdb', env: { SEXTANT_RATE_LIMIT_PER_MINUTE: '5' }, demoRows: 500 });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, for that key only', async () => {
    const a = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
    const b = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
    for (let i = 0; i < 5; i++) expect((await svc.gql('{ __typename }', { key: a })).status).toBe(200);
    const limited = await svc.gql('{ __typename }', { key: a });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(limited.body.errors?.[0].message).toMatch(/5 requests a minute/);
    expect((await svc.gql('{ __typename }', { key: b })).status).toBe(200);
  });

  it('throttles key guessing from one address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await svc.gql('{ __typename }', { key: `sx_00000000000${i % 10}_${'B'.repeat(43)}` })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });
});

describe('production defaults', () => {
  const logged: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (msg, fields) => void logged.push({ msg, ...(fields ? { fields } : {}) }),
    child: () => log,
  };
  let svc: SecurityServer;
  let key: string;
  beforeAll(async () => {
    svc = await startSecurityServer({ dialect: 'duckdb', env: { NODE_ENV: 'production' }, demoRows: 500, log });
    key = (await svc.app.keys.create({ role: 'admin' })).key;
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('refuses introspection and hides field suggestions', async () => {
    const intro = await svc.gql('{ __schema { types { name } } }', { key });
    expect(intro.status).toBe(400);
    expect(intro.body.errors?.[0].message).toMatch(/introspection/i);
    const typo = await svc.gql('{ catalg { teams { name } } }', { key });
    expect(typo.status).toBe(400);
    expect(typo.text).not.toMatch(/Did you mean/);
    expect(typo.text).not.toMatch(/stacktrace/);
  });

  it('serves no query page', async () => {
    const page = await svc.http('/graphql', { headers: { accept: 'text/html', authorization: `Bearer ${key}` } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
  });

  it('masks an unexpected failure to INTERNAL_SERVER_ERROR with an errorId, and logs it in full', async () => {
    await svc.app.warehouse.execute('drop table social.post_daily');
    // By post type: no rollup keeps it, so the question reads the dropped table.
    const res = await svc.gql('{ social { postPerformance(limit: 1) { postType impressions } } }', { key });
    const error = res.body.errors?.[0];
    expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const errorId = error?.extensions?.errorId as string;
    expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.text).not.toMatch(/post_daily|Catalog Error|stacktrace|select/i);
    const entry = logged.find((l) => l.fields?.errorId === errorId);
    expect(entry).toBeDefined();
    expect(String((entry?.fields?.err as Error | undefined)?.message)).toMatch(/post_daily/);
  });

  it('allows introspection in production only when configured', async () => {
    const open = await startSecurityServer({ dialect: 'duckdb', env: { NODE_ENV: 'production', SEXTANT_INTROSPECTION: 'true' }, demoRows: 500 });
    try {
      const admin = (await open.app.keys.create({ role: 'admin' })).key;
      const res = await open.gql('{ __schema { queryType { name } } }', { key: admin });
      expect(res.status).toBe(200);
      expect(res.body.data.__schema.queryType.name).toBe('Query');
    } finally {
      await open.close();
    }
  });
});

describe('statement timeout on PostgreSQL', () => {
  let svc: SecurityServer;
  let locker: pg.Client;
  beforeAll(async () => {
    svc = await startSecurityServer({ dialect: 'postgres', env: { SEXTANT_STATEMENT_TIMEOUT_MS: '1000', SEXTANT_RESULT_CACHE: 'off' }, demoRows: 500 });
    locker = new pg.Client({ connectionString: svc.pgUrl });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await svc?.close();
  });

  it('cancels a slow query in the database itself, answers QUERY_TIMEOUT, and recovers', async () => {
    const key = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
    // Hold a lock the metrics query must wait for: it stays running in PostgreSQL until something cancels it.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE social.post_daily IN ACCESS EXCLUSIVE MODE');
    try {
      const res = await svc.gql('{ social { postPerformance(limit: 5) { platform impressions } } }', { key });
      expect(res.body.errors?.[0].extensions?.code).toBe('QUERY_TIMEOUT');
      expect(res.body.errors?.[0].message).toMatch(/statement timeout of 1000 ms and was cancelled/);
      // Cancelled in the server: no backend of the service is still running or waiting on the table.
      const running = await locker.query(
        `select pid, state, wait_event_type, query from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query ilike '%post_daily%'`,
      );
      expect(running.rows).toEqual([]);
      const waiting = await locker.query(`select count(*)::int as n from pg_locks where not granted`);
      expect(waiting.rows[0].n).toBe(0);
    } finally {
      await locker.query('ROLLBACK');
    }
    const again = await svc.gql('{ social { postPerformance(limit: 5) { platform impressions } } }', { key });
    expect(again.body.errors).toBeUndefined();
    // One row per platform of the demo data.
    expect(again.body.data.social.postPerformance.map((r: { platform: string }) => r.platform).sort()).toEqual(['facebook', 'instagram', 'x']);
  });
});
