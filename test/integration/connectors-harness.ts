/**
 * What every connector test needs: a fresh warehouse of a dialect, a folder object store, job records,
 * targets and sources parsed from YAML text, a captured log, a local Slack receiver, and `run()` that
 * creates a RUN_SOURCE record and runs the real handler (lease, windows, pages, merges, state, alerts)
 * with an instant sleep, so throttling waits are recorded instead of slept.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProblemCollector } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { parseSource } from '../../src/ingest/connectors/source-file.js';
import { createSourceService, type SourceService } from '../../src/ingest/connectors/source-jobs.js';
import { SourceStateStore } from '../../src/ingest/connectors/state-store.js';
import type { SourceConfig } from '../../src/ingest/connectors/types.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import type { JobQueue } from '../../src/jobs/port.js';
import type { Logger } from '../../src/log.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse, type TestDialect } from '../support/warehouses.js';

/** A logger that keeps every line as JSON text (to search for secrets). */
export function capturingLogger(lines: string[] = []): Logger & { lines: string[] } {
  const make = (base: Record<string, unknown>): Logger => {
    const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
      lines.push(JSON.stringify({ level, msg, ...base, ...fields }, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v)));
    };
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (f) => make({ ...base, ...f }) };
  };
  return Object.assign(make({}), { lines });
}

/** A local Slack webhook: keeps every body it receives. */
export async function startSlackReceiver(): Promise<{ url: string; messages: Array<{ text: string; blocks?: unknown[] }>; raw: string[]; close(): Promise<void> }> {
  const messages: Array<{ text: string; blocks?: unknown[] }> = [];
  const raw: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      raw.push(body);
      messages.push(JSON.parse(body) as { text: string; blocks?: unknown[] });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T000/B000/secret-hook`, messages, raw, close: () => new Promise((r) => server.close(() => r())) };
}

export function target(name: string, yaml: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

export function source(name: string, yaml: string, targets: ReadonlyMap<string, Target>): SourceConfig {
  const problems = new ProblemCollector();
  const s = parseSource(name, `sources/${name}.yml`, yaml, CONNECTOR_TYPES, targets, problems);
  problems.throwIfAny('MODEL_INVALID', 'test source');
  return s!;
}

/** A queue that only records what it is asked (the tests run the handler themselves). */
const inertQueue: JobQueue = {
  handle: () => undefined,
  start: async () => undefined,
  enqueue: async () => undefined,
  cancel: async () => false,
  schedule: async () => undefined,
  unschedule: async () => undefined,
  ping: async () => undefined,
  close: async () => undefined,
};

export interface Harness {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  state: SourceStateStore;
  log: Logger & { lines: string[] };
  waits: Array<{ stream: string; reason: string; waitMs: number }>;
  service: SourceService;
  /** Creates a RUN_SOURCE record and runs it to the end as attempt `attempt`; answers the record after it (FAILED with the error when it throws). */
  run(name: string, options?: { from?: string; to?: string; attempt?: number }): Promise<{ job: JobRecord; error?: Error }>;
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function openHarness(
  dialect: TestDialect,
  setup: { targets: Target[]; sources: SourceConfig[]; env: NodeJS.ProcessEnv; slackWebhookUrl?: string; now?: () => Date; openDatabase?: (url: string) => Promise<Warehouse> },
): Promise<Harness> {
  const warehouse = await freshWarehouse(dialect);
  const dir = await mkdtemp(join(tmpdir(), 'sextant-connectors-'));
  const store = await openFileObjectStore(dir);
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const state = new SourceStateStore(warehouse);
  const log = capturingLogger();
  const waits: Harness['waits'] = [];
  const targets = new Map(setup.targets.map((t) => [t.name, t]));
  const sources = new Map(setup.sources.map((s) => [s.name, s]));
  const service = createSourceService({
    warehouse,
    store,
    jobs,
    state,
    targets,
    sources,
    types: CONNECTOR_TYPES,
    log,
    env: setup.env,
    queue: inertQueue,
    http: { sleep: async () => undefined, onWait: (w) => waits.push(w) },
    lockTtlMs: 2000,
    lockPollMs: 50,
    ...(setup.now ? { now: setup.now } : {}),
    ...(setup.openDatabase ? { openDatabase: setup.openDatabase } : {}),
    ...(setup.slackWebhookUrl ? { slackWebhookUrl: setup.slackWebhookUrl, publicBaseUrl: 'http://sextant.test:4000' } : {}),
  });
  return {
    warehouse,
    store,
    jobs,
    state,
    log,
    waits,
    service,
    async run(name, options = {}) {
      const record = await service.run({ name, ...options });
      await jobs.markRunning(record.id, options.attempt ?? 1);
      const controller = new AbortController();
      try {
        const result = await service.handle({
          id: record.id,
          type: 'RUN_SOURCE',
          payload: record.payload,
          attempt: options.attempt ?? 1,
          signal: controller.signal,
          progress: (p) => jobs.setProgress(record.id, p),
        });
        await jobs.markSucceeded(record.id, { rowsRead: result.rowsRead, rowsLoaded: result.rowsLoaded, rowsRejected: result.rowsRejected });
        return { job: (await jobs.get(record.id))! };
      } catch (err) {
        await jobs.markFailed(record.id, [{ message: (err as Error).message }], { willRetry: false });
        return { job: (await jobs.get(record.id))!, error: err as Error };
      }
    },
    rows: (sql) => warehouse.query(sql),
    async close() {
      await warehouse.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every key under a prefix of the store. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}
