/**
 * A 1M-row XLSX upload against the same rows as CSV, through the same upload path (createUpload → PUT
 * → completeUpload → the INGEST_FILE job: raw file kept, parsed, converted, staged and merged) into the
 * same target. Each contender runs in a process of its own, so that its peak RSS is its own; prints
 * rows/s, peak RSS and the XLSX/CSV ratio. The workbook comes from exceljs's streaming writer (inline
 * strings, a date format on the date column), as an export would make it.
 *
 * The warehouse is PostgreSQL by default (SEXTANT_BENCH_PG_URL, or a throw-away server), a database per
 * contender: the process then holds only what the upload path holds. `--warehouse duckdb` runs on an
 * embedded DuckDB file instead, whose staging and merge live in the process and dominate its RSS.
 *
 *   npm run bench:xlsx-upload -- --rows 1000000 [--warehouse duckdb] [--only xlsx] [--files /tmp/xlsx-files]
 *   SEXTANT_DUCKDB_MEMORY_LIMIT=64MB npm run bench:xlsx-upload -- --rows 1000000 --warehouse duckdb   # unset: the product's default (128MB)
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { ProblemCollector } from '../src/errors.js';
import { IngestService } from '../src/ingest/ingest-service.js';
import { parseTarget } from '../src/ingest/targets.js';
import { JobStore } from '../src/jobs/job-store.js';
import { LocalJobQueue } from '../src/jobs/local/local-job-queue.js';
import { openFileObjectStore } from '../src/storage/file/file-object-store.js';
import { openDuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { openPostgresWarehouse } from '../src/warehouse/postgres/postgres-warehouse.js';
import { benchPostgres } from './support/postgres.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    warehouse: { type: 'string', default: 'postgres' },
    child: { type: 'string' },
    file: { type: 'string' },
    work: { type: 'string' },
    url: { type: 'string' },
    /** Runs only these contenders (csv,xlsx). */
    only: { type: 'string', default: 'csv,xlsx' },
    /** Keeps the generated files in this folder and reuses them on the next run. */
    files: { type: 'string' },
    /** Prints RSS, V8 heap and external memory every second on stderr, with the job's progress. */
    timeline: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const PLATFORMS = ['facebook', 'instagram', 'x'];
const HEADER = ['platform', 'Post ID', 'Date', 'impressions', 'likes'];

