/**
 * Rollups on real DuckDB and PostgreSQL: a rollup answers only the questions it can answer exactly, and
 * then with the numbers of an independent JavaScript computation over the same rows (no SQL, no code
 * shared with the planner); a load refreshes it in the load's own transaction, for the buckets it touched;
 * a load of a joined table and a report's write-back recompute it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { FilterNode, SemanticProject, SemanticQuery, TimeGrain } from '../../src/semantic/types.js';
import { Rollups } from '../../src/rollups/rollups.js';
import { withRollups } from '../../src/rollups/rollup-warehouse.js';
import type { Row, SqlValue, TableSpec, Warehouse } from '../../src/warehouse/port.js';
import { WAREHOUSE_DIALECTS, freshWarehouse } from '../support/warehouses.js';
import { truncate } from './semantic-reference.js';
import { Rng } from '../../src/demo/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, '../fixtures/rollups');

const POSTS: TableSpec = {
  table: 'social.posts',
  columns: [
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'platform', type: 'string' },
    { name: 'post_type', type: 'string' },
    { name: 'account_id', type: 'string' },
    { name: 'impressions', type: 'bigint' },
    { name: 'likes', type: 'integer' },
    { name: 'followers', type: 'bigint' },
  ],
  key: ['post_id', 'metric_date'],
};
const ACCOUNTS: TableSpec = {
  table: 'social.accounts',
  columns: [
    { name: 'account_id', type: 'string', required: true },
    { name: 'region', type: 'string' },
  ],
  key: ['account_id'],
};
const WEEKLY: TableSpec = {
  table: 'reports.weekly',
  columns: [
    { name: 'week', type: 'date' },
    { name: 'platform', type: 'string' },
    { name: 'impressions', type: 'bigint' },
  ],
  key: [],
};

interface Post {
  post_id: string;
  metric_date: string;
  platform: string | null;
  post_type: string | null;
  account_id: string | null;
  impressions: number | null;
  likes: number | null;
  followers: number | null;
}

/** Seeded, so that a run (and a failure) is reproducible: the demo's generator (mulberry32). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function day(offset: number): string {
  return new Date(Date.UTC(2026, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
}

function generatePosts(): Post[] {
  const r = rng(7);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: Post[] = [];
  for (let d = 0; d < 120; d++) {
    for (let k = 0; k < 4; k++) {
      out.push({
        post_id: `p${(d * 7 + k) % 50}`,
        metric_date: day(d),
        platform: r() < 0.04 ? null : pick(['facebook', 'instagram', 'x']),
        post_type: pick(['photo', 'video', 'link', null]),
        account_id: pick(['a1', 'a2', 'a3', 'a4', 'a9']), // a9 is in no account row: its region is null
        impressions: r() < 0.05 ? null : Math.floor(r() * 100_000),
        likes: r() < 0.1 ? null : Math.floor(r() * 5_000),
        followers: r() < 0.05 ? null : 10_000 + Math.floor(r() * 90_000),
      });
    }
  }
  return out;
}

const ACCOUNT_ROWS: Array<[string, string | null]> = [
  ['a1', 'emea'],
  ['a2', 'amer'],
  ['a3', 'emea'],
  ['a4', null],
];

const postValues = (p: Post): SqlValue[] => POSTS.columns.map((c) => p[c.name as keyof Post]);

// ---- the independent computation ----

interface RefQuestion {
  measures: string[];
  dims: Array<{ name: string; grain?: TimeGrain }>;
  where?: (p: Post) => boolean;
  having?: (m: Record<string, number | null>) => boolean;
}

const sumOf = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0);
};

function dimValue(p: Post, d: { name: string; grain?: TimeGrain }, regions: ReadonlyMap<string, string | null>): string | null {
  if (d.name === 'metric_date') return truncate(d.grain ?? 'day', p.metric_date);
  if (d.name === 'accounts.region') return p.account_id === null ? null : (regions.get(p.account_id) ?? null);
  return p[d.name as keyof Post] as string | null;
}

function reference(posts: readonly Post[], regions: ReadonlyMap<string, string | null>, q: RefQuestion): Map<string, Record<string, number | null>> {
  const rows = posts.filter((p) => q.where?.(p) ?? true);
  const groups = new Map<string, Post[]>();
  for (const p of rows) {
    const key = JSON.stringify(q.dims.map((d) => dimValue(p, d, regions)));
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  // `last`: the period is metric_date at every grain selected (or every filtered row).
  const timeDims = q.dims.filter((d) => d.name === 'metric_date');
  const period = (p: Post): string => JSON.stringify(timeDims.map((d) => truncate(d.grain ?? 'day', p.metric_date)));
  const latest = new Map<string, string>();
  for (const p of rows) {
    const k = period(p);
    if (!latest.has(k) || (latest.get(k) as string) < p.metric_date) latest.set(k, p.metric_date);
  }
  const out = new Map<string, Record<string, number | null>>();
  for (const [key, g] of groups) {
    const impressions = sumOf(g.map((p) => p.impressions));
    const likes = sumOf(g.map((p) => p.likes));
    const likeValues = g.map((p) => p.likes).filter((x): x is number => x !== null);
    const all: Record<string, number | null> = {
      row_count: g.length,
      impressions,
      likes,
      engagement_rate: likes === null || impressions === null || impressions === 0 ? null : likes / impressions,
      avg_likes: likeValues.length === 0 ? null : likeValues.reduce((a, b) => a + b, 0) / likeValues.length,
      min_likes: likeValues.length === 0 ? null : Math.min(...likeValues),
      max_likes: likeValues.length === 0 ? null : Math.max(...likeValues),
      posts: new Set(g.map((p) => p.post_id)).size,
      followers: sumOf(g.filter((p) => p.metric_date === latest.get(period(p))).map((p) => p.followers)),
      net: impressions === null ? null : impressions - (likes ?? 0),
    };
    if (q.having && !q.having(all)) continue;
    out.set(key, Object.fromEntries(q.measures.map((m) => [m, all[m]])));
  }
  return out;
}

// ---- asking ----

function semanticQuery(q: RefQuestion, filters: FilterNode[] = []): SemanticQuery {
  return { model: 'social.posts', measures: q.measures, dimensions: q.dims, filters, orderBy: [], limit: 100_000, offset: 0 };
}

function keyOf(d: { name: string; grain?: TimeGrain }): string {
  const base = d.name.replace('.', '__');
  return d.name === 'metric_date' ? `${base}__${d.grain ?? 'day'}` : base;
}

function byGroup(rows: Row[], q: RefQuestion): Map<string, Record<string, number | null>> {
  const out = new Map<string, Record<string, number | null>>();
  for (const r of rows) {
    const key = JSON.stringify(q.dims.map((d) => r[keyOf(d)] as string | null));
    out.set(key, Object.fromEntries(q.measures.map((m) => [m, r[m] === null ? null : Number(r[m])])));
  }
  return out;
}

interface Case {
  name: string;
  q: RefQuestion;
  filters?: FilterNode[];
  /** The rollup that must answer, or null with the reason the answer must give. */
  rollup: string | null;
  reason?: RegExp;
}

