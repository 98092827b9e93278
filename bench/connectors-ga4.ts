/**
 * A two-year backfill of a `google_analytics` source with 20 properties from the GA4 fake (no faults),
 * against the floor: the same requests sent again and their bodies read and discarded. Prints pages/s
 * and rows/s of both and the ratio (the issue asks for ours ≥ 0.5× the floor).
 *
 * Ours is the whole RUN_SOURCE path: windows, offset paging, every page written to the object store
 * before it is parsed, records converted by the targets' rules, one merge per window into DuckDB, the
 * state advanced with it. The fake answers both contenders from the same in-memory index, in a child
 * process (bench/support/fake-child.ts), so its CPU is not spent in the process measured.
 *
 *   npx tsx bench/connectors-ga4.ts [--properties 20] [--demo-rows 2000000] [--page-size 1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timeSpent } from './support/timed.js';
import { GA4_PROPERTIES } from '../src/demo/catalog.js';
import { ProblemCollector } from '../src/errors.js';
import { CONNECTOR_TYPES } from '../src/ingest/connectors/registry.js';
import { parseSource } from '../src/ingest/connectors/source-file.js';
import { runSourceJob } from '../src/ingest/connectors/source-runner.js';
import { SourceStateStore } from '../src/ingest/connectors/state-store.js';
import { loadTargets } from '../src/ingest/targets.js';
import { JobStore } from '../src/jobs/job-store.js';
import { silentLogger } from '../src/log.js';
import { openFileObjectStore } from '../src/storage/file/file-object-store.js';
import { openDuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { startFakeChild } from './support/fake-child.js';

const { values: args } = parseArgs({ options: { properties: { type: 'string', default: '20' }, 'demo-rows': { type: 'string', default: '2000000' }, 'page-size': { type: 'string', default: '1000' } } });
const PROPERTIES = Number(args.properties);
const DEMO_ROWS = Number(args['demo-rows']);
const PAGE_SIZE = Number(args['page-size']);
const FROM = '2024-12-01';
const TO = '2026-11-30';

const ids = Array.from({ length: PROPERTIES }, (_, i) => String(400_000_001 + i));
const propertyData = Object.fromEntries(ids.map((id, i) => [id, GA4_PROPERTIES[i % GA4_PROPERTIES.length].propertyId]));
// The fake runs in a child process (its CPU is not spent in the process measured) and builds its data before it listens.
const ga4 = await startFakeChild('ga4', { propertyData, demo: { rows: DEMO_ROWS } });

const dir = mkdtempSync(join(tmpdir(), 'sextant-bench-connectors-'));
try {
  const warehouse = await openDuckDbWarehouse(join(dir, 'warehouse.duckdb'), { statementTimeoutMs: 600_000, poolSize: 4 });
  const store = await openFileObjectStore(join(dir, 'objects'));
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const { targets } = await loadTargets(join(import.meta.dirname, '../examples/agency'));
  const yaml = `type: google_analytics
base_url: ${ga4.baseUrl}
credentials:
  access_token: \${GA4_TOKEN}
settings:
  property_ids: [${ids.map((i) => `"${i}"`).join(', ')}]
  page_size: ${PAGE_SIZE}
streams:
  traffic: web_ga4_daily
  pages: web_page_daily
`;
  const problems = new ProblemCollector();
  const source = parseSource('bench_ga4', 'sources/bench_ga4.yml', yaml, CONNECTOR_TYPES, targets, problems);
  problems.throwIfAny('CONFIG_INVALID', 'bench source');
  const record = await jobs.create({ type: 'RUN_SOURCE', payload: { source: 'bench_ga4', from: FROM, to: TO }, source: 'bench_ga4' });

  // Where the run's time goes, timed as it happens (calls overlap, so the parts may add up to more than the run).
  const { spent, timed } = timeSpent(['put', 'flush', 'merge', 'jobUpdate'] as const);

  store.put = timed('put', store.put.bind(store));
  if (store.flush) store.flush = timed('flush', store.flush.bind(store));
  warehouse.merge = timed('merge', warehouse.merge.bind(warehouse));
  jobs.update = timed('jobUpdate', jobs.update.bind(jobs));
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  const started = performance.now();
  const result = await runSourceJob(
    { warehouse, store, jobs, state: new SourceStateStore(warehouse), targets, sources: new Map([['bench_ga4', source!]]), types: CONNECTOR_TYPES, log: silentLogger, env: { GA4_TOKEN: ga4.token }, now: () => new Date('2026-12-01T06:00:00Z') },
    { id: record.id, payload: record.payload, signal: new AbortController().signal, progress: async () => undefined },
  );
  const oursSeconds = (performance.now() - started) / 1000;
  const [{ n }] = await warehouse.query('SELECT (SELECT count(*) FROM web.ga4_daily) + (SELECT count(*) FROM web.page_daily) AS n');

  // The floor: the very requests the run sent, again, one after another; bodies read and dropped.
  const sent = (await ga4.requests()).map((r) => ({ path: r.path, body: r.body }));
  const floorStarted = performance.now();
  let bytes = 0;
  for (const r of sent) {
    const res = await fetch(`${ga4.url}${r.path}`, { method: 'POST', headers: { authorization: `Bearer ${ga4.token}`, 'content-type': 'application/json' }, body: r.body });
    bytes += (await res.arrayBuffer()).byteLength;
  }
  const floorSeconds = (performance.now() - floorStarted) / 1000;

  const rows = result.rowsLoaded;
  console.log(`GA4 backfill ${FROM} … ${TO}: ${PROPERTIES} properties, 2 streams, page size ${PAGE_SIZE}, demo rows ${DEMO_ROWS.toLocaleString('en')}`);
  console.log(`  ${result.windows} windows, ${result.pages} pages (${(bytes / 1e6).toFixed(1)} MB), ${rows.toLocaleString('en')} rows loaded, ${Number(n).toLocaleString('en')} rows in the tables`);
  console.log('');
  console.log('  contender         seconds    pages/s     rows/s');
  const line = (name: string, s: number) => console.log(`  ${name.padEnd(16)} ${s.toFixed(2).padStart(8)} ${(result.pages / s).toFixed(1).padStart(10)} ${(rows / s).toFixed(0).padStart(10)}`);
  line('sextant', oursSeconds);
  line('fetch floor', floorSeconds);
  console.log(`\n  sextant / floor (throughput): ${(floorSeconds / oursSeconds).toFixed(2)}×`);
  console.log(`  inside the run: object-store writes ${(spent.put / 1000).toFixed(2)} s, flushes ${(spent.flush / 1000).toFixed(2)} s, merges ${(spent.merge / 1000).toFixed(2)} s, job updates ${(spent.jobUpdate / 1000).toFixed(2)} s`);
  console.log(`  load average before: ${loadBefore}, after: ${load()}`);
  await store.close();
  await warehouse.close();
} finally {
  await ga4.close();
  rmSync(dir, { recursive: true, force: true });
}