function row(i: number): [string, string, Date, number, number] {
  return [PLATFORMS[i % 3], `p${i}`, new Date(Date.UTC(2025, 0, 1) + (i % 700) * 86_400_000), (i * 7919) % 100000, (i * 31) % 5000];
}

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  let buf = `${HEADER.join(',')}\n`;
  for (let i = 0; i < ROWS; i++) {
    const [p, id, d, imp, likes] = row(i);
    buf += `${p},${id},${d.toISOString().slice(0, 10)},${imp},${likes}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

async function writeXlsx(path: string): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: true });
  const ws = wb.addWorksheet('Posts');
  ws.addRow(HEADER).commit();
  for (let i = 0; i < ROWS; i++) {
    const r = ws.addRow(row(i));
    r.getCell(3).numFmt = 'yyyy-mm-dd';
    r.commit();
    // The writer queues rows without back-pressure; yielding lets its file stream drain.
    if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await wb.commit();
}

const TARGET = `
table: social.bench_posts
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  impressions: { type: integer }
  likes:       { type: integer }
`;

/** One contender, in this (child) process: the upload flow, timed from the PUT to the job's end. */
async function child(file: string, work: string): Promise<void> {
  const problems = new ProblemCollector();
  const target = parseTarget('bench_posts', 'targets/bench_posts.yml', TARGET, problems)!;
  problems.throwIfAny('TARGET_INVALID', 'bench target');
  const warehouse = args.url
    ? await openPostgresWarehouse(args.url, { statementTimeoutMs: 0 })
    : await openDuckDbWarehouse(join(work, `${args.child}.duckdb`), { statementTimeoutMs: 0, ...(process.env.SEXTANT_DUCKDB_MEMORY_LIMIT ? { memoryLimit: process.env.SEXTANT_DUCKDB_MEMORY_LIMIT } : {}) });
  const store = await openFileObjectStore(join(work, `${args.child}-objects`));
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const queue = new LocalJobQueue({ store: jobs });
  const service = new IngestService({
    warehouse,
    store,
    jobs,
    queue,
    targets: new Map([[target.name, target]]),
    maxUploadBytes: 4 * 1024 ** 3,
    signingSecret: 'bench',
    publicBaseUrl: 'http://bench.test/',
  });
  queue.handle('INGEST_FILE', service.handleIngestJob);
  await queue.start({ concurrency: 1 });
  // Where the memory is: V8's heap and `external` (Buffers) sampled against RSS; the rest is native (DuckDB, zlib, malloc).
  const peak = { heapMb: 0, externalMb: 0, rssMb: 0, nativeMb: 0 };
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    const mb = (n: number) => n / 2 ** 20;
    peak.heapMb = Math.max(peak.heapMb, mb(m.heapUsed));
    peak.externalMb = Math.max(peak.externalMb, mb(m.external + m.arrayBuffers));
    peak.rssMb = Math.max(peak.rssMb, mb(m.rss));
    peak.nativeMb = Math.max(peak.nativeMb, mb(m.rss - m.heapTotal - m.external));
  }, 250);
  let progress = 0;
  const timeline = args.timeline
    ? setInterval(() => {
        const m = process.memoryUsage();
        const mb = (n: number) => (n / 2 ** 20).toFixed(0).padStart(4);
        process.stderr.write(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  rss ${mb(m.rss)}  heap ${mb(m.heapUsed)}/${mb(m.heapTotal)}  external ${mb(m.external)}  progress ${progress}\n`);
      }, 1000)
    : undefined;
  const idleRssMb = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  const ticket = await service.createUpload({ target: target.name, filename: file.split('/').pop()! });
  const url = new URL(ticket.uploadUrl);
  await service.receiveUpload({ id: ticket.id, sig: url.searchParams.get('sig')!, exp: url.searchParams.get('exp')!, body: createReadStream(file) });
  const job = await service.completeUpload(ticket.id);
  let record = await jobs.get(job.id);
  while (record && (record.status === 'QUEUED' || record.status === 'RUNNING')) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    record = await jobs.get(job.id);
    progress = record?.progress ?? progress;
  }
  clearInterval(timeline);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sample);
  const [count] = await warehouse.query('SELECT count(*) AS n FROM social.bench_posts');
  await queue.close(1000);
  await store.close();
  await warehouse.close();
  if (record?.status !== 'SUCCEEDED') throw new Error(`the ${args.child} job ended ${record?.status}: ${JSON.stringify(record?.errors.slice(0, 3))}`);
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ rows: Number(count.n), seconds, maxRssMb: usage.maxRSS / 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, idleRssMb, peak }));
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-xlsx-'));
  const files = args.files ?? work;
  mkdirSync(files, { recursive: true });
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  let pgs: Array<{ url: string; stop: () => Promise<void> }> | undefined;
  if (args.warehouse === 'postgres') {
    const first = await benchPostgres('sextant_bench_xlsx_csv');
    // The second database on the same server (benchPostgres starts one only without a URL).
    process.env.SEXTANT_BENCH_PG_URL ??= first.url;
    pgs = [first, await benchPostgres('sextant_bench_xlsx_xlsx')];
  }
  try {
    if (pgs) for (const { url } of pgs) await (async () => {
      const wh = await openPostgresWarehouse(url, { statementTimeoutMs: 0 });
      await wh.execute('DROP TABLE IF EXISTS social.bench_posts');
      await wh.close();
    })();
    const csv = join(files, `posts-${ROWS}.csv`);
    const xlsx = join(files, `posts-${ROWS}.xlsx`);
    let t = performance.now();
    if (!existsSync(csv)) await writeCsv(csv);
    if (!existsSync(xlsx)) await writeXlsx(xlsx);
    console.log(`files: ${ROWS.toLocaleString()} rows; CSV ${(statSync(csv).size / 1e6).toFixed(1)} MB, XLSX ${(statSync(xlsx).size / 1e6).toFixed(1)} MB (written in ${((performance.now() - t) / 1000).toFixed(0)} s)`);
    console.log(`warehouse: ${args.warehouse}`);
    const run = async (name: string, file: string, url?: string) => {
      t = performance.now();
      const childArgs = ['--child', name, '--file', file, '--work', work, '--rows', String(ROWS), ...(url ? ['--url', url] : [])];
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [...process.execArgv, process.argv[1], ...childArgs, ...(args.timeline ? ['--timeline'] : [])], {
        maxBuffer: 1 << 24,
      });
      if (args.timeline) process.stderr.write(`${name}:\n${stderr}`);
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as { rows: number; seconds: number; maxRssMb: number; cpuSeconds: number; idleRssMb: number; peak: Record<string, number> };
      if (result.rows !== ROWS) throw new Error(`${name}: the table has ${result.rows} rows, expected ${ROWS}`);
      return { name, ...result, rowsPerSecond: result.rows / result.seconds };
    };
    const only = new Set(args.only.split(','));
    const csvResult = only.has('csv') ? await run('csv', csv, pgs?.[0].url) : undefined;
    const xlsxResult = only.has('xlsx') ? await run('xlsx', xlsx, pgs?.[1].url) : undefined;
    console.log('\ncontender   rows        seconds   rows/s     CPU s   peak RSS   idle RSS   sampled peaks: heap / external / native');
    for (const r of [csvResult, xlsxResult]) {
      if (!r) continue;
      const p = r.peak;
      console.log(
        `${r.name.padEnd(10)}  ${r.rows.toLocaleString().padEnd(10)}  ${r.seconds.toFixed(1).padStart(7)}   ${Math.round(r.rowsPerSecond).toLocaleString().padStart(8)}   ${r.cpuSeconds.toFixed(1).padStart(5)}   ${r.maxRssMb.toFixed(0).padStart(5)} MB   ${r.idleRssMb.toFixed(0).padStart(5)} MB   ${p.heapMb.toFixed(0)} / ${p.externalMb.toFixed(0)} / ${p.nativeMb.toFixed(0)} MB`,
      );
    }
    if (csvResult && xlsxResult) console.log(`\nXLSX / CSV rows/s: ${(xlsxResult.rowsPerSecond / csvResult.rowsPerSecond).toFixed(2)}×`);
    if (xlsxResult) console.log(`XLSX peak RSS ${xlsxResult.maxRssMb.toFixed(0)} MB (target: under 300 MB)`);
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await pgs?.[0].stop();
  }
}

if (args.child) await child(args.file!, args.work!);
else await main();
