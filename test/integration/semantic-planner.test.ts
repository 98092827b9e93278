/**
 * The proof of the semantic layer: planned SQL runs on real DuckDB and PostgreSQL over generated rows,
 * and every measure type is compared with an independent JavaScript computation over the same rows.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { checkModelColumns } from '../../src/semantic/check-columns.js';
import { checkModelQueries } from '../../src/semantic/check-queries.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { FilterNode, OrderBy, SemanticProject, SemanticQuery, TimeGrain } from '../../src/semantic/types.js';
import type { ColumnTypeName, ParamType, Row, Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';
import {
  DAYS,
  generateFixture,
  groupBy,
  lastFollowers,
  postMeasures,
  regionOf,
  truncate,
  type AccountDayRow,
  type PostRow,
} from './semantic-reference.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = generateFixture();
const POST_MEASURES = Object.keys(postMeasures([]));

type Column = [name: string, type: ColumnTypeName];

async function createAndFill(wh: Warehouse, table: string, columns: Column[], rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const d = wh.dialect;
  await wh.execute(`create table ${d.quoteTable(table)} (${columns.map(([n, t]) => `${d.quoteIdent(n)} ${d.columnType(t)}`).join(', ')})`);
  const paramType: Record<ColumnTypeName, ParamType> = {
    string: 'string', integer: 'number', bigint: 'number', decimal: 'number', double: 'number', boolean: 'boolean', date: 'date', timestamp: 'timestamp', json: 'string',
  };
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    const params: unknown[] = [];
    const tuples = chunk.map((r) => `(${columns.map(([n, t]) => {
      params.push(r[n]);
      return d.param(params.length, paramType[t]);
    }).join(', ')})`);
    await wh.execute(`insert into ${d.quoteTable(table)} (${columns.map(([n]) => d.quoteIdent(n)).join(', ')}) values ${tuples.join(', ')}`, params);
  }
}

function query(partial: Partial<SemanticQuery> & { model: string }): SemanticQuery {
  return { measures: [], dimensions: [], filters: [], orderBy: [], limit: 10_000, offset: 0, ...partial };
}

/** Compares measure values: equal within floating-point noise, nulls exactly. */
function expectClose(actual: unknown, expected: number | null, where: string): void {
  if (expected === null) {
    expect(actual, where).toBeNull();
    return;
  }
  expect(typeof actual, where).toBe('number');
  expect(Math.abs((actual as number) - expected), where).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

/** Asserts that result rows equal the expected groups (keyed by the dimension keys), whatever their order. */
function expectGroups(rows: Row[], dimKeys: string[], expected: Map<string, Record<string, number | null>>, measures: string[]): void {
  const got = new Map(rows.map((r) => [dimKeys.map((k) => String(r[k])).join('|'), r]));
  expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, values] of expected) {
    for (const m of measures) expectClose(got.get(key)?.[m], values[m], `${key} ${m}`);
  }
}