const ADDITIVE = ['row_count', 'impressions', 'likes', 'engagement_rate', 'avg_likes', 'min_likes', 'max_likes', 'followers', 'net'];

const CASES: Case[] = [
  { name: 'every re-aggregatable measure by month and platform', q: { measures: ADDITIVE, dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }] }, rollup: 'social.posts.daily' },
  { name: 'count_distinct at the monthly rollup\'s exact groups', q: { measures: ['row_count', 'impressions', 'engagement_rate', 'posts'], dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }] }, rollup: 'social.posts.monthly' },
  { name: 'count_distinct at the daily rollup\'s exact groups', q: { measures: ['posts', 'followers'], dims: [{ name: 'metric_date', grain: 'day' }, { name: 'platform' }, { name: 'accounts.region' }] }, rollup: 'social.posts.daily' },
  { name: 'count_distinct over coarser groups', q: { measures: ['posts'], dims: [{ name: 'metric_date', grain: 'month' }] }, rollup: null, reason: /"posts" counts distinct values, stored per .*metric_date by (day|month) in rollup (daily|monthly); the question groups otherwise/ },
  { name: 'a week from days; not from months', q: { measures: ['impressions', 'followers', 'avg_likes'], dims: [{ name: 'metric_date', grain: 'week' }] }, rollup: 'social.posts.daily' },
  { name: 'quarters from months (the smaller rollup)', q: { measures: ['impressions', 'engagement_rate'], dims: [{ name: 'metric_date', grain: 'quarter' }, { name: 'platform' }] }, rollup: 'social.posts.monthly' },
  { name: 'last over the whole range', q: { measures: ['followers', 'row_count'], dims: [] }, rollup: 'social.posts.daily' },
  { name: 'a joined dimension the rollup keeps', q: { measures: ['impressions', 'min_likes'], dims: [{ name: 'accounts.region' }], where: (p) => p.platform === 'x' || p.platform === 'facebook' }, filters: [{ member: 'platform', operator: 'IN', values: ['x', 'facebook'] }], rollup: 'social.posts.daily' },
  { name: 'a dimension no rollup keeps', q: { measures: ['impressions'], dims: [{ name: 'post_type' }] }, rollup: null, reason: /dimension "post_type" is not in rollup/ },
  { name: 'a filter on a dimension no rollup keeps', q: { measures: ['impressions'], dims: [{ name: 'platform' }], where: (p) => p.post_type === 'video' }, filters: [{ member: 'post_type', operator: 'EQUALS', values: ['video'] }], rollup: null, reason: /the filter on "post_type" is not on a dimension of rollup/ },
  { name: 'a finer grain than any rollup', q: { measures: ['impressions'], dims: [{ name: 'metric_date', grain: 'hour' }] }, rollup: null, reason: /keeps metric_date by (day|month); the question asks for it by hour/ },
  {
    name: 'a date range on month boundaries',
    q: { measures: ['impressions', 'posts'], dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }], where: (p) => p.metric_date >= '2026-02-01' && p.metric_date < '2026-04-01' },
    filters: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['2026-02-01', '2026-03-31'] }], // the last day included: [Feb 1, Apr 1)
    rollup: 'social.posts.monthly',
  },
  {
    name: 'a date range inside months, on day boundaries',
    q: { measures: ['impressions', 'followers'], dims: [{ name: 'metric_date', grain: 'month' }], where: (p) => p.metric_date >= '2026-01-15' && p.metric_date <= '2026-03-10' },
    filters: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['2026-01-15', '2026-03-10'] }],
    rollup: 'social.posts.daily',
  },
  {
    name: 'a date range that ends inside a month, for a count_distinct kept by month',
    q: { measures: ['posts'], dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }], where: (p) => p.metric_date >= '2026-02-01' && p.metric_date <= '2026-03-15' },
    filters: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['2026-02-01', '2026-03-15'] }],
    rollup: null,
    reason: /not on a month boundary|counts distinct/,
  },
  {
    name: 'a time filter inside a day',
    q: { measures: ['impressions'], dims: [{ name: 'metric_date', grain: 'month' }], where: (p) => p.metric_date >= '2026-01-16' },
    filters: [{ member: 'metric_date', operator: 'GTE', values: ['2026-01-15T12:00:00Z'] }],
    rollup: null,
    reason: /not on a (day|month) boundary/,
  },
  {
    name: 'a GT filter on the time dimension',
    q: { measures: ['impressions'], dims: [], where: (p) => p.metric_date > '2026-02-01' },
    filters: [{ member: 'metric_date', operator: 'GT', values: ['2026-02-01'] }],
    rollup: null,
    reason: /GT filter on metric_date can split/,
  },
  {
    name: 'last and a having under a dimension filter',
    q: { measures: ['followers', 'impressions'], dims: [{ name: 'metric_date', grain: 'month' }], where: (p) => p.platform === 'instagram', having: (m) => (m.impressions ?? 0) > 1_000_000 },
    filters: [{ member: 'platform', operator: 'EQUALS', values: ['instagram'] }, { member: 'impressions', operator: 'GT', values: [1_000_000] }],
    rollup: 'social.posts.daily',
  },
  { name: 'a measure no rollup keeps with others it does', q: { measures: ['likes', 'posts'], dims: [{ name: 'platform' }] }, rollup: null, reason: /counts distinct values|is not in rollup/ },
];

