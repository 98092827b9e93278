/**
 * A CSV file through Sextant's upload path (createUpload → PUT to the object store → completeUpload →
 * the job: raw file kept, parsed, converted, staged and merged on the key with lineage columns) against
 * the warehouse's own bulk loader reading the same file into the same table, side by side:
 *
 * - PostgreSQL: `psql -c "\copy social.manual_posts(…) from 'file' with (format csv, header true)"`;
 * - DuckDB: `INSERT INTO social.manual_posts (…) SELECT * FROM read_csv('file', header = true, columns = …)`
 *   into the same table (as our adapter creates it) in a DuckDB file of its own, in this process; and beside it a
 *   fairer floor, the same insert into the table with the three lineage columns every loaded row carries, filled with
 *   the very values our load wrote (`_run_id`, `_loaded_at`, `_source_object`: constants of the load).
 *
 * Each of our runs starts a fresh `sextant serve` (production mode), so the peak RSS printed is that
 * process's own for that one load (the kernel's ru_maxrss, reported at exit by support/report-rss.mjs).
 * After each load both tables are compared (count, sums, date range, md5 of the post ids). Prints the
 * machine's load average before and after.
 *
 *   npm run bench:ingest -- --rows 1000000 [--warehouse postgres|duckdb|both] [--runs 2]
 *                           [--duckdb-memory-limit 128MB|default] [--malloc-mmap-threshold off|65536]
 *
 * `sextant serve` runs with glibc's default allocator settings, as the Docker image runs it; `--malloc-mmap-threshold 65536`
 * sets MALLOC_MMAP_THRESHOLD_ (docs/environment.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { buildIfStale } from './support/build.js';
import { putFile } from './support/put-file.js';
import { writePostsCsv } from './support/posts-csv.js';
import { startService as startServe, type Service } from './support/serve.js';
import { benchPostgres } from './support/postgres.js';
import { openDuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { LINEAGE_COLUMNS } from '../src/ingest/targets.js';
import type { TableSpec } from '../src/warehouse/port.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '2' },
    warehouse: { type: 'string', default: 'both' },
    'duckdb-memory-limit': { type: 'string', default: '128MB' },
    'malloc-mmap-threshold': { type: 'string', default: 'off' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const WAREHOUSES = args.warehouse === 'both' ? ['postgres', 'duckdb'] : [args.warehouse!];
const DUCKDB_MEMORY_LIMIT = args['duckdb-memory-limit'] === 'default' ? undefined : args['duckdb-memory-limit'];
/** glibc's mmap threshold for `sextant serve`, as the Dockerfile sets it (docs/environment.md); undefined: glibc's default. */
const MALLOC_MMAP_THRESHOLD = args['malloc-mmap-threshold'] === 'off' ? undefined : args['malloc-mmap-threshold'];
const TABLE = 'social.manual_posts';
const COLUMNS = 'platform, post_id, metric_date, impressions, likes';
/** What both loads must leave in the table: the same rows, compared by a few aggregates (same SQL on both warehouses). */
const CONTENTS_SQL = `select count(*)::varchar as n, count(distinct platform)::varchar as platforms, sum(impressions)::varchar as impressions,
    sum(likes)::varchar as likes, min(metric_date)::varchar as first, max(metric_date)::varchar as last,
    md5(string_agg(post_id, ',' order by post_id)) as posts from ${TABLE}`;

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data!;
}

/** A `sextant serve` of its own (support/serve.ts), with the bench's allocator setting. */
function startService(env: Record<string, string>): Promise<Service> {
  return startServe({ ...(MALLOC_MMAP_THRESHOLD ? { MALLOC_MMAP_THRESHOLD_: MALLOC_MMAP_THRESHOLD } : {}), ...env });
}

