/**
 * The dashboard's heavy question — every post-day of the demo's social.post_daily by month and platform
 * (impressions, engagements, engagement rate, distinct posts) — answered from the example project's rollup
 * `social.post_performance.month_platform` against the base table (rollups off: the same planner without
 * them), on PostgreSQL and on DuckDB, in one run. Before timing, both answers are compared value by value
 * (the same numbers to the last digit) and the bench stops if they differ. Also printed: the rollup's build
 * at start-up and what a load of one day's rows costs with the rollups refreshed in its transaction.
 *
 *   npm run bench:rollups -- [--rows 10000000] [--runs 5] [--warehouse both|postgres|duckdb]
 * SEXTANT_BENCH_PG_URL=postgres://… reuses a server (the data stays between runs, one database per --rows);
 * DuckDB's file is kept under bench/.work/ (one per --rows). Otherwise a PostgreSQL is started and thrown away.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { EXAMPLE_PROJECT } from '../src/config/env.js';
import { generateDemo, planDemo } from '../src/demo/generate.js';
import { DEMO_TABLES } from '../src/demo/tables.js';
import { withRollups } from '../src/rollups/rollup-warehouse.js';
import { Rollups } from '../src/rollups/rollups.js';
import { loadSemanticProject } from '../src/semantic/load.js';
import { planQuery } from '../src/semantic/planner.js';
import type { SemanticProject, SemanticQuery } from '../src/semantic/types.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Row, Warehouse } from '../src/warehouse/port.js';
import { benchPostgres } from './support/postgres.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    warehouse: { type: 'string', default: 'both' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Math.max(1, Number(args.runs));
const KINDS = args.warehouse === 'both' ? (['postgres', 'duckdb'] as const) : ([args.warehouse] as Array<'postgres' | 'duckdb'>);
const ROLLUP = 'social.post_performance.month_platform';
const POST_DAILY = 'social.post_daily';

const HEAVY: SemanticQuery = {
  model: 'social.post_performance',
  measures: ['impressions', 'engagements', 'engagement_rate', 'posts'],
  dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }],
  filters: [],
  orderBy: [],
  limit: 100_000,
  offset: 0,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Fills the demo tables unless social.post_daily already holds the rows `--rows` gives. */
