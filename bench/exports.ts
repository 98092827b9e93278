/**
 * A 1,000,000-row XLSX export, side by side with its floor, each in its own process so that peak RSS is
 * the process's own (`process.resourceUsage().maxRSS`, reported at exit):
 *   - sextant: `sextant export` end to end — a table of N posts, the semantic layer's query at the
 *     table's grain (N rows), the XLSX writer (styles, number formats, About sheet) — into a file; on
 *     PostgreSQL (a server of its own, as in production: the RSS is the export's) and on DuckDB (embedded:
 *     the RSS includes DuckDB's own aggregation of the N groups, ~300 MB of it on its own);
 *   - exceljs: a bare exceljs streaming WorkbookWriter (no styles) fed the same N rows from memory
 *     (built before the clock starts), `addRow(values).commit()` per row, into a file.
 * Prints rows/s and peak RSS of each, and the ratios. Goals: sextant ≥ 0.5× the floor's rows/s, and its
 * peak RSS under 300 MB.
 *
 *   npm run bench:exports -- [--rows 1000000] [--runs 1] [--warehouse postgres,duckdb] [--duckdb-memory-limit 64MB] [--max-old-space 128]
 * SEXTANT_BENCH_PG_URL=postgres://… uses that server; otherwise one is started and thrown away.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openWarehouse } from '../src/warehouse/open.js';
import { buildIfStale } from './support/build.js';
import { benchPostgres } from './support/postgres.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '1' },
    warehouse: { type: 'string', default: 'postgres,duckdb' },
    /** SEXTANT_DUCKDB_MEMORY_LIMIT for the sextant process (e.g. 64MB); default: the product's (128MB). */
    'duckdb-memory-limit': { type: 'string' },
    /** V8's old-space limit in MB for the sextant process (node --max-old-space-size); default: bin/sextant.js's for export (128). */
    'max-old-space': { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const WAREHOUSES = args.warehouse.split(',').map((w) => w.trim());
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The same N rows on each warehouse, and in the floor's generator (bench/support/exceljs-floor.ts). */
const TABLE_SQL: Record<string, (rows: number) => string[]> = {
  duckdb: (rows) => [
    'create schema if not exists bench',
    `create or replace table bench.posts as
     select 'p' || i as post_id, ['facebook', 'instagram', 'x'][(i % 3) + 1] as platform,
            date '2024-01-01' + cast(i % 700 as integer) as metric_date,
            cast((i * 7919) % 100000 as bigint) as impressions, cast((i * 31) % 5000 as bigint) as engagements,
            cast(i % 5000 as double) / 7 as spend, cast(i % 4000 as bigint) as watch_seconds
     from range(${rows}) t(i)`,
  ],
  postgres: (rows) => [
    'create schema if not exists bench',
    'drop table if exists bench.posts',
    `create table bench.posts as
     select 'p' || i as post_id, (array['facebook', 'instagram', 'x'])[(i % 3) + 1] as platform,
            date '2024-01-01' + (i % 700)::int as metric_date,
            ((i * 7919) % 100000)::bigint as impressions, ((i * 31) % 5000)::bigint as engagements,
            (i % 5000)::double precision / 7 as spend, (i % 4000)::bigint as watch_seconds
     from generate_series(0::bigint, ${rows - 1}::bigint) i`,
  ],
};

const MODEL_YAML = `name: posts
description: One row per post (benchmark data).
table: bench.posts
grain: [post_id]
dimensions:
  post_id:     { type: string }
  platform:    { type: string }
  metric_date: { type: time }
measures:
  impressions:     { type: sum, format: integer }
  engagement_rate: { type: ratio, numerator: engagements, denominator: impressions, format: percent }
  engagements:     { type: sum, format: integer }
  spend:           { type: sum, format: currency }
  watch_time:      { type: sum, sql: watch_seconds, format: duration }
`;

interface RunResult {
  seconds: number;
  maxRssMb: number;
  /** Peak RSS of bin/sextant.js when it ran the command in a child process of its own. */
  launcherRssMb?: number | undefined;
  bytes: number;
}

/** Runs a node process with the RSS reporter preloaded; answers wall time and peak RSS. */
async function run(label: string, argv: string[], env: Record<string, string>, outFile: string): Promise<RunResult> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', join(ROOT, 'bench/support/report-rss.mjs'), ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // `sextant export` runs in a child of bin/sextant.js (its V8 heap setting): both report; the export is the larger.
  const reported = [...stderr.matchAll(/SEXTANT_BENCH_MAX_RSS_KB=(\d+)/g)].map((m) => Number(m[1]) / 1024).sort((a, b) => b - a);
  if (code !== 0 || reported.length === 0) throw new Error(`${label} failed (exit ${code}):\n${stderr.slice(-4000)}`);
  return { seconds, maxRssMb: reported[0], launcherRssMb: reported[1], bytes: statSync(outFile).size };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const load = () => `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

async function main(): Promise<void> {
  buildIfStale();
  const tuning: Record<string, string> = {
    ...(args['duckdb-memory-limit'] ? { SEXTANT_DUCKDB_MEMORY_LIMIT: args['duckdb-memory-limit'] } : {}),
    ...(args['max-old-space'] ? { NODE_OPTIONS: `--max-old-space-size=${Number(args['max-old-space'])}` } : {}),
  };
  console.log(`sextant settings: ${Object.entries(tuning).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}; ${load()} at start`);
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-exports-'));
  try {
    const project = join(work, 'project');
    mkdirSync(join(project, 'models', 'bench'), { recursive: true });
    mkdirSync(join(project, 'targets'), { recursive: true });
    writeFileSync(join(project, 'models', 'bench', 'posts.yml'), MODEL_YAML);
    const targets: Array<{ name: string; url: string }> = [];
    let stopPg: (() => Promise<void>) | undefined;
    for (const name of WAREHOUSES) {
      if (name !== 'duckdb' && name !== 'postgres') throw new Error(`--warehouse: duckdb or postgres, got ${name}`);
      let url: string;
      if (name === 'postgres') {
        const pg = await benchPostgres('sextant_bench_exports');
        stopPg = pg.stop;
        url = pg.url;
      } else url = `duckdb:${join(work, 'warehouse.duckdb')}`;
      const wh = await openWarehouse(name === 'postgres' ? { kind: 'postgres', url } : { kind: 'duckdb', path: url.slice('duckdb:'.length) }, { statementTimeoutMs: 0 });
      for (const sql of TABLE_SQL[name](ROWS)) await wh.execute(sql);
      await wh.close();
      targets.push({ name, url });
    }
    console.log(`data: ${ROWS.toLocaleString('en-US')} rows in bench.posts on ${WAREHOUSES.join(' and ')}; ${RUNS} run(s) each, alternating`);

    const ours = new Map<string, RunResult[]>(targets.map((t) => [t.name, []]));
    const floor: RunResult[] = [];
    try {
      for (let r = 0; r < RUNS; r++) {
        for (const t of targets) {
          const a = join(work, `sextant-${t.name}-${r}.xlsx`);
          ours.get(t.name)!.push(
            await run(
              `sextant export (${t.name})`,
              [
                'bin/sextant.js', 'export', '--model', 'bench.posts', '--measures', 'impressions,engagement_rate,engagements,spend,watch_time',
                '--dimensions', 'post_id,platform,metric_date', '--format', 'xlsx', '--out', a,
              ],
              { SEXTANT_WAREHOUSE: t.url, SEXTANT_PROJECT: project, SEXTANT_OBJECT_STORE: `file:${join(work, 'objects')}`, SEXTANT_DEMO: 'off', SEXTANT_LOG_LEVEL: 'warn', ...tuning },
              a,
            ),
          );
          rmSync(a);
        }
        const b = join(work, `exceljs-${r}.xlsx`);
        floor.push(await run('exceljs floor', ['--import', 'tsx', 'bench/support/exceljs-floor.ts', String(ROWS), b], {}, b));
        rmSync(b);
      }
    } finally {
      await stopPg?.();
    }
    const line = (name: string, rs: RunResult[]) => {
      const s = median(rs.map((x) => x.seconds));
      console.log(
        `${name.padEnd(22)} ${(ROWS / s).toFixed(0).padStart(8)} rows/s   ${s.toFixed(1).padStart(6)} s   peak RSS ${median(rs.map((x) => x.maxRssMb)).toFixed(0).padStart(4)} MB   file ${(median(rs.map((x) => x.bytes)) / 1e6).toFixed(1)} MB`,
      );
      return s;
    };
    console.log('contender                  rows/s     wall (median, whole process)');
    const sf = line('exceljs floor', floor);
    for (const t of targets) {
      const rs = ours.get(t.name)!;
      const so = line(`sextant (${t.name})`, rs);
      const rss = median(rs.map((x) => x.maxRssMb));
      const launcher = rs[0].launcherRssMb === undefined ? '' : `; bin/sextant.js launcher beside it ${median(rs.map((x) => x.launcherRssMb ?? 0)).toFixed(0)} MB`;
      console.log(`  ratio sextant (${t.name})/floor rows/s: ${(sf / so).toFixed(2)}× (goal ≥ 0.5×); peak RSS ${rss.toFixed(0)} MB (goal < 300 MB)${launcher}`);
    }
    console.log(`${load()} at the end`);
    console.log('sextant includes process start, opening the project and warehouse, the query, and a row count for the progress bar (run beside the export); the floor only writes rows already in memory.');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
