/**
 * What every connector test needs, in one harness: a fresh warehouse of a dialect, a folder object
 * store, job records, targets (the example project's unless a test brings its own) and sources parsed
 * from YAML text exactly as `sources/<name>.yml` would be, a captured log, and two ways to run:
 *
 * - `run(name)`: a source given at opening, through the source service's RUN_SOURCE handler (lease,
 *   windows, pages, merges, state, health and Slack alerts), answering the job record after it;
 * - `pull(name, yaml, window, env)`: a source given now as YAML, through the runner, answering its result
 *   (and throwing its error).
 *
 * Both wait no real time (throttling waits and backoffs are recorded in `waits` instead of slept) and
 * run on a fixed clock ({@link RUN_AT} unless `now` is given). Readers for tables and raw pages, a local
 * Slack receiver and a capturing logger come with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { parseSource } from '../../src/ingest/connectors/source-file.js';
import { createSourceService, type SourceJobDeps, type SourceService } from '../../src/ingest/connectors/source-jobs.js';
import { runSourceJob, type SourceRunResult } from '../../src/ingest/connectors/source-runner.js';
import { SourceStateStore } from '../../src/ingest/connectors/state-store.js';
import type { SourceConfig } from '../../src/ingest/connectors/types.js';
import { loadTargets, parseTarget, type Target } from '../../src/ingest/targets.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import type { JobQueue } from '../../src/jobs/port.js';
import type { Logger } from '../../src/log.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { SqlValue, Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse, type TestDialect } from '../support/warehouses.js';

/** The runs' clock by default: the day after the demo's last day, so "yesterday" is its last day. */
export const RUN_AT = new Date('2026-12-01T06:00:00Z');
const EXAMPLE = join(import.meta.dirname, '../../examples/agency');

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

/** A target parsed from YAML text as `targets/<name>.yml`. */
export function target(name: string, yaml: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

/** A source parsed from YAML text as `sources/<name>.yml`, against these targets. */
export function source(name: string, yaml: string, targets: ReadonlyMap<string, Target>): SourceConfig {
  const problems = new ProblemCollector();
  const s = parseSource(name, `sources/${name}.yml`, yaml, CONNECTOR_TYPES, targets, problems);
  problems.throwIfAny('MODEL_INVALID', `sources/${name}.yml`);
  return s!;
}

/** Every key under a prefix of the store. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

/** A queue that only records what it is asked (the tests run the handler themselves). */
const inertQueue: JobQueue = {
  handle: () => undefined,
  start: async () => undefined,
  enqueue: async () => undefined,
  cancel: async () => false,
  schedule: async () => undefined,
  unschedule: async () => undefined,
  schedules: async () => [],
  ping: async () => undefined,
  close: async () => undefined,
};

/** What a harness is opened with; everything optional. */
export interface HarnessSetup {
  /** The targets (default: the example project's). */
  targets?: Target[];
  /** Sources that `run` runs (`pull` brings its own). */
  sources?: SourceConfig[];
  /** The runs' environment, read when each run starts (`pull` replaces its contents with its own). */
  env?: NodeJS.ProcessEnv;
  slackWebhookUrl?: string;
  now?: () => Date;
  openDatabase?: (url: string) => Promise<Warehouse>;
  onTablesChanged?: (tables: string[]) => Promise<void> | void;
}

export interface Harness {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  state: SourceStateStore;
  targets: Map<string, Target>;
  log: Logger & { lines: string[] };
  /** Every wait before a retry, with its reason (throttling, 5xx, cut-off body). */
  waits: Array<{ stream: string; reason: string; waitMs: number }>;
  service: SourceService;
  /** Creates a RUN_SOURCE record of a source given at opening and runs it to the end as attempt `attempt`; answers the record after it (FAILED with the error when it throws). */
  run(name: string, options?: { from?: string; to?: string; attempt?: number }): Promise<{ job: JobRecord; error?: Error }>;
  /** Runs the source `name` written as `yaml` once over from…to with `env` as the environment. */
  pull(name: string, yaml: string, window: { from: string; to: string }, env: Record<string, string>): Promise<{ result: SourceRunResult; jobId: string }>;
  /** The error of a `pull` that must fail (a UserError). */
  pullError(name: string, yaml: string, window: { from: string; to: string }, env: Record<string, string>): Promise<UserError>;
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  /** The rows of a target's table, values normalised by column type, as sorted JSON lines. */
  tableLines(targetName: string): Promise<string[]>;
  /** Rows (objects in the target's shape) normalised the same way, as sorted JSON lines. */
  expectedLines(targetName: string, rows: ReadonlyArray<Record<string, SqlValue | undefined>>): string[];
  /** Keys of the raw pages stored for a source. */
  rawKeys(source: string): Promise<string[]>;
  rawText(key: string): Promise<string>;
  close(): Promise<void>;
}

function normalise(type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'date':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10);
    case 'timestamp':
      return v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : new Date(`${String(v).replace(' ', 'T').replace(/(?<!Z|[+-]\d\d:?\d\d)$/, 'Z')}`).toISOString().slice(0, 19).replace('T', ' ');
    case 'integer':
    case 'bigint':
    case 'double':
    case 'decimal':
      return Number(v);
    case 'boolean':
      return v === true || v === 'true' || v === 1;
    default:
      return String(v);
  }
}

