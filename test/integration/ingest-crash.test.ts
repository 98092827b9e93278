/**
 * The crash test of the loader ("retrying a job that died half-way leaves the table exactly as one
 * successful load would"): a worker process is killed with SIGKILL in the middle of a 1,000,000-row
 * load, BullMQ on the real Redis gives the job to a second worker once the first one's lock expires,
 * and the table ends with exactly 1,000,000 rows.
 *
 * Real services only: a fresh PostgreSQL database, a folder object store in a temp dir that the worker
 * processes share, a fresh BullMQ queue name, and two worker processes (test/fixtures/ingest/ingest-worker.ts).
 * Every wait is for a condition (bounded so that a hang fails instead of running forever), never for
 * an amount of time that assumes the machine's speed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { loadTargets } from '../../src/ingest/targets.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import { rawObjectKey } from '../../src/storage/keys.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';

const ROWS = 1_000_000;
const TARGET = 'crash_orders';
const TABLE = 'crash.orders';
const TARGET_YAML = `
table: ${TABLE}
key: [id]
columns:
  id:         { type: integer, required: true }
  customer:   { type: string, required: true }
  amount:     { type: decimal }
  order_date: { type: date, required: true, from: "Order Date" }
  paid:       { type: boolean }
`;
const HEADER = 'id,customer,amount,Order Date,paid\n';

/** The values of row `i` (1-based), as the CSV holds them. */
function rowOf(i: number): { id: number; customer: string; cents: number; orderDate: string; paid: boolean } {
  const cents = (i * 37) % 1_000_000;
  const day = new Date(Date.UTC(2026, 0, 1 + (i % 365))).toISOString().slice(0, 10);
  return { id: i, customer: `c${(i * 7919) % 100_003}`, cents, orderDate: day, paid: i % 3 === 0 };
}

/** The CSV, 10,000 lines per chunk: streamed into the store, never held whole in memory. */
async function* ordersCsv(totals: { cents: number; bytes: number }): AsyncGenerator<Buffer> {
  const header = Buffer.from(HEADER);
  totals.bytes += header.length;
  yield header;
  for (let from = 1; from <= ROWS; from += 10_000) {
    let chunk = '';
    for (let i = from; i < from + 10_000 && i <= ROWS; i++) {
      const r = rowOf(i);
      totals.cents += r.cents;
      chunk += `${r.id},${r.customer},${Math.floor(r.cents / 100)}.${String(r.cents % 100).padStart(2, '0')},${r.orderDate},${r.paid}\n`;
    }
    const buf = Buffer.from(chunk);
    totals.bytes += buf.length;
    yield buf;
  }
}

/** Polls `probe` until it answers a value; the limit only turns a hang into a failure naming `what`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A worker process: its output so far, and a wait for a line of it. */
interface WorkerProcess {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  waitFor(line: string, limitMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const WORKER = fileURLToPath(new URL('../fixtures/ingest/ingest-worker.ts', import.meta.url));

function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    out: () => stdout,
    exited,
    async waitFor(line, limitMs) {
      await until(
        `"${line}" from worker ${child.pid}`,
        async () => {
          if (stdout.split('\n').includes(line)) return true;
          if (gone) throw new Error(`worker ${child.pid} exited before printing "${line}"; stdout: ${stdout}\nstderr: ${stderr}`);
          return undefined;
        },
        limitMs,
        50,
      );
    },
  };
}

/** Ends a worker: SIGTERM (a graceful close) when asked, SIGKILL when it does not exit. */
async function stopWorker(w: WorkerProcess, graceful: boolean): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  if (graceful) {
    w.child.kill('SIGTERM');
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 20_000)));
    const how = await Promise.race([w.exited, late]);
    clearTimeout(timer);
    if (how !== 'late') return;
  }
  w.child.kill('SIGKILL');
  await w.exited;
}

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