// `redshift`: the Redshift adapter and dialect on its PostgreSQL engine (test/support/warehouses.ts).
describe.each(WAREHOUSE_DIALECTS)('rollups on %s', (dialect) => {
  let raw: Warehouse;
  let wh: Warehouse;
  let project: SemanticProject;
  let rollups: Rollups;
  let posts = generatePosts();
  const regions = new Map(ACCOUNT_ROWS);

  beforeAll(async () => {
    const loaded = await loadSemanticProject(FIXTURE);
    expect(loaded.problems).toEqual([]);
    project = loaded.project as SemanticProject;
    raw = await freshWarehouse(dialect);
    rollups = new Rollups(project);
    wh = withRollups(raw, rollups);
    for (const spec of [POSTS, ACCOUNTS]) await wh.ensureTable(spec);
    await wh.merge({ spec: POSTS, columns: POSTS.columns.map((c) => c.name), rows: posts.map(postValues) });
    await wh.merge({ spec: ACCOUNTS, columns: ['account_id', 'region'], rows: ACCOUNT_ROWS });
    await wh.replaceTable({ spec: WEEKLY, rows: [['2026-01-05', 'x', 10], ['2026-01-26', 'x', 20], ['2026-02-02', 'x', 40]] });
    const started = await rollups.start(raw, { build: true });
    expect(started.built.sort()).toEqual(['social.posts.daily', 'social.posts.monthly', 'social.weekly_report.by_month']);
  }, 120_000);
  afterAll(async () => raw?.close());

  async function ask(q: RefQuestion, filters: FilterNode[] = [], useRollups = true) {
    const planned = planQuery(project, semanticQuery(q, filters), wh.dialect, useRollups ? { rollups: rollups.built } : {});
    return { planned, rows: byGroup(await wh.query(planned.sql, planned.params), q) };
  }

  it('builds once: a second start finds every rollup current', async () => {
    const again = new Rollups(project);
    const started = await again.start(raw, { build: true });
    expect(started).toEqual({ built: [], kept: ['social.posts.daily', 'social.posts.monthly', 'social.weekly_report.by_month'] });
  });

  it.each(CASES)('$name', async (c) => {
    const { planned, rows } = await ask(c.q, c.filters);
    expect(planned.rollup ?? null).toBe(c.rollup);
    if (c.rollup) expect(planned.sql).toContain('sextant_rollups');
    else {
      expect(planned.sql).not.toContain('sextant_rollups');
      expect(planned.rollupReason).toMatch(c.reason as RegExp);
    }
    // The numbers: exactly the independent computation's, group by group.
    const expected = reference(posts, regions, c.q);
    expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, measures] of expected) expect(rows.get(key), key).toEqual(measures);
    // The base table gives the same groups (the planner's own proof is test/integration/semantic-planner.test.ts).
    const base = await ask(c.q, c.filters, false);
    expect([...base.rows.keys()].sort()).toEqual([...rows.keys()].sort());
  });

  it('a load refreshes the buckets it touched, in its transaction; the others stay as they were', async () => {
    const d = raw.dialect;
    const snapshot = async (table: string) => (await raw.query(`select * from ${d.quoteTable(table)}`)).map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    const dailyTable = 'sextant_rollups.social__posts__daily';
    const before = await snapshot(dailyTable);
    const refreshedBefore = (await rollups.refreshedAt(raw)).get('social.posts.daily') as string;

    // Updates on two days (one moves to another platform), new rows on another, and a day no rollup has yet.
    const changed: Post[] = [
      { ...(posts.find((p) => p.metric_date === '2026-02-10') as Post), likes: 4_321, impressions: 99_999 },
      { ...(posts.find((p) => p.metric_date === '2026-02-11') as Post), platform: 'tiktok', followers: 123_456 },
      { post_id: 'new1', metric_date: '2026-03-05', platform: 'x', post_type: 'photo', account_id: 'a1', impressions: 777, likes: 7, followers: 50_000 },
      { post_id: 'new2', metric_date: '2026-05-02', platform: 'instagram', post_type: null, account_id: 'a2', impressions: 1_000, likes: null, followers: 60_000 },
    ];
    await wh.merge({ spec: POSTS, columns: POSTS.columns.map((c) => c.name), rows: changed.map(postValues) });
    posts = [...posts.filter((p) => !changed.some((c) => c.post_id === p.post_id && c.metric_date === p.metric_date)), ...changed];

    // At once: the answer from the rollup is the new base table's.
    for (const c of CASES.filter((x) => x.rollup !== null)) {
      const { planned, rows } = await ask(c.q, c.filters);
      expect(planned.rollup).toBe(c.rollup);
      const expected = reference(posts, regions, c.q);
      expect([...rows.keys()].sort(), c.name).toEqual([...expected.keys()].sort());
      for (const [key, measures] of expected) expect(rows.get(key), `${c.name} ${key}`).toEqual(measures);
    }

    // Untouched buckets are the very same rows.
    const touched = ['2026-02-10', '2026-02-11', '2026-03-05', '2026-05-02'];
    const after = await snapshot(dailyTable);
    const untouched = (rows: string[]) => rows.filter((r) => !touched.includes(JSON.parse(r)._t as string)).sort();
    expect(untouched(after)).toEqual(untouched(before));
    expect(after.length).toBeGreaterThan(before.length);
    const refreshedAfter = (await rollups.refreshedAt(raw)).get('social.posts.daily') as string;
    expect(Date.parse(refreshedAfter)).toBeGreaterThanOrEqual(Date.parse(refreshedBefore));
  });

  it('composes with the caller\'s afterMerge, and a failing one leaves base table and rollup unchanged', async () => {
    const q: RefQuestion = { measures: ['impressions', 'row_count'], dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }] };
    const before = (await ask(q)).rows;
    const batch: Post = { post_id: 'doomed', metric_date: '2026-01-20', platform: 'x', post_type: null, account_id: 'a1', impressions: 5, likes: 1, followers: 1 };
    await expect(
      wh.merge({
        spec: POSTS,
        columns: POSTS.columns.map((c) => c.name),
        rows: [postValues(batch)],
        afterMerge: async () => {
          throw new Error('state could not advance');
        },
      }),
    ).rejects.toThrow('state could not advance');
    expect((await ask(q)).rows).toEqual(before);

    let sawStaged: string | undefined;
    await wh.merge({
      spec: POSTS,
      columns: POSTS.columns.map((c) => c.name),
      rows: [postValues(batch)],
      afterMerge: async (_tx, b) => {
        sawStaged = b.staged;
      },
    });
    posts = [...posts, batch];
    expect(sawStaged).toBeDefined();
    const { planned, rows } = await ask(q);
    expect(planned.rollup).toBe('social.posts.monthly');
    const expected = reference(posts, regions, q);
    for (const [key, measures] of expected) expect(rows.get(key), key).toEqual(measures);
  });

  it('a load of a joined table recomputes the rollups that keep its dimensions', async () => {
    await wh.merge({ spec: ACCOUNTS, columns: ['account_id', 'region'], rows: [['a1', 'apac'], ['a9', 'amer']] });
    regions.set('a1', 'apac');
    regions.set('a9', 'amer');
    const q: RefQuestion = { measures: ['impressions', 'posts', 'followers'], dims: [{ name: 'metric_date', grain: 'day' }, { name: 'platform' }, { name: 'accounts.region' }] };
    const { planned, rows } = await ask(q);
    expect(planned.rollup).toBe('social.posts.daily');
    const expected = reference(posts, regions, q);
    expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, measures] of expected) expect(rows.get(key), key).toEqual(measures);
  });

  it('a report\'s write-back (replaceTable) recomputes the rollups over its table', async () => {
    const weekly = async () => {
      const planned = planQuery(
        project,
        { model: 'social.weekly_report', measures: ['impressions'], dimensions: [{ name: 'week', grain: 'month' }], filters: [], orderBy: [], limit: 100, offset: 0 },
        wh.dialect,
        { rollups: rollups.built },
      );
      expect(planned.rollup).toBe('social.weekly_report.by_month');
      return (await wh.query(planned.sql, planned.params)).map((r) => [r.week__month, r.impressions]);
    };
    expect(await weekly()).toEqual([['2026-01-01', 30], ['2026-02-01', 40]]);
    // The report's own inSwap (its lineage record) still runs, in the same transaction as the rollup's.
    let lineage = 0;
    await wh.replaceTable({
      spec: WEEKLY,
      rows: [['2026-02-09', 'x', 5], ['2026-03-02', 'fb', 6], ['2026-03-09', 'x', 7]],
      inSwap: async (tx) => {
        lineage = Number((await tx.query('select count(*) as n from reports.weekly'))[0].n);
      },
    });
    expect(lineage).toBe(3);
    expect(await weekly()).toEqual([['2026-02-01', 5], ['2026-03-01', 13]]);
    // A replacement that fails in its swap leaves the old rows and the rollup over them.
    await expect(
      wh.replaceTable({
        spec: WEEKLY,
        rows: [['2026-05-04', 'x', 1]],
        inSwap: async () => {
          throw new Error('lineage could not be written');
        },
      }),
    ).rejects.toThrow('lineage could not be written');
    expect(await weekly()).toEqual([['2026-02-01', 5], ['2026-03-01', 13]]);
  });

  // Last: it leaves `social.posts.monthly` to the second version of the project.
  it('a rolling deploy: the old version neither writes into nor answers from the new version\'s rollup, which is rebuilt after the old one\'s load', async () => {
    // Version 2 of the project keeps one measure fewer in the monthly rollup: another definition, one table.
    const dir = mkdtempSync(path.join(tmpdir(), 'rollups-v2-'));
    cpSync(FIXTURE, dir, { recursive: true });
    const postsYml = path.join(dir, 'models', 'social', 'posts.yml');
    writeFileSync(postsYml, readFileSync(postsYml, 'utf8').replace('measures: [row_count, impressions, engagement_rate, posts]', 'measures: [row_count, impressions, engagement_rate]'));
    const loadedV2 = await loadSemanticProject(dir);
    expect(loadedV2.problems).toEqual([]);
    const projectV2 = loadedV2.project as SemanticProject;
    const v2 = new Rollups(projectV2);
    const whV2 = withRollups(raw, v2);
    const d = raw.dialect;
    const stateOf = async (id: string) => String((await raw.query(`select definition_hash as h from ${d.quoteTable('sextant.rollups')} where id = ${d.param(1, 'string')}`, [id]))[0]?.h);
    const monthly: RefQuestion = { measures: ['impressions', 'row_count'], dims: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }] };
    const askWith = async (p: SemanticProject, built: ReadonlySet<string>) => {
      const planned = planQuery(p, semanticQuery(monthly), d, { rollups: built });
      return { planned, rows: byGroup(await raw.query(planned.sql, planned.params), monthly) };
    };
    const expectExact = (rows: Map<string, unknown>) => {
      const expected = reference(posts, regions, monthly);
      expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, measures] of expected) expect(rows.get(key), key).toEqual(measures);
    };

    // The new version starts: it rebuilds the changed rollup (its table now has the new definition's columns).
    expect((await v2.start(raw, { build: true })).built).toEqual(['social.posts.monthly']);
    const h2 = await stateOf('social.posts.monthly');
    // The old version hears of it (the start-up's change) and stops answering from that rollup.
    expect(rollups.built.has('social.posts.monthly')).toBe(true);
    expect(await rollups.recheck(raw, ['social.posts'])).toContain('social.posts');
    expect(rollups.built.has('social.posts.monthly')).toBe(false);
    expect(rollups.built.has('social.posts.daily')).toBe(true);
    const old = await askWith(project, rollups.built);
    expect(old.planned.rollup).not.toBe('social.posts.monthly');
    expectExact(old.rows);

    // The old version loads: it refreshes the rollups of its own definition, not the new version's table,
    // which it marks stale for its owner.
    const row = { ...posts[3], impressions: 31_337, platform: 'fb' };
    await wh.merge({ spec: POSTS, columns: POSTS.columns.map((c) => c.name), rows: [postValues(row)] });
    posts = [...posts.filter((p) => !(p.post_id === row.post_id && p.metric_date === row.metric_date)), row];
    expect(await stateOf('social.posts.monthly')).toBe(`stale:${h2}`);
    expect(rollups.built.has('social.posts.monthly')).toBe(false);
    // The new version, hearing of that load, rebuilds its rollup and answers from it, exactly.
    expect(await v2.recheck(raw, ['social.posts'])).toContain('social.posts');
    expect(await stateOf('social.posts.monthly')).toBe(h2);
    const fresh = await askWith(projectV2, v2.built);
    expect(fresh.planned.rollup).toBe('social.posts.monthly');
    expectExact(fresh.rows);
    // Hearing it too, the old version still leaves it alone.
    await rollups.recheck(raw, ['social.posts']);
    expect(rollups.built.has('social.posts.monthly')).toBe(false);

    // The new version's own loads refresh it in their transaction, as always.
    const next = { ...posts[5], impressions: 4_242 };
    await whV2.merge({ spec: POSTS, columns: POSTS.columns.map((c) => c.name), rows: [postValues(next)] });
    posts = [...posts.filter((p) => !(p.post_id === next.post_id && p.metric_date === next.metric_date)), next];
    expect(await stateOf('social.posts.monthly')).toBe(h2);
    expectExact((await askWith(projectV2, v2.built)).rows);
    rmSync(dir, { recursive: true, force: true });
  });
});
