/**
 * The parts of the DuckDB CSV load, each against its alternative, in one bare DuckDB (no Sextant process), so that a
 * change to one part can be judged without the upload around it (bench/README.md, "duck-order"):
 *
 * - the insert of the file with its three lineage columns, `preserve_insertion_order` on (DuckDB's default: it orders
 *   the batches of the parallel read) against off (what the load sets for its parallel read), beside the bare
 *   `read_csv` insert without lineage (bench/ingest.ts's floor);
 * - the repeated-key check: counting distinct key hashes, against sorting them (lag over ORDER BY), in one pass and in
 *   passes of 1M rows (what the load runs).
 *
 * Each contender runs in a child process of its own; its RSS growth is the highest RSS sampled every 10 ms while its
 * statements run, minus the RSS before them. DuckDB runs with the product's settings: memory_limit 128MB, the allocator flush settings.
 *
 *   npx tsx bench/duckdb-load-parts.ts [--rows 1000000] [--runs 2]     (ONLY=ordered,unordered,… runs just those)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { fieldValueSql, missingSql } from '../src/warehouse/duckdb/csv-values.js';
import type { TableColumn } from '../src/warehouse/port.js';
import { writePostsCsv } from './support/posts-csv.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '2' }, child: { type: 'string' }, csv: { type: 'string' } } });
const TABLE = `CREATE TABLE t (platform VARCHAR NOT NULL, post_id VARCHAR NOT NULL, metric_date DATE NOT NULL, impressions BIGINT, likes BIGINT, _run_id VARCHAR, _loaded_at TIMESTAMP, _source_object VARCHAR)`;
const LINEAGE = `'b7e0f0a2-1c1d-4e0e-9a55-1f2e3d4c5b6a', TIMESTAMP '2026-12-02 10:00:00', 'uploads/social_manual_posts/2026/12/02/b7e0f0a2-1c1d-4e0e-9a55-1f2e3d4c5b6a/posts.csv'`;
const KEYS = 'platform, post_id, metric_date';
const sortedCheck = (from: string) => `SELECT count(*) FILTER (WHERE h = previous) AS repeats FROM (SELECT h, lag(h) OVER (ORDER BY h) AS previous FROM (${from}))`;

/** One contender: [what it is, the statements before the timed part, the timed statements (given the row count)]. */
const CONTENDERS: Record<string, { label: string; timed: (csv: string, rows: number) => string[]; before?: (csv: string) => string[] }> = {
  floor: { label: 'read_csv insert, no lineage (the floor)', timed: (csv) => [`INSERT INTO t (platform, post_id, metric_date, impressions, likes) SELECT * FROM ${readCsv(csv)}`] },
  ordered: { label: 'insert + lineage, insertion order on', timed: (csv) => [`INSERT INTO t SELECT *, ${LINEAGE} FROM ${readCsv(csv)}`] },
  unordered: { label: 'insert + lineage, insertion order off', timed: (csv) => ['SET preserve_insertion_order = false', `INSERT INTO t SELECT *, ${LINEAGE} FROM ${readCsv(csv)}`] },
  checked: { label: "insert + lineage, order off, the load's checks", timed: (csv) => ['SET preserve_insertion_order = false', `INSERT INTO t ${checkedSelect(csv)}`] },
  distinct: { label: 'key check: count(DISTINCT hash)', before: loaded, timed: () => [`SELECT count(*), count(DISTINCT hash(${KEYS})) FROM t`] },
  sorted: { label: 'key check: sorted hashes, one pass', before: loaded, timed: () => [sortedCheck(`SELECT hash(${KEYS}) AS h FROM t`)] },
  passes: {
    label: 'key check: sorted hashes, passes of 1M rows',
    before: loaded,
    timed: (_, rows) => {
      const passes = Math.max(1, Math.ceil(rows / 1_000_000));
      return Array.from({ length: passes }, (_, i) => sortedCheck(`SELECT h FROM (SELECT hash(${KEYS}) AS h FROM t) WHERE h % ${passes} = ${i}`));
    },
  },
};