async function ensureDemo(wh: Warehouse, label: string): Promise<void> {
  const planned = planDemo(ROWS)[POST_DAILY] ?? 0;
  const present = (await wh.describeTable(POST_DAILY)) ? Number((await wh.query(`select count(*) as n from ${wh.dialect.quoteTable(POST_DAILY)}`))[0].n) : -1;
  if (present === planned) return;
  for (const spec of DEMO_TABLES) {
    await wh.ensureTable(spec);
    await wh.execute(`delete from ${wh.dialect.quoteTable(spec.table)}`);
  }
  console.log(`${label}: generating ${ROWS.toLocaleString('en')} demo rows (${planned.toLocaleString('en')} in ${POST_DAILY}) …`);
  const t0 = performance.now();
  await generateDemo(wh, { rows: ROWS, seed: 1 });
  console.log(`${label}:   done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function timed(wh: Warehouse, sql: string, params: unknown[]): Promise<{ ms: number; rows: Row[] }> {
  const t0 = performance.now();
  const rows = await wh.query(sql, params, { timeoutMs: 0 });
  return { ms: performance.now() - t0, rows };
}

interface Result {
  warehouse: string;
  postDaily: number;
  groups: number;
  buildMs: number;
  baseMs: number;
  rollupMs: number;
  loadMs: number;
  loadWithRollupsMs: number;
  dayRows: number;
}

async function benchOne(kind: 'postgres' | 'duckdb', project: SemanticProject): Promise<Result> {
  let wh: Warehouse;
  let stop = async (): Promise<void> => undefined;
  if (kind === 'postgres') {
    const pg = await benchPostgres(`sextant_bench_rollups_${ROWS}`);
    stop = pg.stop;
    wh = await openWarehouse({ kind: 'postgres', url: pg.url }, { statementTimeoutMs: 0 });
  } else {
    mkdirSync('bench/.work', { recursive: true });
    wh = await openWarehouse({ kind: 'duckdb', path: `bench/.work/rollups-${ROWS}.duckdb` }, { statementTimeoutMs: 0 });
  }
  try {
    await ensureDemo(wh, kind);
    for (const spec of DEMO_TABLES) await wh.ensureTable(spec);
    const postDaily = Number((await wh.query(`select count(*) as n from ${wh.dialect.quoteTable(POST_DAILY)}`))[0].n);

    // The start-up build, from nothing (as a first start, or a changed definition, would do it).
    await wh.execute('drop schema if exists sextant_rollups cascade');
    await wh.execute('drop table if exists sextant.rollups');
    const rollups = new Rollups(project);
    let t0 = performance.now();
    await rollups.start(wh, { build: true });
    const buildMs = performance.now() - t0;

    const base = planQuery(project, HEAVY, wh.dialect);
    const fromRollup = planQuery(project, HEAVY, wh.dialect, { rollups: rollups.built });
    if (fromRollup.rollup !== ROLLUP) throw new Error(`expected ${ROLLUP} to answer, got ${fromRollup.rollup ?? fromRollup.rollupReason}`);
    if (base.rollup !== undefined) throw new Error('the base plan must not use a rollup');

    // The same numbers to the last digit, group by group, before any timing.
    const a = await timed(wh, base.sql, base.params);
    const b = await timed(wh, fromRollup.sql, fromRollup.params);
    const text = (rows: Row[]) => JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    if (text(a.rows) !== text(b.rows)) throw new Error(`${kind}: the rollup's answer differs from the base table's:\n${text(a.rows).slice(0, 500)}\n${text(b.rows).slice(0, 500)}`);

    const baseTimes: number[] = [];
    const rollupTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      baseTimes.push((await timed(wh, base.sql, base.params)).ms);
      rollupTimes.push((await timed(wh, fromRollup.sql, fromRollup.params)).ms);
    }

    // A load of one day's rows (merged again as they are: the same values, the same rollup afterwards),
    // with and without the rollups refreshed in its transaction.
    const spec = DEMO_TABLES.find((t) => t.table === POST_DAILY);
    if (!spec) throw new Error(`${POST_DAILY} is not a demo table`);
    const columns = spec.columns.map((c) => c.name);
    const day = await wh.query(
      `select ${columns.map((c) => wh.dialect.quoteIdent(c)).join(', ')} from ${wh.dialect.quoteTable(POST_DAILY)} where metric_date = ${wh.dialect.param(1, 'date')}`,
      ['2026-03-15'],
    );
    const values = day.map((r) => columns.map((c) => r[c] ?? null));
    t0 = performance.now();
    await wh.merge({ spec, columns, rows: values });
    const loadMs = performance.now() - t0;
    t0 = performance.now();
    await withRollups(wh, rollups).merge({ spec, columns, rows: values });
    const loadWithRollupsMs = performance.now() - t0;
    const after = await timed(wh, fromRollup.sql, fromRollup.params);
    if (text(after.rows) !== text(a.rows)) throw new Error(`${kind}: the rollup changed after merging rows equal to the base table's`);

    return { warehouse: kind, postDaily, groups: a.rows.length, buildMs, baseMs: median(baseTimes), rollupMs: median(rollupTimes), loadMs, loadWithRollupsMs, dayRows: values.length };
  } finally {
    await wh.close();
    await stop();
  }
}

async function main(): Promise<void> {
  const loaded = await loadSemanticProject(EXAMPLE_PROJECT);
  if (!loaded.project) throw new Error(JSON.stringify(loaded.problems));
  const results: Result[] = [];
  for (const kind of KINDS) results.push(await benchOne(kind, loaded.project));
  console.log(`\nmonth × platform over ${ROWS.toLocaleString('en')} demo rows; median of ${RUNS} runs each; load average ${load()}`);
  console.log('| warehouse | post_daily rows | groups | base table | rollup | ratio | rollup build | load of one day (rows) | same load + rollups |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.warehouse} | ${r.postDaily.toLocaleString('en')} | ${r.groups} | ${r.baseMs.toFixed(1)} ms | ${r.rollupMs.toFixed(2)} ms | ${(r.baseMs / r.rollupMs).toFixed(0)}× | ${(r.buildMs / 1000).toFixed(1)} s | ${r.loadMs.toFixed(0)} ms (${r.dayRows.toLocaleString('en')}) | ${r.loadWithRollupsMs.toFixed(0)} ms |`,
    );
  }
  console.log('answers compared value by value before timing: identical.');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
