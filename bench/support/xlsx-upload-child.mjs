/**
 * One contender of bench/xlsx-upload.ts, in a process of its own: the upload flow (createUpload → PUT →
 * completeUpload → the INGEST_FILE job), timed from the PUT to the job's end. Plain JavaScript, so that it
 * runs the compiled product (`--base dist`, what `sextant serve` runs) under plain node: tsx's loader
 * alone added ~25 MB of RSS. `--base src` runs the sources (under `node --import tsx`).
 * Prints one JSON line: rows, seconds, peak RSS, CPU seconds, idle RSS and sampled memory peaks.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', default: 'dist' },
    name: { type: 'string' },
    file: { type: 'string' },
    work: { type: 'string' },
    url: { type: 'string' },
    target: { type: 'string' },
    timeline: { type: 'boolean', default: false },
  },
});
const root = new URL(args.base === 'src' ? '../../src/' : '../../dist/src/', import.meta.url);
const load = (path) => import(new URL(path, root).href);

const [{ ProblemCollector }, { IngestService }, { parseTarget }, { JobStore }, { LocalJobQueue }, { openFileObjectStore }, { openDuckDbWarehouse }, { openPostgresWarehouse }] = await Promise.all([
  load('errors.js'),
  load('ingest/ingest-service.js'),
  load('ingest/targets.js'),
  load('jobs/job-store.js'),
  load('jobs/local/local-job-queue.js'),
  load('storage/file/file-object-store.js'),
  load('warehouse/duckdb/duckdb-warehouse.js'),
  load('warehouse/postgres/postgres-warehouse.js'),
]);

const problems = new ProblemCollector();
const target = parseTarget('bench_posts', 'targets/bench_posts.yml', args.target, problems);
problems.throwIfAny('TARGET_INVALID', 'bench target');
const limit = process.env.SEXTANT_DUCKDB_MEMORY_LIMIT;
const warehouse = args.url
  ? await openPostgresWarehouse(args.url, { statementTimeoutMs: 0 })
  : await openDuckDbWarehouse(join(args.work, `${args.name}.duckdb`), { statementTimeoutMs: 0, ...(limit ? { memoryLimit: limit } : {}) });
const store = await openFileObjectStore(join(args.work, `${args.name}-objects`));
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
const mb = (n) => n / 2 ** 20;
const peak = { heapMb: 0, externalMb: 0, rssMb: 0, nativeMb: 0 };
const sample = setInterval(() => {
  const m = process.memoryUsage();
  peak.heapMb = Math.max(peak.heapMb, mb(m.heapUsed));
  peak.externalMb = Math.max(peak.externalMb, mb(m.external));
  peak.rssMb = Math.max(peak.rssMb, mb(m.rss));
  peak.nativeMb = Math.max(peak.nativeMb, mb(m.rss - m.heapTotal - m.external));
}, 250);
let progress = 0;
const idleRssMb = mb(process.memoryUsage().rss);
const started = performance.now();
const timeline = args.timeline
  ? setInterval(() => {
      const m = process.memoryUsage();
      const f = (n) => mb(n).toFixed(0).padStart(4);
      process.stderr.write(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  rss ${f(m.rss)}  heap ${f(m.heapUsed)}/${f(m.heapTotal)}  external ${f(m.external)}  progress ${progress}\n`);
    }, 1000)
  : undefined;
const ticket = await service.createUpload({ target: target.name, filename: args.file.split('/').pop() });
const url = new URL(ticket.uploadUrl);
await service.receiveUpload({ id: ticket.id, sig: url.searchParams.get('sig'), exp: url.searchParams.get('exp'), body: createReadStream(args.file) });
const job = await service.completeUpload(ticket.id);
let record = await jobs.get(job.id);
while (record && (record.status === 'QUEUED' || record.status === 'RUNNING')) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  record = await jobs.get(job.id);
  progress = record?.progress ?? progress;
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sample);
clearInterval(timeline);
const [count] = await warehouse.query('SELECT count(*) AS n FROM social.bench_posts');
await queue.close(1000);
await store.close();
await warehouse.close();
if (record?.status !== 'SUCCEEDED') throw new Error(`the ${args.name} job ended ${record?.status}: ${JSON.stringify(record?.errors.slice(0, 3))}`);
const usage = process.resourceUsage();
process.stdout.write(JSON.stringify({ rows: Number(count.n), seconds, maxRssMb: usage.maxRSS / 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, idleRssMb, peak }));
