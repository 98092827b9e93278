/**
 * SQL injection through every position a client controls (no SQL is ever built from a
 * client's string): every filter operator of the typed `where` and of the generic `metrics` filters,
 * `having`, `orderBy`, dimension and measure names, the model name, grains, limit and offset — on
 * DuckDB and PostgreSQL, through the real HTTP server.
 *
 * What proves the SQL's structure never changed: each answer is either a clean refusal
 * (BAD_USER_INPUT, UNKNOWN_MODEL, a GraphQL validation error) or exactly the rows the literal value
 * selects (none for `equals`, all for `notEquals`); a canary table keeps its rows; no table appears,
 * and the model tables keep their row counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/port.js';
import { startSecurityServer, type HttpAnswer, type SecurityServer } from './security-harness.js';

/** Payloads from the classic families: tautologies, stacked queries, comments, UNION, quoting tricks, casts, time-based, dialect specials. */
const CORPUS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "x' OR 'x'='x",
  "'; DROP TABLE canary.secrets; --",
  "'); DROP TABLE canary.secrets; --",
  "'; CREATE TABLE canary.pwned (x int); --",
  "' UNION SELECT secret FROM canary.secrets --",
  "' UNION ALL SELECT NULL, NULL, NULL --",
  "facebook' --",
  "facebook'/*",
  "\\'; DELETE FROM canary.secrets; --",
  "'' OR ''='",
  '" OR "1"="1',
  'platform" FROM canary.secrets --',
  "'||(SELECT secret FROM canary.secrets LIMIT 1)||'",
  "1; SELECT pg_sleep(0)",
  "'; COPY canary.secrets TO '/tmp/leak.csv'; --",
  "$1",
  "$$; DROP TABLE canary.secrets; $$",
  "%' AND '%'='",
  "_%",
  "\u0000' OR '1'='1",
  "ʼ OR 1=1 --",
  "facebook\n; DROP TABLE canary.secrets",
] as const;

/** Member names that try to break out of identifier quoting. */
const NAME_CORPUS = [
  'platform"; DROP TABLE canary.secrets; --',
  'platform) FROM canary.secrets --',
  'impressions) OR 1=1 --',
  '1=1',
  '*',
  'accounts.region"; --',
  '"platform"',
  'post_daily.platform',
  'count(*)',
  'sum(impressions)',
  'canary.secrets',
  'platform\u0000',
] as const;

const SAFE_CODES = ['BAD_USER_INPUT', 'UNKNOWN_MODEL', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'QUERY_TOO_COMPLEX'];

/** A refusal with a user-facing code: nothing reached the warehouse as SQL text. */
function expectRefused(res: HttpAnswer, context: string): void {
  const code = res.body.errors?.[0]?.extensions?.code;
  expect(SAFE_CODES, `${context}: ${res.text.slice(0, 300)}`).toContain(code);
  expect(res.text).not.toMatch(/syntax error|Parser Error|Catalog Error|Binder Error|SQLSTATE|stack/i);
}

/** Either refused cleanly or exactly `expected` rows. */
function expectRefusedOrRows(res: HttpAnswer, rows: (r: HttpAnswer) => unknown[] | undefined, expected: number, context: string): void {
  if (res.body.errors?.length) return expectRefused(res, context);
  expect(rows(res)?.length, `${context}: ${res.text.slice(0, 300)}`).toBe(expected);
}

