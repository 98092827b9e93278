/**
 * A 2-year backfill of a facebook_pages source with 20 pages from the local Graph API fake (no
 * throttling), through the whole run — lease, windows, every page written to the object store before it
 * is read, conversion, merges into DuckDB, state — against the floor: fetching the very same pages one
 * after another and discarding them. Prints pages/s and rows/s of both and the ratio. The fake runs in a
 * child process (bench/support/fake-child.ts), so its CPU is not spent in the process measured.
 *
 *   npm run bench:connectors -- --pages 20 --days 730 [--posts] [--in-flight 8]
 *
 * --posts adds post insights (~20k more requests for 730 days); --in-flight sets how many pages' store
 * writes may overlap the next fetches (default: the runner's PAGES_IN_FLIGHT).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timeSpent } from './support/timed.js';
import { ProblemCollector } from '../src/errors.js';
import { CONNECTOR_TYPES } from '../src/ingest/connectors/registry.js';
import { parseSource } from '../src/ingest/connectors/source-file.js';
import { createSourceService } from '../src/ingest/connectors/source-jobs.js';
import { SourceStateStore } from '../src/ingest/connectors/state-store.js';
import { parseTarget } from '../src/ingest/targets.js';
import { JobStore } from '../src/jobs/job-store.js';
import { silentLogger } from '../src/log.js';
import { openFileObjectStore } from '../src/storage/file/file-object-store.js';
import { openDuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { startFakeChild } from './support/fake-child.js';
import { addDays } from '../test/fakes/demo-data.js';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PAGES_IN_FLIGHT } from '../src/ingest/connectors/source-runner.js';

/** CPU seconds (user + system) this process used since `from`. */
const cpuSecondsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

/** CPU seconds the main thread has used so far (Linux: /proc/self/task/<pid>/stat; NaN elsewhere). */
function mainThreadSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this process's main thread and of its other threads (libuv's pool, DuckDB's, V8's GC…). */
function threadCpu(): string {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = tid === String(process.pid) ? 'main thread' : 'other threads (libuv pool, DuckDB, V8)';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    return 'not available';
  }
  return [...byName].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 0.05).map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ');
}

const { values: args } = parseArgs({ options: { pages: { type: 'string', default: '20' }, days: { type: 'string', default: '730' }, posts: { type: 'boolean', default: false }, 'in-flight': { type: 'string', default: String(PAGES_IN_FLIGHT) } } });
const IN_FLIGHT = Number(args['in-flight']);
const PAGES = Number(args.pages);
const DAYS = Number(args.days);
const TODAY = '2026-12-01';
const TO = addDays(TODAY, -1);
const FROM = addDays(TODAY, -DAYS);

