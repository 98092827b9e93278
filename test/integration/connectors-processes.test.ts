/**
 * Connector runs in real worker processes on PostgreSQL: a worker SIGKILLed mid-backfill leaves state at
 * a committed window and exactly that window's rows, and the re-run completes the backfill exactly; a
 * source on a fast cron runs once per tick with two BullMQ worker processes on one Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { createSourceService } from '../../src/ingest/connectors/source-jobs.js';
import { SourceStateStore } from '../../src/ingest/connectors/state-store.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { silentLogger } from '../../src/log.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';
import { source, target } from './connector-harness.js';

const TARGET_YAML = `
table: shop.events
key: [event_id]
columns:
  event_id: { type: string, required: true, from: id }
  day:      { type: date, required: true }
  amount:   { type: integer }
`;
const EVENTS = target('shop_events', TARGET_YAML);
const sourceYaml = (baseUrl: string, extra: string) => `
type: rest
base_url: ${baseUrl}
${extra}
credentials:
  token: \${SHOP_API_TOKEN}
settings:
  auth: { type: bearer, credential: token }
  max_window_days: 10
  streams:
    events:
      path: /v1/events
      key: [id]
      records: data
      params: { limit: 25 }
      window: { from_param: since, to_param: until }
      paginator: { type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor }
streams:
  events: shop_events
`;

/** Two tsx child processes start in ~10 s on an idle machine and several times that under a full suite. */
const PROCESS_TEST_TIMEOUT_MS = 240_000;

const SCRIPT = fileURLToPath(new URL('../fixtures/connectors/source-worker.ts', import.meta.url));