/** Our upload path, timed from createUpload to the job's end. */
async function upload(base: string, csv: string): Promise<{ seconds: number; line: string }> {
  const size = statSync(csv).size;
  const t0 = performance.now();
  const up = await gql(`${base}/graphql`, `mutation($f: String!) { createUpload(target: "social_manual_posts", filename: $f, contentType: "text/csv") { id uploadUrl } }`, { f: 'posts.csv' });
  await putFile(up.createUpload.uploadUrl, csv, size);
  const tPut = performance.now();
  const done = await gql(`${base}/graphql`, `mutation($id: ID!) { completeUpload(id: $id) { id status } }`, { id: up.createUpload.id });
  let job = done.completeUpload;
  while (job.status === 'QUEUED' || job.status === 'RUNNING') {
    await new Promise((r) => setTimeout(r, 50));
    job = (await gql(`${base}/graphql`, `query($id: ID!) { job(id: $id) { id status createdAt startedAt finishedAt rowsLoaded errors { line message } } }`, { id: job.id })).job;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (job.status !== 'SUCCEEDED') throw new Error(`job ${job.id} ${job.status}: ${JSON.stringify(job.errors)}`);
  if (job.rowsLoaded !== ROWS) throw new Error(`job loaded ${job.rowsLoaded} rows, expected ${ROWS}`);
  const at = (t: string) => new Date(t).getTime() / 1000;
  const line = `createUpload + PUT ${((tPut - t0) / 1000).toFixed(2)} s, job queued ${(at(job.startedAt) - at(job.createdAt)).toFixed(2)} s, job running ${(at(job.finishedAt) - at(job.startedAt)).toFixed(2)} s`;
  return { seconds, line };
}

interface Result {
  warehouse: string;
  baseline: string;
  ours: Array<{ seconds: number; rssMb: number }>;
  theirs: number[];
  /** DuckDB: the same bulk insert also writing the lineage columns (the fairer floor). */
  fair?: { baseline: string; theirs: number[] };
}

async function benchPostgresIngest(work: string, csv: string): Promise<Result> {
  const { url, stop } = await benchPostgres('sextant_bench_ingest');
  const result: Result = { warehouse: 'postgres', baseline: 'psql \\copy', ours: [], theirs: [] };
  const client = new pg.Client(url);
  try {
    await client.connect();
    for (let run = 0; run < RUNS; run++) {
      // The table exists from the second run on (the service creates it); empty it for each contender.
      await client.query(`do $$ begin if to_regclass('${TABLE}') is not null then execute 'truncate ${TABLE}'; end if; end $$`);
      const service = await startService({ SEXTANT_WAREHOUSE: url, SEXTANT_OBJECT_STORE: `file:${join(work, 'objects-pg')}` });
      const { seconds, line } = await upload(service.base, csv);
      const rssMb = await service.stop();
      const ourContents = JSON.stringify((await client.query(CONTENTS_SQL)).rows[0]);
      result.ours.push({ seconds, rssMb });
      console.log(`postgres run ${run + 1}: sextant ${seconds.toFixed(2)} s = ${line}; peak RSS ${rssMb.toFixed(0)} MB; load ${load()}`);

      await client.query(`truncate ${TABLE}`);
      const t1 = performance.now();
      execFileSync('psql', [url, '-q', '-c', `\\copy ${TABLE}(${COLUMNS}) from '${csv}' with (format csv, header true)`]);
      result.theirs.push((performance.now() - t1) / 1000);
      const theirContents = JSON.stringify((await client.query(CONTENTS_SQL)).rows[0]);
      if (theirContents !== ourContents) throw new Error(`the two loads left different tables: sextant ${ourContents}; psql ${theirContents}`);
      console.log(`postgres run ${run + 1}: psql \\copy ${result.theirs.at(-1)!.toFixed(2)} s; both left the same table: ${theirContents}`);
    }
  } finally {
    await client.end().catch(() => undefined);
    await stop();
  }
  return result;
}

/** The table's contents (CONTENTS_SQL) and, when it has the lineage columns, one row's values of them and how many distinct ones there are. */
async function duckdbContents(path: string, withLineage = true): Promise<{ contents: string; lineage: Record<string, string> }> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    const rows = (await conn.runAndReadAll(CONTENTS_SQL)).getRowObjectsJson();
    const lineageSql = `select any_value(_run_id) as run_id, any_value(_loaded_at)::varchar as loaded_at, any_value(_source_object) as source_object,
        count(distinct _run_id) + count(distinct _loaded_at) + count(distinct _source_object) as distinct_values from ${TABLE}`;
    const [lineage] = withLineage ? (await conn.runAndReadAll(lineageSql)).getRowObjectsJson() : [{}];
    return { contents: JSON.stringify(rows[0]), lineage: lineage as Record<string, string> };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The table as our adapter creates it (its ensureTable), with the lineage columns or without. */
function postsSpec(lineage: boolean): TableSpec {
  return {
    table: TABLE,
    key: ['platform', 'post_id', 'metric_date'],
    columns: [
      { name: 'platform', type: 'string', required: true },
      { name: 'post_id', type: 'string', required: true },
      { name: 'metric_date', type: 'date', required: true },
      { name: 'impressions', type: 'integer' },
      { name: 'likes', type: 'integer' },
      ...(lineage ? LINEAGE_COLUMNS.map((c) => ({ name: c.name, type: c.type })) : []),
    ],
  };
}

/** DuckDB's own insert of the file into `TABLE` of a fresh file `path`, timed; with `lineage`, its three columns filled with those values. */
async function duckdbReadCsvInsert(path: string, csv: string, lineage?: Record<string, string>): Promise<number> {
  const wh = await openDuckDbWarehouse(path, { statementTimeoutMs: 0 });
  try {
    await wh.ensureTable(postsSpec(lineage !== undefined));
    const columns = lineage ? `${COLUMNS}, _run_id, _loaded_at, _source_object` : COLUMNS;
    const values = lineage ? `*, CAST($1 AS VARCHAR), CAST($2 AS TIMESTAMP), CAST($3 AS VARCHAR)` : '*';
    const t1 = performance.now();
    await wh.execute(
      `INSERT INTO ${TABLE} (${columns}) SELECT ${values} FROM read_csv('${csv}', header = true,
         columns = {'platform': 'VARCHAR', 'Post ID': 'VARCHAR', 'Date': 'DATE', 'impressions': 'INTEGER', 'likes': 'INTEGER'})`,
      lineage ? [lineage.run_id, lineage.loaded_at, lineage.source_object] : [],
    );
    return (performance.now() - t1) / 1000;
  } finally {
    await wh.close();
  }
}

async function benchDuckDbIngest(work: string, csv: string): Promise<Result> {
  const result: Result = { warehouse: 'duckdb', baseline: 'duckdb read_csv insert', ours: [], theirs: [], fair: { baseline: 'read_csv insert + lineage columns', theirs: [] } };
  for (let run = 0; run < RUNS; run++) {
    const dir = join(work, `duckdb-${run}`);
    mkdirSync(dir, { recursive: true });
    const ourFile = join(dir, 'ours.duckdb');
    const service = await startService({
      SEXTANT_WAREHOUSE: `duckdb:${ourFile}`,
      SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
      ...(DUCKDB_MEMORY_LIMIT ? { SEXTANT_DUCKDB_MEMORY_LIMIT: DUCKDB_MEMORY_LIMIT } : {}),
    });
    const { seconds, line } = await upload(service.base, csv);
    const rssMb = await service.stop();
    result.ours.push({ seconds, rssMb });
    const ours = await duckdbContents(ourFile);
    if (Number(ours.lineage.distinct_values) !== 3) throw new Error(`our load wrote more than one value per lineage column: ${JSON.stringify(ours.lineage)}`);
    console.log(`duckdb run ${run + 1}: sextant ${seconds.toFixed(2)} s = ${line}; peak RSS ${rssMb.toFixed(0)} MB; load ${load()}`);

    // The same table as our adapter creates it, in a file of its own: without the lineage columns (the floor),
    // then with them, filled with our load's values (the fairer floor).
    result.theirs.push(await duckdbReadCsvInsert(join(dir, 'theirs.duckdb'), csv));
    const theirs = await duckdbContents(join(dir, 'theirs.duckdb'), false);
    if (theirs.contents !== ours.contents) throw new Error(`the two loads left different tables: sextant ${ours.contents}; duckdb ${theirs.contents}`);
    result.fair!.theirs.push(await duckdbReadCsvInsert(join(dir, 'fair.duckdb'), csv, ours.lineage));
    const fair = await duckdbContents(join(dir, 'fair.duckdb'));
    if (fair.contents !== ours.contents) throw new Error(`the two loads left different tables: sextant ${ours.contents}; duckdb with lineage ${fair.contents}`);
    console.log(
      `duckdb run ${run + 1}: read_csv insert ${result.theirs.at(-1)!.toFixed(2)} s, with the lineage columns ${result.fair!.theirs.at(-1)!.toFixed(2)} s; all three left the same table: ${ours.contents}`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

async function main(): Promise<void> {
  buildIfStale();
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-ingest-'));
  try {
    const csv = join(work, 'posts.csv');
    await writePostsCsv(csv, ROWS);
    console.log(`file: ${ROWS.toLocaleString()} rows, ${(statSync(csv).size / 1e6).toFixed(1)} MB; load average before: ${load()}`);
    const results: Result[] = [];
    for (const warehouse of WAREHOUSES) {
      if (warehouse === 'postgres') results.push(await benchPostgresIngest(work, csv));
      else if (warehouse === 'duckdb') results.push(await benchDuckDbIngest(work, csv));
      else throw new Error(`--warehouse: expected postgres, duckdb or both, got "${warehouse}"`);
    }
    console.log(`\n${ROWS.toLocaleString()}-row CSV into ${TABLE}, best of ${RUNS}; load average after: ${load()}`);
    console.log(`${'warehouse'.padEnd(9)} ${'contender'.padEnd(46)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'ratio'.padStart(6)} ${'peak RSS'.padStart(9)}`);
    for (const r of results) {
      const theirs = Math.min(...r.theirs);
      const best = r.ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const row = (name: string, s: number, ratio: string, rss: string) =>
        console.log(`${r.warehouse.padEnd(9)} ${name.padEnd(46)} ${s.toFixed(2).padStart(8)} ${Math.round(ROWS / s).toLocaleString().padStart(10)} ${ratio.padStart(6)} ${rss.padStart(9)}`);
      row(`${r.baseline} (baseline)`, theirs, '1.00x', '');
      const fair = r.fair && Math.min(...r.fair.theirs);
      if (r.fair && fair !== undefined) row(`${r.fair.baseline} (fairer baseline)`, fair, '1.00x', '');
      const ratios = `${(theirs / best.seconds).toFixed(2)}x` + (fair === undefined ? '' : ` / ${(fair / best.seconds).toFixed(2)}x`);
      row('sextant upload path (PUT + job: parse, merge)', best.seconds, ratios, `${Math.max(...r.ours.map((o) => o.rssMb)).toFixed(0)} MB`);
      console.log(
        `${''.padEnd(9)} all runs — sextant: ${r.ours.map((o) => `${o.seconds.toFixed(2)} s/${o.rssMb.toFixed(0)} MB`).join(', ')}; ${r.baseline}: ${r.theirs.map((s) => s.toFixed(2)).join(', ')} s` +
          (r.fair ? `; ${r.fair.baseline}: ${r.fair.theirs.map((s) => s.toFixed(2)).join(', ')} s` : '') +
          (r.warehouse === 'duckdb' ? `; SEXTANT_DUCKDB_MEMORY_LIMIT=${DUCKDB_MEMORY_LIMIT ?? '(unset)'}` : '') +
          `; MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD ?? '(unset)'}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