/** A fresh harness on `dialect`. */
export async function openHarness(dialect: TestDialect, setup: HarnessSetup = {}): Promise<Harness> {
  let targets: Map<string, Target>;
  if (setup.targets) targets = new Map(setup.targets.map((t) => [t.name, t]));
  else {
    const loaded = await loadTargets(EXAMPLE);
    expect(loaded.problems).toEqual([]);
    targets = loaded.targets;
  }
  const warehouse = await freshWarehouse(dialect);
  const dir = await mkdtemp(join(tmpdir(), 'sextant-connectors-'));
  const store = await openFileObjectStore(dir);
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const state = new SourceStateStore(warehouse);
  const log = capturingLogger();
  const waits: Harness['waits'] = [];
  // `pull` adds its source and swaps the environment's contents; the runner reads both when a run starts,
  // so a test may also change the object it passed as `env` between runs (a credential fixed).
  const sources = new Map((setup.sources ?? []).map((s) => [s.name, s]));
  const env: NodeJS.ProcessEnv = setup.env ?? {};
  const deps: Omit<SourceJobDeps, 'queue'> = {
    warehouse,
    store,
    jobs,
    state,
    targets,
    sources,
    types: CONNECTOR_TYPES,
    log,
    env,
    http: { sleep: async () => undefined, onWait: (w) => waits.push(w) },
    lockTtlMs: 2000,
    lockPollMs: 50,
    now: setup.now ?? (() => RUN_AT),
    ...(setup.openDatabase ? { openDatabase: setup.openDatabase } : {}),
    ...(setup.onTablesChanged ? { onTablesChanged: setup.onTablesChanged } : {}),
    ...(setup.slackWebhookUrl ? { slackWebhookUrl: setup.slackWebhookUrl, publicBaseUrl: 'http://sextant.test:4000' } : {}),
  };
  const service = createSourceService({ ...deps, queue: inertQueue });

  const pull: Harness['pull'] = async (name, yaml, window, runEnv) => {
    sources.set(name, source(name, yaml, targets));
    for (const k of Object.keys(env)) delete env[k];
    Object.assign(env, runEnv);
    const record = await jobs.create({ type: 'RUN_SOURCE', payload: { source: name, ...window }, source: name });
    const result = await runSourceJob(deps, { id: record.id, payload: record.payload, signal: new AbortController().signal, progress: async () => undefined });
    return { result, jobId: record.id };
  };
  const targetOf = (name: string): Target => {
    const t = targets.get(name);
    if (!t) throw new Error(`no target ${name}`);
    return t;
  };
  const line = (t: Target, row: Record<string, unknown>): string => JSON.stringify(Object.fromEntries(t.columns.map((c) => [c.name, normalise(c.type, row[c.name])])));

  return {
    warehouse,
    store,
    jobs,
    state,
    targets,
    log,
    waits,
    service,
    async run(name, options = {}) {
      const record = await service.run({ name, ...options });
      await jobs.markRunning(record.id, options.attempt ?? 1);
      try {
        const result = await service.handle({
          id: record.id,
          type: 'RUN_SOURCE',
          payload: record.payload,
          attempt: options.attempt ?? 1,
          signal: new AbortController().signal,
          progress: (p) => jobs.setProgress(record.id, p),
        });
        await jobs.markSucceeded(record.id, { rowsRead: result.rowsRead, rowsLoaded: result.rowsLoaded, rowsRejected: result.rowsRejected });
        return { job: (await jobs.get(record.id))! };
      } catch (err) {
        await jobs.markFailed(record.id, [{ message: (err as Error).message }], { willRetry: false });
        return { job: (await jobs.get(record.id))!, error: err as Error };
      }
    },
    pull,
    async pullError(name, yaml, window, runEnv) {
      try {
        await pull(name, yaml, window, runEnv);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return err as UserError;
      }
      throw new Error('expected the run to fail');
    },
    rows: (sql) => warehouse.query(sql),
    async tableLines(targetName) {
      const t = targetOf(targetName);
      const rows = await warehouse.query(`SELECT ${t.columns.map((c) => warehouse.dialect.quoteIdent(c.name)).join(', ')} FROM ${warehouse.dialect.quoteTable(t.table)}`);
      return rows.map((r) => line(t, r)).sort();
    },
    expectedLines(targetName, rows) {
      const t = targetOf(targetName);
      return rows.map((r) => line(t, r)).sort();
    },
    rawKeys: (prefix) => keysUnder(store, `raw/${prefix}/`),
    async rawText(key) {
      const chunks: Buffer[] = [];
      for await (const c of await store.get(key)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    async close() {
      await store.close();
      await warehouse.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