for (const dialect of ['duckdb', 'postgres'] as const) {
  describe(`SQL injection corpus on ${dialect}`, () => {
    let svc: SecurityServer;
    let key: string;
    let counts: Record<string, number>;
    const TABLES = ['social.post_daily', 'social.accounts', 'email.campaign_daily', 'web.ga4_daily'];

    async function tableCounts(wh: Warehouse): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const t of [...TABLES, 'canary.secrets']) out[t] = Number((await wh.query(`select count(*) as n from ${wh.dialect.quoteTable(t)}`))[0].n);
      return out;
    }

    beforeAll(async () => {
      svc = await startSecurityServer({ dialect, env: { SEXTANT_RATE_LIMIT_PER_MINUTE: '1000000', SEXTANT_RESULT_CACHE: 'off' } });
      key = (await svc.app.keys.create({ role: 'admin' })).key;
      const wh = svc.app.warehouse;
      await wh.execute('create schema if not exists canary');
      await wh.execute('create table canary.secrets (id integer, secret varchar)');
      await wh.execute("insert into canary.secrets values (1, 'alpha'), (2, 'beta'), (3, 'gamma')");
      counts = await tableCounts(wh);
      expect(counts['canary.secrets']).toBe(3);
      expect(counts['social.post_daily']).toBeGreaterThan(0);
    });

    afterAll(async () => {
      await svc?.close();
    });

    const gql = (query: string, variables?: Record<string, unknown>) => svc.gql(query, { key, ...(variables ? { variables } : {}) });
    const typedRows = (r: HttpAnswer) => r.body.data?.social?.postPerformance as unknown[] | undefined;
    const genericRows = (r: HttpAnswer) => r.body.data?.metrics?.rows as unknown[] | undefined;

    async function baselinePlatforms(): Promise<number> {
      const res = await gql('{ social { postPerformance { platform impressions } } }');
      expect(res.body.errors).toBeUndefined();
      return typedRows(res)!.length;
    }

    it('typed where: every string operator takes the payload as a literal', async () => {
      const all = await baselinePlatforms();
      expect(all).toBeGreaterThan(1);
      const typed = `query($w: SocialPostPerformanceWhere) { social { postPerformance(where: $w) { platform impressions } } }`;
      for (const payload of CORPUS) {
        const cases: Array<[Record<string, unknown>, number]> = [
          [{ equals: payload }, 0],
          [{ in: [payload, `${payload}2`] }, 0],
          [{ contains: payload }, 0],
          [{ startsWith: payload }, 0],
          [{ notEquals: payload }, all],
          [{ notIn: [payload] }, all],
        ];
        for (const [filter, expected] of cases) {
          const res = await gql(typed, { w: { platform: filter } });
          expectRefusedOrRows(res, typedRows, expected, `where platform ${JSON.stringify(filter)}`);
        }
        // The same through OR/AND groups and as an inline literal rather than a variable.
        const inline = await gql(`{ social { postPerformance(where: { OR: [{ platform: { equals: ${JSON.stringify(payload)} } }] }) { platform } } }`);
        expectRefusedOrRows(inline, typedRows, 0, 'OR group literal');
      }
    });

    it('typed where on time, number and boolean dimensions, and having: payloads are refused by their types', async () => {
      for (const payload of CORPUS.slice(0, 8)) {
        expectRefused(await gql('query($v: TimeValue) { social { postPerformance(where: { metricDate: { gte: $v } }) { platform } } }', { v: payload }), 'time gte');
        expectRefused(await gql(`{ social { postPerformance(where: { metricDate: { lt: ${JSON.stringify(payload)} } }) { platform } } }`), 'time lt literal');
        expectRefused(await gql('query($v: Float) { social { postPerformance(having: { impressions: { gt: $v } }) { platform impressions } } }', { v: payload }), 'having gt');
        expectRefused(await gql(`{ social { postPerformance(having: { impressions: { in: [${JSON.stringify(payload)}] } }) { platform } } }`), 'having in');
        expectRefused(await gql(`{ email { campaigns(where: { sendHour: { equals: ${JSON.stringify(payload)} } }) { sends } } }`), 'number dimension');
        expectRefused(await gql(`{ social { accounts(where: { isActive: { equals: ${JSON.stringify(payload)} } }) { accounts } } }`), 'boolean dimension');
      }
    });

    it('typed orderBy, grain, limit and offset accept only their enum and integer values', async () => {
      for (const payload of ['DESC; DROP TABLE canary.secrets', 'impressions DESC --', '1']) {
        expectRefused(await gql(`{ social { postPerformance(orderBy: [{ impressions: ${JSON.stringify(payload)} }]) { platform } } }`), 'orderBy string');
        expectRefused(await gql(`{ social { postPerformance { metricDate(grain: ${JSON.stringify(payload)}) } } }`), 'grain string');
        expectRefused(await gql(`{ social { postPerformance(limit: ${JSON.stringify(payload)}) { platform } } }`), 'limit string');
      }
      expectRefused(await gql('{ social { postPerformance(limit: -1) { platform } } }'), 'negative limit');
      expectRefused(await gql('{ social { postPerformance(offset: -5) { platform } } }'), 'negative offset');
      const overCap = await gql('{ social { postPerformance(limit: 50001) { platform } } }');
      expect(overCap.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(overCap.body.errors?.[0].message).toMatch(/over the maximum of 50000 rows/);
      expect((await gql('{ social { postPerformance(limit: 1000000000) { platform } } }')).body.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    });

    const metrics = 'query($q: SemanticQueryInput!) { metrics(query: $q) { columns { name } rows } }';
    const base = { model: 'social.post_performance', measures: ['impressions'], dimensions: [{ name: 'platform' }] };

    it('generic filters: every operator on a string dimension takes the payload as a literal', async () => {
      const allRes = await gql(metrics, { q: base });
      expect(allRes.body.errors).toBeUndefined();
      const all = genericRows(allRes)!.length;
      for (const payload of CORPUS) {
        const cases: Array<[string, unknown[], number]> = [
          ['EQUALS', [payload], 0],
          ['IN', [payload, 'no-such-platform'], 0],
          ['CONTAINS', [payload], 0],
          ['STARTS_WITH', [payload], 0],
          ['NOT_EQUALS', [payload], all],
          ['NOT_IN', [payload], all],
        ];
        for (const [operator, values, expected] of cases) {
          const res = await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator, values }] } });
          expectRefusedOrRows(res, genericRows, expected, `${operator} ${JSON.stringify(values)}`);
        }
        for (const operator of ['GT', 'GTE', 'LT', 'LTE']) {
          // Ordering comparisons of strings are allowed or refused, but never change the statement.
          const res = await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator, values: [payload] }] } });
          if (res.body.errors?.length) expectRefused(res, operator);
          else expect(genericRows(res)!.length).toBeLessThanOrEqual(all);
        }
        for (const operator of ['IS_NULL', 'IS_NOT_NULL']) {
          const res = await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator, values: [payload] }] } });
          if (res.body.errors?.length) expectRefused(res, operator);
        }
      }
    });

    it('generic filters on time, number and boolean members, and on measures (having), refuse payloads', async () => {
      for (const payload of CORPUS.slice(0, 10)) {
        for (const operator of ['EQUALS', 'GT', 'GTE', 'LT', 'LTE', 'IN', 'NOT_EQUALS']) {
          const time = await gql(metrics, { q: { ...base, filters: [{ member: 'metric_date', operator, values: [payload] }] } });
          expectRefused(time, `time ${operator}`);
          const having = await gql(metrics, { q: { ...base, filters: [{ member: 'impressions', operator, values: [payload] }] } });
          expectRefused(having, `having ${operator}`);
          const num = await gql(metrics, {
            q: { model: 'email.campaigns', measures: ['sends'], filters: [{ member: 'send_hour', operator, values: [payload] }] },
          });
          expectRefused(num, `number ${operator}`);
        }
        const bool = await gql(metrics, { q: { model: 'social.accounts', measures: ['accounts'], filters: [{ member: 'is_active', operator: 'EQUALS', values: [payload] }] } });
        expectRefused(bool, 'boolean');
      }
    });

    it('generic filter values that are not scalars are refused', async () => {
      for (const values of [[{ toString: "' OR 1=1" }], [["' OR 1=1"]], [{ $gt: '' }]]) {
        expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator: 'EQUALS', values }] } }), JSON.stringify(values));
      }
    });

    it('member names in every position are refused: measures, dimensions, filters, having, orderBy, and the model', async () => {
      for (const name of NAME_CORPUS) {
        expectRefused(await gql(metrics, { q: { ...base, measures: [name] } }), `measure ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, dimensions: [{ name }] } }), `dimension ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: name, operator: 'EQUALS', values: ['facebook'] }] } }), `filter ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: name, operator: 'GT', values: [0] }] } }), `having ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, orderBy: [{ member: name, direction: 'DESC' }] } }), `orderBy ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, model: name } }), `model ${name}`);
        expectRefused(await gql(metrics, { q: { ...base, model: `social.${name}` } }), `model social.${name}`);
      }
      expectRefused(await gql(metrics, { q: { ...base, orderBy: [{ member: 'impressions', direction: 'DESC; DROP TABLE canary.secrets' }] } }), 'direction');
      expectRefused(await gql(metrics, { q: { ...base, dimensions: [{ name: 'metric_date', grain: "MONTH') --" }] } }), 'grain');
      expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator: 'EQUALS; DROP', values: ['x'] }] } }), 'operator');
      expectRefused(await gql(metrics, { q: { ...base, limit: -1 } }), 'limit');
      expectRefused(await gql(metrics, { q: { ...base, offset: -1 } }), 'offset');
    });

    it('edge values are refused or answered, never failing the statement: infinities, huge IN lists, long strings, impossible dates, huge offsets', async () => {
      const raw = async (q: Record<string, unknown>, replace: [string, string]) => {
        const body = JSON.stringify({ query: metrics, variables: { q } }).replace(replace[0], replace[1]);
        const res = await fetch(`${svc.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
        const text = await res.text();
        return { status: res.status, headers: res.headers, text, body: JSON.parse(text) } as HttpAnswer;
      };
      // JSON numbers beyond double range parse to ±Infinity.
      expectRefused(await raw({ ...base, filters: [{ member: 'impressions', operator: 'GT', values: [0] }] }, ['"values":[0]', '"values":[1e400]']), 'Infinity');
      expectRefused(await raw({ ...base, filters: [{ member: 'impressions', operator: 'LT', values: [0] }] }, ['"values":[0]', '"values":[-1e400]']), '-Infinity');
      const many = Array.from({ length: 70_000 }, (_, i) => String(i % 10));
      expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator: 'IN', values: many }] } }), 'IN with 70,000 values');
      expectRefused(await gql('query($v: [String!]) { social { postPerformance(where: { platform: { in: $v } }) { platform } } }', { v: many }), 'typed in');
      const long = await gql(metrics, { q: { ...base, filters: [{ member: 'platform', operator: 'CONTAINS', values: ['x'.repeat(900_000)] }] } });
      expect(long.body.errors).toBeUndefined();
      expect(genericRows(long)).toEqual([]);
      for (const date of ['99999-01-01', '2026-02-30', '2026-13-01', '0000-00-00', '2026-01-01T25:00:00Z']) {
        expectRefused(await gql(metrics, { q: { ...base, filters: [{ member: 'metric_date', operator: 'GT', values: [date] }] } }), date);
      }
      const far = await gql(metrics, { q: { ...base, offset: 2_147_483_647 } });
      expect(genericRows(far)).toEqual([]);
    });

    it('leaves the canary and every model table as they were, and creates nothing', async () => {
      const wh = svc.app.warehouse;
      expect(await tableCounts(wh)).toEqual(counts);
      expect((await wh.query('select id, secret from canary.secrets order by id')).map((r) => r.secret)).toEqual(['alpha', 'beta', 'gamma']);
      expect(await wh.describeTable('canary.pwned')).toBeUndefined();
    });
  });
}