const pages = Array.from({ length: PAGES }, (_, i) => ({ id: String(104512345600000 + i), name: `Page ${i + 1}`, username: `page${i + 1}` }));
// The fake runs in a child process: its CPU is spent outside the process measured, for ours and the floor alike.
const fake = await startFakeChild('facebook', { pages, today: TODAY });
const dir = mkdtempSync(join(tmpdir(), 'sextant-bench-connectors-'));
const warehouse = await openDuckDbWarehouse(':memory:', { statementTimeoutMs: 600_000 });
const store = await openFileObjectStore(join(dir, 'objects'));
try {
  const problems = new ProblemCollector();
  const targets = new Map(
    ['social_accounts', 'social_account_daily', 'social_post_daily'].map((n) => [n, parseTarget(n, `targets/${n}.yml`, readFileSync(join('examples/agency/targets', `${n}.yml`), 'utf8'), problems)!]),
  );
  const yaml = `type: facebook_pages
start_date: ${FROM}
base_url: ${fake.baseUrl}
credentials: { access_token: "\${FB_TOKEN}" }
settings:
  page_ids: [${pages.map((p) => `"${p.id}"`).join(', ')}]
streams:
  pages: social_accounts
  page_insights: social_account_daily
${args.posts ? '  post_insights: social_post_daily\n' : ''}`;
  const source = parseSource('bench_facebook', 'sources/bench_facebook.yml', yaml, CONNECTOR_TYPES, targets, problems)!;
  problems.throwIfAny('MODEL_INVALID', 'bench source');
  // Where the run's time goes: the store's writes and the merges, timed as they happen.
  const { spent, timed } = timeSpent(['put', 'flush', 'merge'] as const);

  store.put = timed('put', store.put.bind(store));
  if (store.flush) store.flush = timed('flush', store.flush.bind(store));
  warehouse.merge = timed('merge', warehouse.merge.bind(warehouse));
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const service = createSourceService({
    warehouse,
    store,
    jobs,
    state: new SourceStateStore(warehouse),
    targets,
    sources: new Map([[source.name, source]]),
    types: CONNECTOR_TYPES,
    log: silentLogger,
    env: { FB_TOKEN: fake.token },
    queue: undefined as never,
    now: () => new Date(`${TODAY}T06:00:00Z`),
    pagesInFlight: IN_FLIGHT,
  });

  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`facebook_pages: ${PAGES} pages, ${FROM} … ${TO} (${DAYS} days)${args.posts ? ', with post insights' : ''}; DuckDB in memory, folder object store (pages put unsynced, flushed before each window's commit), ${IN_FLIGHT} page writes in flight`);
  console.log(`load average before: ${load()}`);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadSeconds();
  const fakeCpu0 = fake.cpuSeconds();
  const t0 = performance.now();
  const job = await service.runHere({ name: source.name, from: FROM, to: TO });
  const oursS = (performance.now() - t0) / 1000;
  const oursCpu = cpuSecondsSince(cpu0);
  const oursMain = mainThreadSeconds() - main0;
  const oursFakeCpu = fake.cpuSeconds() - fakeCpu0;
  if (job.status !== 'SUCCEEDED') throw new Error(`the run ${job.status}: ${JSON.stringify(job.errors)}`);
  const served = (await fake.requests()).filter((r) => r.status === 200);
  const rows = job.rowsLoaded;

  // The floor: the same URLs, fetched one after another, bodies read and dropped.
  const urls = served.map((r) => `${fake.url}${r.path}?${r.query}`);
  const cpu1 = process.cpuUsage();
  const main1 = mainThreadSeconds();
  const fakeCpu1 = fake.cpuSeconds();
  const t1 = performance.now();
  let bytes = 0;
  for (const url of urls) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${fake.token}` } });
    bytes += (await res.arrayBuffer()).byteLength;
  }
  const floorS = (performance.now() - t1) / 1000;
  const floorCpu = cpuSecondsSince(cpu1);
  const floorMain = mainThreadSeconds() - main1;
  const floorFakeCpu = fake.cpuSeconds() - fakeCpu1;

  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  console.log(`pages fetched:  ${urls.length} (${(bytes / 1e6).toFixed(1)} MB), rows loaded: ${fmt(rows)}`);
  console.log(`ours (run):     ${oursS.toFixed(2)} s   ${fmt(urls.length / oursS)} pages/s   ${fmt(rows / oursS)} rows/s`);
  console.log(`floor (fetch):  ${floorS.toFixed(2)} s   ${fmt(urls.length / floorS)} pages/s   ${fmt(rows / floorS)} rows/s (the same rows, not loaded)`);
  console.log(`ratio ours/floor (throughput): ${(floorS / oursS).toFixed(2)}×`);
  console.log(`CPU of this process: ours ${oursCpu.toFixed(2)} s (${((oursCpu / urls.length) * 1000).toFixed(2)} ms/page), floor ${floorCpu.toFixed(2)} s (${((floorCpu / urls.length) * 1000).toFixed(2)} ms/page); of the fake's process: ${oursFakeCpu.toFixed(2)} s during ours, ${floorFakeCpu.toFixed(2)} s during the floor`);
  console.log(`CPU of the main thread: ours ${oursMain.toFixed(2)} s (${((oursMain / urls.length) * 1000).toFixed(2)} ms/page), floor ${floorMain.toFixed(2)} s (${((floorMain / urls.length) * 1000).toFixed(2)} ms/page)`);
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  console.log(`CPU of this process by thread, whole bench (Linux): ${threadCpu()}`);
  console.log(`load average after: ${load()}`);
  console.log(`inside the run: object-store writes ${(spent.put / 1000).toFixed(2)} s (overlapping the next fetch), flushes ${(spent.flush / 1000).toFixed(2)} s, merges ${(spent.merge / 1000).toFixed(2)} s`);
} finally {
  await fake.close();
  await warehouse.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