function startChild(env: Record<string, string>): { child: ChildProcess; lines: string[]; waitFor(pred: (lines: string[]) => boolean, ms?: number): Promise<void>; exited: Promise<NodeJS.Signals | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, signal) => resolve(signal)));
  return {
    child,
    lines,
    exited,
    waitFor: (pred, ms = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out; the child printed: ${lines.join(' | ')}`)), ms);
        const check = () => {
          if (pred(lines)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        void exited.then(() => check());
        check();
      }),
  };
}

describe('connector runs in worker processes (PostgreSQL)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function setup(fakeOptions: Parameters<typeof startRestFake>[0]): Promise<{ db: Warehouse & { url?: string }; fake: RestFake; dir: string }> {
    const db = await freshWarehouse('postgres');
    cleanup.push(() => db.close());
    const fake = await startRestFake(fakeOptions);
    cleanup.push(() => fake.close());
    const dir = await mkdtemp(join(tmpdir(), 'sextant-connectors-proc-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return { db, fake, dir };
  }

  const eventsOf = async (db: Warehouse) => db.query(`SELECT event_id, CAST(day AS VARCHAR) AS day, amount FROM shop.events ORDER BY event_id`);
  const expected = (fake: RestFake, from: string, to: string) =>
    fake.events(from, to).map((e) => ({ event_id: e.id, day: e.day, amount: e.amount })).sort((a, b) => (a.event_id < b.event_id ? -1 : 1));

  it('a worker SIGKILLed mid-backfill leaves state at a committed window with exactly its rows; the re-run completes it exactly', async () => {
    const { db, fake, dir } = await setup({ delayMs: 40 });
    const yaml = sourceYaml(fake.baseUrl, 'start_date: 2026-01-01');
    const proc = startChild({
      CONNECTOR_MODE: 'run',
      CONNECTOR_PG_URL: db.url!,
      CONNECTOR_STORE_DIR: dir,
      CONNECTOR_TARGET_YAML: TARGET_YAML,
      CONNECTOR_SOURCE_YAML: yaml,
      CONNECTOR_FROM: '2026-01-01',
      CONNECTOR_TO: '2026-04-30',
      SHOP_API_TOKEN: fake.token,
    });
    cleanup.push(async () => proc.child.kill('SIGKILL'));
    // Three 10-day windows committed, then the worker dies without warning.
    await proc.waitFor((l) => l.filter((x) => x.startsWith('state ')).length >= 3);
    proc.child.kill('SIGKILL');
    expect(await proc.exited).toBe('SIGKILL');

    const state = new SourceStateStore(db);
    const committed = (await state.get('shop'))?.lastCompleteDay;
    expect(committed).toBeDefined();
    expect(committed! < '2026-04-30').toBe(true);
    // Exactly the committed windows' rows: nothing of a window whose merge did not commit.
    expect(await eventsOf(db)).toEqual(expected(fake, '2026-01-01', committed!));

    const jobs = new JobStore(db);
    const store = await openFileObjectStore(dir);
    const service = createSourceService({
      warehouse: db,
      store,
      jobs,
      state,
      targets: new Map([['shop_events', EVENTS]]),
      sources: new Map([['shop', source('shop', yaml, new Map([['shop_events', EVENTS]]))]]),
      types: CONNECTOR_TYPES,
      log: silentLogger,
      env: { SHOP_API_TOKEN: fake.token },
      queue: undefined as never,
      lockTtlMs: 1500,
      lockPollMs: 100,
    });
    // The killed run's lease expires (1.5 s); the re-run takes it and pulls the whole window again.
    const job = await service.runHere({ name: 'shop', from: '2026-01-01', to: '2026-04-30' });
    expect(job.status).toBe('SUCCEEDED');
    expect(await eventsOf(db)).toEqual(expected(fake, '2026-01-01', '2026-04-30'));
    expect((await state.get('shop'))?.lastCompleteDay).toBe('2026-04-30');
  }, PROCESS_TEST_TIMEOUT_MS);

  it('a source on a fast cron runs exactly once per tick with two worker processes on one Redis', async () => {
    const { db, fake, dir } = await setup({});
    const queueName = `connectors-${randomUUID().slice(0, 8)}`;
    const prefix = `t${randomUUID().slice(0, 8)}`;
    // Every second; each run re-pulls yesterday (lookback 1), so each tick is one request to the fake.
    const yaml = sourceYaml(fake.baseUrl, `schedule: "* * * * * *"\nlookback_days: 1`);
    const env = {
      CONNECTOR_MODE: 'worker',
      CONNECTOR_PG_URL: db.url!,
      CONNECTOR_STORE_DIR: dir,
      CONNECTOR_TARGET_YAML: TARGET_YAML,
      CONNECTOR_SOURCE_YAML: yaml,
      CONNECTOR_REDIS_URL: testRedisUrl(),
      CONNECTOR_QUEUE: queueName,
      CONNECTOR_PREFIX: prefix,
      SHOP_API_TOKEN: fake.token,
    };
    const a = startChild(env);
    const b = startChild(env);
    cleanup.push(async () => a.child.kill('SIGKILL'), async () => b.child.kill('SIGKILL'));
    await a.waitFor((l) => l.includes('ready'));
    await b.waitFor((l) => l.includes('ready'));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    const control = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix });
    cleanup.push(() => control.close());
    await control.unschedule('source-shop');
    const elapsedS = (Date.now() - started) / 1000;
    // Let a tick that was already running finish.
    await new Promise((r) => setTimeout(r, 2500));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);

    const jobs = await new JobStore(db).list({ type: 'RUN_SOURCE', source: 'shop', limit: 100 });
    const succeeded = jobs.filter((j) => j.status === 'SUCCEEDED');
    expect(succeeded.length).toBeGreaterThanOrEqual(Math.floor(elapsedS) - 2);
    expect(jobs.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 3);
    // One run per tick: as many requests for yesterday's window as runs, never two for one tick.
    const pulls = fake.requests.filter((r) => r.path === '/v1/events' && !r.query.get('cursor'));
    expect(pulls.length).toBe(succeeded.length);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
  }, PROCESS_TEST_TIMEOUT_MS);
});