describe('an ingestion job whose worker is SIGKILLed mid-load (BullMQ, PostgreSQL)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => console.error('cleanup failed', err));
  });

  it(`is run again by another worker and leaves exactly ${ROWS} rows`, { timeout: 360_000 }, async () => {
    const warehouse: Warehouse & { url?: string } = await freshWarehouse('postgres');
    cleanups.push(() => warehouse.close());
    const dir = await mkdtemp(join(tmpdir(), 'sextant-ingest-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const storeDir = join(dir, 'objects');
    const projectDir = join(dir, 'project');
    await mkdir(join(projectDir, 'targets'), { recursive: true });
    await writeFile(join(projectDir, 'targets', `${TARGET}.yml`), TARGET_YAML);

    const store = await openFileObjectStore(storeDir);
    cleanups.push(() => store.close());
    const jobs = new JobStore(warehouse);
    await jobs.init();
    const { targets, problems } = await loadTargets(projectDir);
    expect(problems).toEqual([]);

    const queueName = `crash-${randomUUID()}`;
    const prefix = 'sxt-test';
    const producer = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix, store: jobs });
    cleanups.push(() => producer.close());
    // BullMQ's own record of stalls, read from the start of the queue's event stream ('0'): no event
    // can be missed however late this subscribes.
    const eventsRedis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queueEvents = new QueueEvents(queueName, { connection: eventsRedis, prefix, lastEventId: '0' });
    cleanups.push(async () => {
      await queueEvents.close();
      eventsRedis.disconnect();
    });
    const stalled: string[] = [];
    queueEvents.on('stalled', ({ jobId }) => stalled.push(jobId));
    await queueEvents.waitUntilReady();

    const service = new IngestService({ warehouse, store, jobs, queue: producer, targets, maxUploadBytes: 1024 ** 3, publicBaseUrl: 'http://sextant.test' });

    // The raw file lands in the store first (docs/targets.md), then its ingestion is queued.
    const key = rawObjectKey(TARGET, randomUUID(), 'orders-1m.csv', new Date());
    const totals = { cents: 0, bytes: 0 };
    const stored = await store.put(key, Readable.from(ordersCsv(totals)), { contentType: 'text/csv' });
    expect(stored.size).toBe(totals.bytes);
    const queued = await service.ingestObject({ target: TARGET, key });
    expect(queued).toMatchObject({ type: 'INGEST_FILE', status: 'QUEUED', target: TARGET, attempts: 0, rawObjects: [key] });
    const id = queued.id;

    const workerEnv = {
      SEXTANT_TEST_REDIS_URL: testRedisUrl(),
      CRASH_WAREHOUSE_URL: warehouse.url ?? '',
      CRASH_STORE_DIR: storeDir,
      CRASH_PROJECT_DIR: projectDir,
      CRASH_QUEUE: queueName,
      CRASH_PREFIX: prefix,
    };
    const count = async (): Promise<number> => Number((await warehouse.query(`SELECT count(*)::int AS n FROM ${TABLE}`))[0].n);
    /** Rows the COPY into the staging table of this database has taken so far, or undefined when no COPY runs. */
    const copying = async (): Promise<number | undefined> => {
      const rows = await warehouse.query(`SELECT tuples_processed::bigint AS n FROM pg_stat_progress_copy WHERE datname = current_database()`);
      return rows[0] === undefined ? undefined : Number(rows[0].n);
    };

    // Worker A takes the job; it is killed once the load is demonstrably under way and far from done:
    // the record is RUNNING with a quarter of the file parsed (progress counts bytes; it stops at 99
    // until the merge commits) and PostgreSQL shows the staging COPY taking rows.
    const a = startWorker(workerEnv);
    cleanups.push(() => stopWorker(a, false));
    await a.waitFor(`started ${id} attempt 1`, 120_000);
    const midLoad = await until(
      'worker A to be a quarter of the way through the load',
      async () => {
        const record = await jobs.get(id);
        if (!record || record.status !== 'RUNNING' || record.progress < 25) return undefined;
        const copied = await copying();
        return copied !== undefined && copied > 0 ? { record, copied } : undefined;
      },
      120_000,
    );
    a.child.kill('SIGKILL');
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(midLoad.record.progress).toBeLessThan(100);
    expect(midLoad.copied).toBeLessThan(ROWS);

    // Nothing of the half-done merge is visible: staged and merged in one transaction that never committed.
    expect(await count()).toBe(0);
    // PostgreSQL notices the dead client and rolls its transaction back (the COPY disappears).
    await until('PostgreSQL to drop the dead worker\'s COPY', async () => ((await copying()) === undefined ? true : undefined), 60_000);
    expect(await count()).toBe(0);
    // The record still says what it knew: the attempt is running (no one has noticed the death yet).
    expect(await jobs.get(id)).toMatchObject({ status: 'RUNNING', attempts: 1, rowsLoaded: 0 });

    // Worker B: its stall check finds the job whose lock A can no longer renew and runs it again.
    const b = startWorker(workerEnv);
    cleanups.push(() => stopWorker(b, true));
    const done = await until<JobRecord>(
      'the job to finish in worker B',
      async () => {
        const record = await jobs.get(id);
        return record && FINAL.has(record.status) ? record : undefined;
      },
      180_000,
      250,
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowsRead: ROWS, rowsLoaded: ROWS, rowsRejected: 0, errors: [], progress: 100, rawObjects: [key] });

    // It ran twice: the handler started in A and again in B, after BullMQ reported the job stalled
    // (A's lock expired). A stall is not a failed attempt, so BullMQ re-runs it as the same attempt
    // (attemptsMade unchanged, stack-on-this-machine.md §5) and the record's `attempts` stays 1; the
    // record's startedAt is B's start, later than the one A had written.
    expect(a.out()).toContain(`started ${id} attempt 1\n`);
    expect(b.out()).toContain(`started ${id} attempt 1\n`);
    expect(stalled).toEqual([id]);
    expect(done.attempts).toBe(1);
    expect(done.startedAt! > midLoad.record.startedAt!).toBe(true);

    // Exactly one load's rows: every id once, every row from this run and this raw file, the totals of the generator.
    expect(await count()).toBe(ROWS);
    const [summary] = await warehouse.query(
      `SELECT count(DISTINCT id)::int AS ids, min(id)::int AS lo, max(id)::int AS hi, sum(id)::text AS id_sum, (sum(amount) * 100)::bigint::text AS cents,
              count(*) FILTER (WHERE _run_id = $1 AND _source_object = $2)::int AS lineage
         FROM ${TABLE}`,
      [id, key],
    );
    expect(summary).toEqual({ ids: ROWS, lo: 1, hi: ROWS, id_sum: String((ROWS * (ROWS + 1)) / 2), cents: String(totals.cents), lineage: ROWS });
    const spots = [1, 2, 3, 4_999, 500_000, 777_777, ROWS];
    const rows = await warehouse.query(
      `SELECT id::int AS id, customer, (amount * 100)::int AS cents, order_date::text AS "orderDate", paid FROM ${TABLE} WHERE id IN (${spots.join(', ')}) ORDER BY id`,
    );
    expect(rows).toEqual(spots.map(rowOf));

    // The raw input is kept after the load (docs/targets.md).
    expect(await store.head(key)).toMatchObject({ key, size: totals.bytes });
  });
});