function readCsv(csv: string): string {
  return `read_csv('${csv}', header = true, buffer_size = 4194304, columns = {'platform': 'VARCHAR', 'Post ID': 'VARCHAR', 'Date': 'DATE', 'impressions': 'INTEGER', 'likes': 'INTEGER'})`;
}
/** The load's SELECT (duckdb-warehouse.ts, readCsvSql): every field read as text, checked and converted as the converter would, blank rows skipped. */
function checkedSelect(csv: string): string {
  const columns: TableColumn[] = [
    { name: 'platform', type: 'string', required: true },
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'impressions', type: 'integer' },
    { name: 'likes', type: 'integer' },
  ];
  const fields = columns.map((_, i) => `'f${i}': 'VARCHAR'`).join(', ');
  const blankRow = columns.map((_, i) => missingSql(`"f${i}"`)).join(' AND ');
  return `SELECT ${columns.map((c, i) => fieldValueSql(c, `f${i}`)).join(', ')}, ${LINEAGE}
    FROM read_csv('${csv}', columns = {${fields}}, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
                  strict_mode = true, null_padding = false, max_line_size = 1048576, buffer_size = 4194304, parallel = true)
    WHERE NOT (${blankRow})`;
}

function loaded(csv: string): string[] {
  return ['SET preserve_insertion_order = false', `INSERT INTO t SELECT *, ${LINEAGE} FROM ${readCsv(csv)}`, 'RESET preserve_insertion_order', 'CHECKPOINT'];
}

/** In a child: runs one contender on a fresh file, prints `seconds rssGrowthMb`. */
async function child(name: string, csv: string, rows: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-bench-parts-'));
  try {
    const instance = await DuckDBInstance.create(join(dir, 'w.duckdb'), {
      memory_limit: DEFAULT_DUCKDB_MEMORY_LIMIT,
      allocator_flush_threshold: '8MB',
      allocator_bulk_deallocation_flush_threshold: '8MB',
      allocator_background_threads: 'true',
    });
    const conn = await instance.connect();
    await conn.run(TABLE);
    const c = CONTENDERS[name];
    for (const sql of c.before?.(csv) ?? []) await conn.run(sql);
    const rss0 = process.memoryUsage().rss;
    // Sampled every 10 ms while the statements run (they run on DuckDB's threads, the event loop is free): ru_maxrss
    // would also count what the untimed statements before held.
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const sql of c.timed(csv, rows)) await conn.run(sql);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    const grew = (Math.max(peak, process.memoryUsage().rss) - rss0) / 1048576;
    console.log(`${seconds} ${Math.max(0, grew)} ${(cpu.user + cpu.system) / 1e6}`);
    conn.closeSync();
    instance.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows = Number(args.rows);
  if (args.child) return child(args.child, args.csv!, rows);
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-parts-'));
  try {
    const csv = join(work, 'posts.csv');
    await writePostsCsv(csv, rows);
    const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`${rows.toLocaleString()} rows; DuckDB memory_limit ${DEFAULT_DUCKDB_MEMORY_LIMIT}; load average before: ${load()}`);
    const results = new Map<string, Array<[number, number, number]>>();
    // Interleaved: run r of every contender before run r + 1 of any.
    for (let run = 0; run < Number(args.runs); run++) {
      for (const name of Object.keys(CONTENDERS).filter((n) => !process.env.ONLY || process.env.ONLY.split(',').includes(n))) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', name, '--csv', csv, '--rows', String(rows)], { encoding: 'utf8' });
        const [s, mb, cpu] = out.trim().split('\n').at(-1)!.split(' ').map(Number);
        results.set(name, [...(results.get(name) ?? []), [s, mb, cpu]]);
      }
    }
    console.log(`load average after: ${load()}\n${'contender'.padEnd(46)} ${'best s'.padStart(7)} ${'ratio'.padStart(6)} ${'RSS growth'.padStart(11)}   all runs`);
    const best = (name: string) => Math.min(...results.get(name)!.map(([s]) => s));
    for (const [name, c] of Object.entries(CONTENDERS).filter(([n]) => results.has(n))) {
      const baseName = c.label.startsWith('key check') ? 'distinct' : 'ordered';
      const base = results.has(baseName) ? best(baseName) : NaN;
      const runs = results.get(name)!;
      console.log(
        `${c.label.padEnd(46)} ${best(name).toFixed(3).padStart(7)} ${`${(base / best(name)).toFixed(2)}x`.padStart(6)} ${`${Math.max(...runs.map(([, mb]) => mb)).toFixed(0)} MB`.padStart(11)}   ${runs.map(([s, mb, cpu]) => `${s.toFixed(3)} s/${cpu.toFixed(2)} CPU s/${mb.toFixed(0)} MB`).join(', ')}`,
      );
    }
    console.log('ratio: speed against the default of its kind (insert: insertion order on; check: count(DISTINCT hash)).');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