describe.each(DIALECTS)('semantic planner on %s', (dialect) => {
  let wh: Warehouse;
  let project: SemanticProject;

  const run = async (q: SemanticQuery): Promise<Row[]> => {
    const plan = planQuery(project, q, wh.dialect);
    return wh.query(plan.sql, plan.params);
  };

  beforeAll(async () => {
    wh = await freshWarehouse(dialect);
    await wh.execute('create schema social');
    await wh.execute('create schema web');
    await createAndFill(wh, 'social.post_daily', [
      ['platform', 'string'], ['account_id', 'string'], ['post_id', 'string'], ['post_type', 'string'], ['metric_date', 'date'],
      ['posted_at', 'timestamp'], ['impressions', 'integer'], ['likes', 'integer'], ['comments', 'integer'], ['shares', 'integer'],
      ['spend', 'double'], ['is_paid', 'boolean'], ['duration_s', 'integer'],
    ], fixture.posts as unknown as Array<Record<string, unknown>>);
    await createAndFill(wh, 'social.accounts', [['account_id', 'string'], ['region', 'string'], ['name', 'string'], ['verified', 'boolean']],
      fixture.accounts as unknown as Array<Record<string, unknown>>);
    await createAndFill(wh, 'social.account_daily', [['account_id', 'string'], ['platform', 'string'], ['metric_date', 'date'], ['follower_count', 'integer']],
      fixture.accountDays as unknown as Array<Record<string, unknown>>);
    await createAndFill(wh, 'web.sessions', [['day', 'date'], ['channel', 'string'], ['sessions', 'integer']],
      DAYS.flatMap((day, i) => ['organic', 'paid'].map((channel, j) => ({ day, channel, sessions: (i * 7 + j * 3) % 11 }))));
    const loaded = await loadSemanticProject(path.join(here, '../fixtures/semantic/good'));
    expect(loaded.problems).toEqual([]);
    project = loaded.project as SemanticProject;
  });

  afterAll(async () => {
    await wh?.close();
  });

  it('has the tables and columns the fixture models name', async () => {
    const describe = async (t: string) => (await wh.describeTable(t))?.map((c) => c.name);
    expect(await checkModelColumns(project, describe)).toEqual([]);
    // A model that names a missing column and one over a missing table are both reported.
    const pp = project.models.get('social.post_performance');
    if (!pp) throw new Error('fixture model missing');
    const broken: SemanticProject = {
      teams: project.teams,
      models: new Map([
        ['social.post_performance', { ...pp, dimensions: [...pp.dimensions, { name: 'colour', type: 'string', sql: 'colour' }] }],
        ['social.gone', { ...pp, id: 'social.gone', name: 'gone', file: 'models/social/gone.yml', table: 'social.gone', joins: [] }],
      ]),
    };
    const problems = await checkModelColumns(broken, describe);
    expect(problems.map((p) => `${p.file} → ${p.path}`)).toEqual(['models/social/post_performance.yml → dimensions.colour.sql', 'models/social/gone.yml → table']);
  });

  it('has every member of every model accepted by the warehouse, and names the members it rejects', async () => {
    const run = (sql: string, params: readonly unknown[]): Promise<unknown> => wh.query(sql, params);
    expect(await checkModelQueries(project, wh.dialect, run)).toEqual([]);
    const pp = project.models.get('social.post_performance');
    if (!pp) throw new Error('fixture model missing');
    const broken: SemanticProject = {
      teams: project.teams,
      models: new Map([
        ...project.models,
        ['social.post_performance', {
          ...pp,
          dimensions: [...pp.dimensions, { name: 'typo', type: 'number', sql: 'likes + coments' }],
          measures: [...pp.measures, { name: 'first_day', type: 'min', sql: 'metric_date' }],
        }],
      ]),
    };
    const problems = await checkModelQueries(broken, wh.dialect, run);
    // PostgreSQL type-checks while planning, so min(date) as a float fails without rows; DuckDB only
    // fails such a cast when a row reaches it, which a `limit 0` check never gives it.
    expect(problems.map((p) => `${p.file} → ${p.path}`)).toEqual([
      'models/social/post_performance.yml → dimensions.typo',
      ...(dialect === 'postgres' ? ['models/social/post_performance.yml → measures.first_day'] : []),
    ]);
    expect(problems[0].message).toMatch(/^the warehouse rejects it: .*coments/i);
  });

  it('computes every post measure over the whole table', async () => {
    const rows = await run(query({ model: 'social.post_performance', measures: POST_MEASURES }));
    expect(rows).toHaveLength(1);
    const expected = postMeasures(fixture.posts);
    for (const m of POST_MEASURES) expectClose(rows[0][m], expected[m], m);
  });

  it.each(['day', 'week', 'month', 'quarter', 'year'] as const)('groups metric_date by %s', async (grain) => {
    const rows = await run(query({ model: 'social.post_performance', measures: POST_MEASURES, dimensions: [{ name: 'metric_date', grain }] }));
    const expected = new Map([...groupBy(fixture.posts, (r) => truncate(grain, r.metric_date))].map(([k, rs]) => [k, postMeasures(rs)]));
    expectGroups(rows, [`metric_date__${grain}`], expected, POST_MEASURES);
    // Default order: the time dimension ascending.
    const keys = rows.map((r) => String(r[`metric_date__${grain}`]));
    expect(keys).toEqual([...keys].sort());
  });

  it('puts the ISO week that straddles the year boundary in one group starting on Monday', async () => {
    const rows = await run(query({ model: 'social.post_performance', measures: ['rows'], dimensions: [{ name: 'metric_date', grain: 'week' }] }));
    const week = rows.find((r) => r.metric_date__week === '2025-12-29');
    const inWeek = fixture.posts.filter((r) => r.metric_date >= '2025-12-29' && r.metric_date <= '2026-01-04');
    expect(inWeek.some((r) => r.metric_date < '2026-01-01') && inWeek.some((r) => r.metric_date >= '2026-01-01')).toBe(true);
    expect(week?.rows).toBe(inWeek.length);
  });

  it('groups a timestamp dimension by hour, returning ISO timestamps', async () => {
    const rows = await run(query({ model: 'social.post_performance', measures: ['rows', 'impressions'], dimensions: [{ name: 'posted_at', grain: 'hour' }] }));
    const expected = new Map([...groupBy(fixture.posts, (r) => truncate('hour', r.posted_at))].map(([k, rs]) => [k, postMeasures(rs)]));
    expectGroups(rows, ['posted_at__hour'], expected, ['rows', 'impressions']);
  });

  it('defaults a time dimension selected without a grain to day', async () => {
    const rows = await run(query({ model: 'social.post_performance', measures: ['rows'], dimensions: [{ name: 'metric_date' }] }));
    expect(rows.map((r) => r.metric_date__day)).toEqual([...new Set(fixture.posts.map((r) => r.metric_date))].sort());
  });

  it('computes every measure by month × platform, ratios as sum/sum and never an average of daily ratios', async () => {
    const rows = await run(query({
      model: 'social.post_performance', measures: POST_MEASURES, dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }],
    }));
    const expected = new Map([...groupBy(fixture.posts, (r) => `${truncate('month', r.metric_date)}|${r.platform}`)].map(([k, rs]) => [k, postMeasures(rs)]));
    expectGroups(rows, ['metric_date__month', 'platform'], expected, POST_MEASURES);

    // The average of daily ratios differs from the ratio of sums somewhere; the planner must give the latter.
    let differs = false;
    for (const [key, rs] of groupBy(fixture.posts, (r) => `${truncate('month', r.metric_date)}|${r.platform}`)) {
      const daily = [...groupBy(rs, (r) => r.metric_date).values()].map((d) => postMeasures(d).engagement_rate).filter((x): x is number => x !== null);
      const mean = daily.reduce((a, b) => a + b, 0) / daily.length;
      const ratio = expected.get(key)?.engagement_rate;
      if (ratio !== null && ratio !== undefined && Math.abs(mean - ratio) > 1e-6) differs = true;
    }
    expect(differs).toBe(true);
    // A group whose impressions are all 0 has a null rate, not a division error.
    expect(rows.find((r) => r.platform === 'threads')?.engagement_rate).toBeNull();
  });

  it('groups by string, boolean and number dimensions, nulls included', async () => {
    const rows = await run(query({
      model: 'social.post_performance', measures: ['rows', 'spend', 'engagement_rate'], dimensions: [{ name: 'post_type' }, { name: 'is_paid' }, { name: 'duration' }],
    }));
    const expected = new Map([...groupBy(fixture.posts, (r) => `${r.post_type}|${r.is_paid}|${r.duration_s}`)].map(([k, rs]) => [k, postMeasures(rs)]));
    expectGroups(rows, ['post_type', 'is_paid', 'duration'], expected, ['rows', 'spend', 'engagement_rate']);
  });

  describe('last (semi-additive)', () => {
    const ad = fixture.accountDays;
    const lastExpected = (rows: AccountDayRow[], period: (r: AccountDayRow) => string, group: (r: AccountDayRow) => string): Map<string, Record<string, number | null>> =>
      new Map([...lastFollowers(rows, period, group)].map(([k, v]) => [k, { followers: v }]));

    it.each(['month', 'quarter', 'week', 'day'] as const)('takes the latest day of each %s, summed across accounts', async (grain: TimeGrain) => {
      const rows = await run(query({ model: 'social.account_daily', measures: ['followers'], dimensions: [{ name: 'metric_date', grain }] }));
      const period = (r: AccountDayRow): string => truncate(grain, r.metric_date);
      expectGroups(rows, [`metric_date__${grain}`], lastExpected(ad, period, period), ['followers']);
    });

    it('by month × platform, the period latest day is shared by every platform', async () => {
      const rows = await run(query({ model: 'social.account_daily', measures: ['followers', 'follower_rows'], dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }] }));
      const period = (r: AccountDayRow): string => truncate('month', r.metric_date);
      expectGroups(rows, ['metric_date__month', 'platform'], lastExpected(ad, period, (r) => `${period(r)}|${r.platform}`), ['followers']);
      // Because the latest day belongs to the period, the platforms add up to the month's own balance.
      const byMonth = await run(query({ model: 'social.account_daily', measures: ['followers'], dimensions: [{ name: 'metric_date', grain: 'month' }] }));
      for (const m of byMonth) {
        const parts = rows.filter((r) => r.metric_date__month === m.metric_date__month).reduce((a, r) => a + ((r.followers as number | null) ?? 0), 0);
        expect(parts).toBe(m.followers);
      }
      // And it is not a sum over the month's days.
      const sumAll = ad.reduce((a, r) => a + (r.follower_count ?? 0), 0);
      expect(byMonth.reduce((a, r) => a + (r.followers as number), 0)).toBeLessThan(sumAll / 3);
    });

    it('composes with ratios and derived measures, which divide the period balance', async () => {
      const rows = await run(query({
        model: 'social.account_daily', measures: ['followers_per_account', 'followers_vs_peak'], dimensions: [{ name: 'metric_date', grain: 'quarter' }],
      }));
      const period = (r: AccountDayRow): string => truncate('quarter', r.metric_date);
      const last = lastFollowers(ad, period, period);
      const expected = new Map([...groupBy(ad, period)].map(([k, rs]) => {
        const f = last.get(k) ?? null;
        const accounts = new Set(rs.map((r) => r.account_id)).size;
        const peaks = rs.map((r) => r.follower_count).filter((x): x is number => x !== null);
        const peak = peaks.length === 0 ? null : Math.max(...peaks);
        return [k, {
          followers_per_account: f === null || accounts === 0 ? null : f / accounts,
          followers_vs_peak: f === null || peak === null || peak === 0 ? null : f / peak,
        }];
      }));
      expectGroups(rows, ['metric_date__quarter'], expected, ['followers_per_account', 'followers_vs_peak']);
    });

    it('without the time dimension selected, the filtered range is one period', async () => {
      const filters: FilterNode[] = [{ member: 'metric_date', operator: 'LT', values: ['2026-01-01'] }];
      const rows = await run(query({ model: 'social.account_daily', measures: ['followers'], dimensions: [{ name: 'platform' }], filters }));
      const kept = ad.filter((r) => r.metric_date < '2026-01-01');
      expectGroups(rows, ['platform'], lastExpected(kept, () => 'all', (r) => r.platform), ['followers']);
    });

    it('by account across the month and quarter grains at once', async () => {
      const rows = await run(query({
        model: 'social.account_daily', measures: ['followers', 'max_followers'],
        dimensions: [{ name: 'metric_date', grain: 'quarter' }, { name: 'metric_date', grain: 'month' }, { name: 'account_id' }],
      }));
      const period = (r: AccountDayRow): string => `${truncate('quarter', r.metric_date)}|${truncate('month', r.metric_date)}`;
      expectGroups(rows, ['metric_date__quarter', 'metric_date__month', 'account_id'], lastExpected(ad, period, (r) => `${period(r)}|${r.account_id}`), ['followers']);
    });
  });

  describe('filters', () => {
    const cases: Array<[string, FilterNode[], (r: PostRow) => boolean]> = [
      ['IN', [{ member: 'platform', operator: 'IN', values: ['facebook', 'x'] }], (r) => r.platform === 'facebook' || r.platform === 'x'],
      ['NOT_IN keeps nulls', [{ member: 'post_type', operator: 'NOT_IN', values: ['photo'] }], (r) => r.post_type !== 'photo'],
      ['NOT_EQUALS keeps nulls', [{ member: 'account_id', operator: 'NOT_EQUALS', values: ['a1'] }], (r) => r.account_id !== 'a1'],
      ['EQUALS on a value with quotes and ;', [{ member: 'post_type', operator: 'EQUALS', values: ["it's; -- odd"] }], (r) => r.post_type === "it's; -- odd"],
      ['CONTAINS', [{ member: 'post_type', operator: 'CONTAINS', values: ['i'] }], (r) => r.post_type !== null && r.post_type.includes('i')],
      ['STARTS_WITH', [{ member: 'platform', operator: 'STARTS_WITH', values: ['inst'] }], (r) => r.platform.startsWith('inst')],
      ['IS_NULL', [{ member: 'post_type', operator: 'IS_NULL' }], (r) => r.post_type === null],
      ['IS_NOT_NULL', [{ member: 'duration', operator: 'IS_NOT_NULL' }], (r) => r.duration_s !== null],
      ['boolean EQUALS', [{ member: 'is_paid', operator: 'EQUALS', values: [true] }], (r) => r.is_paid === true],
      ['number GT and LTE', [{ member: 'duration', operator: 'GT', values: [20] }, { member: 'duration', operator: 'LTE', values: ['90'] }], (r) => r.duration_s !== null && r.duration_s > 20 && r.duration_s <= 90],
      ['time range', [{ member: 'metric_date', operator: 'GTE', values: ['2025-12-29'] }, { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] }], (r) => r.metric_date >= '2025-12-29' && r.metric_date < '2026-04-01'],
      ['timestamp with offset', [{ member: 'posted_at', operator: 'GTE', values: ['2026-01-01T02:00:00+02:00'] }], (r) => r.posted_at >= '2026-01-01 00:00:00'],
      ['OR group with nested AND', [{ or: [{ member: 'platform', operator: 'EQUALS', values: ['x'] }, { and: [{ member: 'platform', operator: 'EQUALS', values: ['facebook'] }, { member: 'is_paid', operator: 'EQUALS', values: ['true'] }] }] }],
        (r) => r.platform === 'x' || (r.platform === 'facebook' && r.is_paid === true)],
      ['joined dimension', [{ member: 'accounts.region', operator: 'EQUALS', values: ['amer'] }], (r) => r.account_id !== null && regionOf(fixture.accounts).get(r.account_id) === 'amer'],
    ];
    it.each(cases)('%s', async (_name, filters, keep) => {
      const rows = await run(query({ model: 'social.post_performance', measures: POST_MEASURES, dimensions: [{ name: 'platform' }], filters }));
      const kept = fixture.posts.filter(keep);
      expect(kept.length).toBeGreaterThan(0);
      const expected = new Map([...groupBy(kept, (r) => r.platform)].map(([k, rs]) => [k, postMeasures(rs)]));
      expectGroups(rows, ['platform'], expected, POST_MEASURES);
    });

    it('applies measure filters after aggregation (having), also on measures not selected', async () => {
      const filters: FilterNode[] = [
        { member: 'impressions', operator: 'GT', values: [20_000] },
        { member: 'engagement_rate', operator: 'LT', values: [0.1] },
        { member: 'platform', operator: 'NOT_EQUALS', values: ['threads'] },
      ];
      const rows = await run(query({ model: 'social.post_performance', measures: ['spend'], dimensions: [{ name: 'metric_date', grain: 'week' }, { name: 'platform' }], filters }));
      const groups = groupBy(fixture.posts.filter((r) => r.platform !== 'threads'), (r) => `${truncate('week', r.metric_date)}|${r.platform}`);
      const expected = new Map([...groups].map(([k, rs]) => [k, postMeasures(rs)]).filter(([, m]) => {
        const v = m as Record<string, number | null>;
        return v.impressions !== null && v.impressions > 20_000 && v.engagement_rate !== null && v.engagement_rate < 0.1;
      }) as Array<[string, Record<string, number | null>]>);
      expect(expected.size).toBeGreaterThan(0);
      expect(expected.size).toBeLessThan(groups.size);
      expectGroups(rows, ['metric_date__week', 'platform'], expected, ['spend']);
    });
  });

  describe('order, limit and offset', () => {
    const dims = [{ name: 'metric_date', grain: 'month' as const }, { name: 'platform' }];
    const all = (): Array<{ key: string; impressions: number | null }> =>
      [...groupBy(fixture.posts, (r) => `${truncate('month', r.metric_date)}|${r.platform}`)].map(([key, rs]) => ({ key, impressions: postMeasures(rs).impressions }));

    it('orders by a measure descending with nulls last, ties broken by the dimensions, and pages with offset', async () => {
      const orderBy: OrderBy[] = [{ member: 'impressions', direction: 'DESC' }];
      const expected = all().sort((a, b) => {
        if (a.impressions === null || b.impressions === null) return a.impressions === b.impressions ? a.key.localeCompare(b.key) : a.impressions === null ? 1 : -1;
        return b.impressions - a.impressions || (a.key < b.key ? -1 : 1);
      }).map((e) => e.key);
      const full = await run(query({ model: 'social.post_performance', measures: ['impressions'], dimensions: dims, orderBy }));
      expect(full.map((r) => `${r.metric_date__month}|${r.platform}`)).toEqual(expected);
      const pages: string[] = [];
      for (let offset = 0; offset < expected.length; offset += 4) {
        const page = await run(query({ model: 'social.post_performance', measures: ['impressions'], dimensions: dims, orderBy, limit: 4, offset }));
        expect(page.length).toBe(Math.min(4, expected.length - offset));
        pages.push(...page.map((r) => `${r.metric_date__month}|${r.platform}`));
      }
      expect(pages).toEqual(expected);
    });

    it('orders by a measure that is not selected and by a dimension at its grain', async () => {
      const rows = await run(query({
        model: 'social.post_performance', measures: ['rows'], dimensions: dims,
        orderBy: [{ member: 'metric_date', grain: 'month', direction: 'DESC' }, { member: 'spend', direction: 'ASC' }],
      }));
      const groups = [...groupBy(fixture.posts, (r) => `${truncate('month', r.metric_date)}|${r.platform}`)].map(([key, rs]) => ({ key, month: key.split('|')[0], spend: postMeasures(rs).spend }));
      groups.sort((a, b) => (a.month !== b.month ? (a.month < b.month ? 1 : -1) : a.spend === null || b.spend === null ? (a.spend === null ? 1 : -1) : a.spend - b.spend));
      expect(rows.map((r) => `${r.metric_date__month}|${r.platform}`)).toEqual(groups.map((g) => g.key));
    });

    it('defaults to the first measure descending when no time dimension is selected', async () => {
      const rows = await run(query({ model: 'social.post_performance', measures: ['rows'], dimensions: [{ name: 'platform' }], limit: 2 }));
      const counts = [...groupBy(fixture.posts, (r) => r.platform)].map(([k, rs]) => ({ k, n: rs.length })).sort((a, b) => b.n - a.n || (a.k < b.k ? -1 : 1));
      expect(rows.map((r) => [r.platform, r.rows])).toEqual(counts.slice(0, 2).map((c) => [c.k, c.n]));
    });
  });

  describe('joins', () => {
    it('selecting a joined dimension never changes the sums, even with a duplicated key in the joined table', async () => {
      const rows = await run(query({ model: 'social.post_performance', measures: POST_MEASURES, dimensions: [{ name: 'accounts.region' }] }));
      const regions = regionOf(fixture.accounts);
      const expected = new Map([...groupBy(fixture.posts, (r) => String((r.account_id !== null && regions.get(r.account_id)) || null))].map(([k, rs]) => [k, postMeasures(rs)]));
      expectGroups(rows, ['accounts__region'], expected, POST_MEASURES);
      const total = rows.reduce((a, r) => a + (r.rows as number), 0);
      expect(total).toBe(fixture.posts.length);
    });

    it('joins booleans and strings of the joined model together with the model dimensions', async () => {
      const rows = await run(query({
        model: 'social.post_performance', measures: ['impressions', 'posts'],
        dimensions: [{ name: 'metric_date', grain: 'year' }, { name: 'accounts.verified' }, { name: 'accounts.account_name' }],
      }));
      const names = new Map<string, { name: string; verified: boolean }>();
      for (const a of fixture.accounts) {
        const cur = names.get(a.account_id);
        names.set(a.account_id, { name: cur === undefined || a.name < cur.name ? a.name : cur.name, verified: (cur?.verified ?? false) || a.verified });
      }
      const key = (r: PostRow): string => {
        const a = r.account_id === null ? undefined : names.get(r.account_id);
        return `${truncate('year', r.metric_date)}|${a ? a.verified : null}|${a ? a.name : null}`;
      };
      const expected = new Map([...groupBy(fixture.posts, key)].map(([k, rs]) => [k, postMeasures(rs)]));
      expectGroups(rows, ['metric_date__year', 'accounts__verified', 'accounts__account_name'], expected, ['impressions', 'posts']);
    });
  });

  it('queries a model defined by sql (with a comment inside)', async () => {
    const rows = await run(query({ model: 'web.sessions', measures: ['sessions'], dimensions: [{ name: 'day', grain: 'month' }] }));
    const data = DAYS.flatMap((day, i) => [0, 1].map((j) => ({ day, sessions: (i * 7 + j * 3) % 11 })));
    const expected = new Map([...groupBy(data, (r) => truncate('month', r.day))].map(([k, rs]) => [k, { sessions: rs.reduce((a, r) => a + r.sessions, 0) }]));
    expectGroups(rows, ['day__month'], expected, ['sessions']);
  });

  it('returns measures as JS numbers and dates as ISO strings', async () => {
    const rows = await run(query({ model: 'social.post_performance', measures: ['rows', 'posts'], dimensions: [{ name: 'metric_date', grain: 'quarter' }] }));
    for (const r of rows) {
      expect(typeof r.rows).toBe('number');
      expect(typeof r.posts).toBe('number');
      expect(r.metric_date__quarter).toMatch(/^\d{4}-(01|04|07|10)-01$/);
    }
  });
});
