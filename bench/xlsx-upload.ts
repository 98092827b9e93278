/**
 * A 1M-row XLSX upload against the same rows as CSV, through the same upload path (createUpload → PUT
 * → completeUpload → the INGEST_FILE job: raw file kept, parsed, converted, staged and merged) into the
 * same target. Each contender runs in a process of its own (bench/support/xlsx-upload-child.mjs), so that
 * its peak RSS is its own, on the compiled product under plain node as `sextant serve` runs it (dist/,
 * rebuilt when older than src/; `--base src` runs the sources under tsx, which adds ~25 MB of RSS);
 * prints rows/s, CPU seconds, peak RSS, the RSS before the upload, sampled V8 heap / external / native
 * peaks, the XLSX/CSV ratio and the load average. The workbook comes from exceljs's streaming writer (inline
 * strings, a date format on the date column), as an export would make it.
 *
 * The warehouse is PostgreSQL by default (SEXTANT_BENCH_PG_URL, or a throw-away server), a database per
 * contender: the process then holds only what the upload path holds. `--warehouse duckdb` runs on an
 * embedded DuckDB file instead, whose staging and merge live in the process and dominate its RSS.
 *
 *   npm run bench:xlsx-upload -- --rows 1000000 [--warehouse duckdb] [--only xlsx] [--files /tmp/xlsx-files] [--timeline] [--base src]
 *   SEXTANT_DUCKDB_MEMORY_LIMIT=64MB npm run bench:xlsx-upload -- --rows 1000000 --warehouse duckdb   # unset: the product's default (128MB)
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { openPostgresWarehouse } from '../src/warehouse/postgres/postgres-warehouse.js';
import { buildIfStale } from './support/build.js';
import { benchPostgres } from './support/postgres.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    warehouse: { type: 'string', default: 'postgres' },
    /** The product the contenders run: `dist` (compiled, as `sextant serve` runs; built when older than src/) or `src` (under tsx). */
    base: { type: 'string', default: 'dist' },
    /** Runs only these contenders (csv,xlsx). */
    only: { type: 'string', default: 'csv,xlsx' },
    /** Keeps the generated files in this folder and reuses them on the next run. */
    files: { type: 'string' },
    /** Prints RSS, V8 heap and external memory every second on stderr, with the job's progress. */
    timeline: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = join(ROOT, 'bench', 'support', 'xlsx-upload-child.mjs');

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

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-xlsx-'));
  const files = args.files ?? work;
  mkdirSync(files, { recursive: true });
  const base = args.base;
  if (base === 'dist') buildIfStale();
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
    console.log(`warehouse: ${args.warehouse}; product: ${base === 'dist' ? 'compiled (dist/), plain node' : 'sources under tsx'}`);
    const run = async (name: string, file: string, url?: string) => {
      t = performance.now();
      const childArgs = ['--base', base, '--name', name, '--file', file, '--work', work, '--target', TARGET, ...(url ? ['--url', url] : []), ...(args.timeline ? ['--timeline'] : [])];
      const loader = base === 'src' ? ['--import', 'tsx'] : [];
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [...loader, CHILD, ...childArgs], {
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

await main();
