/**
 * The JobQueue conformance suite: every adapter passes the same behaviour, the in-process queue over a
 * fresh DuckDB warehouse, the BullMQ queue over the real Redis of the test run with a fresh queue name
 * per test (as BullMQ's own tests do). Waits are for events, never for wall time; the few delays below
 * only order a sentinel job far behind what it checks.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { BullMqJobQueue, QueueUnavailableError } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { JobStore, requestOf } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { UnrecoverableJobError } from '../../src/jobs/port.js';
import type { JobEvents, JobHandler, JobQueue, JobRequest } from '../../src/jobs/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { testRedisUrl } from '../support/env.js';
import { freePort } from '../support/services.js';
import { freshWarehouse } from '../support/warehouses.js';

type Event =
  | { kind: 'active'; id: string; attempt: number; at: number }
  | { kind: 'progress'; id: string; percent: number }
  | { kind: 'completed'; id: string; result: Record<string, unknown> | void }
  | { kind: 'failed'; id: string; error: Error; willRetry: boolean; attempt: number };

/** Records a queue's events and lets a test wait for one. */
class Recorder implements JobEvents {
  readonly events: Event[] = [];
  readonly #waiters: Array<{ match: (e: Event) => boolean; resolve: (e: Event) => void }> = [];

  onActive(id: string, attempt: number): void {
    this.#push({ kind: 'active', id, attempt, at: performance.now() });
  }
  onProgress(id: string, percent: number): void {
    this.#push({ kind: 'progress', id, percent });
  }
  onCompleted(id: string, result: Record<string, unknown> | void): void {
    this.#push({ kind: 'completed', id, result });
  }
  onFailed(id: string, error: Error, willRetry: boolean, attempt: number): void {
    this.#push({ kind: 'failed', id, error, willRetry, attempt });
  }

  of(id: string): Event[] {
    return this.events.filter((e) => e.id === id);
  }
  kinds(id: string): string[] {
    return this.of(id).map((e) => (e.kind === 'failed' ? `failed(${e.attempt}${e.willRetry ? ', retry' : ''})` : e.kind === 'active' ? `active(${e.attempt})` : e.kind));
  }
  waitFor(match: (e: Event) => boolean): Promise<Event> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
  completed(id: string): Promise<Event> {
    return this.waitFor((e) => e.kind === 'completed' && e.id === id);
  }
  finallyFailed(id: string): Promise<Event> {
    return this.waitFor((e) => e.kind === 'failed' && e.id === id && !e.willRetry);
  }
  #push(e: Event): void {
    this.events.push(e);
    for (const w of [...this.#waiters]) {
      if (w.match(e)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }
}

/** A promise resolved from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves once `check` holds, looking again on every event-loop turn. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

/** Waits for the signal, then fails with its reason, as a well-behaved handler does. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

const job = (payload: Record<string, unknown> = {}, more: Partial<JobRequest> = {}): JobRequest => ({ id: randomUUID(), type: 'INGEST_FILE', payload, ...more });

/**
 * Starts test/fixtures/jobs/worker.ts in a child process, waits until it has started the job, and kills
 * it with SIGKILL: a worker dying mid-job with its lock held.
 */
async function killWorkerMidJob(opts: { queueName: string; prefix: string; counter: string; jobId: string }): Promise<void> {
  const script = fileURLToPath(new URL('../fixtures/jobs/worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, SEXTANT_TEST_REDIS_URL: testRedisUrl(), JOBS_QUEUE: opts.queueName, JOBS_PREFIX: opts.prefix, JOBS_COUNTER: opts.counter },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`started ${opts.jobId}`)) resolve();
    });
    child.once('exit', () => reject(new Error(`the worker exited before starting the job: ${out}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

interface Backend {
  /** A new queue on this test's backend: same store, same Redis queue each time. */
  open(): JobQueue;
  /** Where the queue records jobs: always for the in-process queue, on request for BullMQ. */
  store?: JobStore;
  /** BullMQ's queue name. */
  queueName?: string;
  cleanup(): Promise<void>;
}

const ADAPTERS = ['local', 'bullmq'] as const;
type Adapter = (typeof ADAPTERS)[number];

async function openStore(dialect: 'duckdb' | 'postgres'): Promise<{ store: JobStore; warehouse: Warehouse }> {
  const warehouse: Warehouse = await freshWarehouse(dialect);
  const store = new JobStore(warehouse);
  await store.init();
  return { store, warehouse };
}

/**
 * The backend of one test. The in-process queue keeps its jobs in a fresh DuckDB warehouse; BullMQ gets a
 * fresh queue name, and a store on a fresh PostgreSQL database (what a multi-process deployment shares)
 * when the test looks at records.
 */
async function backend(kind: Adapter, options: { store?: boolean } = {}): Promise<Backend> {
  if (kind === 'local') {
    const { store, warehouse } = await openStore('duckdb');
    return { open: () => new LocalJobQueue({ store }), store, cleanup: () => warehouse.close() };
  }
  const queueName = `t-${randomUUID()}`;
  const recorded = options.store ? await openStore('postgres') : undefined;
  return {
    open: () =>
      new BullMqJobQueue({
        connection: testRedisUrl(),
        queueName,
        prefix: 'sxt-test',
        cancelPollMs: 25,
        lockDurationMs: 2_000,
        stalledIntervalMs: 1_000,
        ...(recorded ? { store: recorded.store } : {}),
      }),
    ...(recorded ? { store: recorded.store } : {}),
    queueName,
    cleanup: async () => recorded?.warehouse.close(),
  };
}

describe.each(ADAPTERS)('JobQueue conformance: %s', (kind) => {
  const opened: JobQueue[] = [];
  let b: Backend | undefined;

  async function setup(options: { store?: boolean } = {}): Promise<{ queue: JobQueue; events: Recorder; b: Backend }> {
    b = await backend(kind, options);
    const queue = b.open();
    opened.push(queue);
    return { queue, events: new Recorder(), b };
  }

  /** Run after the queues are closed. */
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close(200)));
    await b?.cleanup();
    b = undefined;
    for (const c of cleanups.splice(0)) await c();
  });

  it('runs an enqueued job and reports it active, then completed with its result', async () => {
    const { queue, events } = await setup();
    const seen: Array<{ payload: unknown; attempt: number }> = [];
    queue.handle('INGEST_FILE', async (ctx) => {
      seen.push({ payload: ctx.payload, attempt: ctx.attempt });
      return { rowsLoaded: 3 };
    });
    await queue.start({ concurrency: 1, events });
    const j = job({ file: 'posts.csv' });
    await queue.enqueue(j);
    const done = await events.completed(j.id);
    expect(done).toMatchObject({ result: { rowsLoaded: 3 } });
    expect(seen).toEqual([{ payload: { file: 'posts.csv' }, attempt: 1 }]);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'completed']);
    await queue.ping();
  });

  it('runs a job enqueued twice with the same id once', async () => {
    const { queue, events } = await setup();
    const runs = new Map<string, number>();
    const handler: JobHandler = async (ctx) => void runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
    queue.handle('INGEST_FILE', handler);
    queue.handle('EXPORT', handler);
    const j = job();
    await queue.enqueue(j);
    await queue.enqueue(j);
    // FIFO with one worker slot: once a job enqueued after both has run, a second copy would have run too.
    const sentinel = job({}, { type: 'EXPORT' });
    await queue.enqueue(sentinel);
    await queue.start({ concurrency: 1, events });
    await events.completed(sentinel.id);
    expect(runs.get(j.id)).toBe(1);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'completed']);
  });

  it('never runs more than `concurrency` jobs at once, and does run that many', async () => {
    const { queue, events } = await setup();
    let running = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    queue.handle('INGEST_FILE', async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((release) => gates.push(release));
      running--;
    });
    await queue.start({ concurrency: 2, events });
    const jobs = Array.from({ length: 5 }, () => job());
    for (const j of jobs) await queue.enqueue(j);
    // Release one job at a time, each time with both slots busy: a third concurrent job would show in `most`.
    for (let released = 0; released < jobs.length; released++) {
      await until(() => gates.length > 0 && (running === 2 || jobs.length - released < 2));
      if (released === 0) expect(running).toBe(2);
      (gates.shift() as () => void)();
    }
    for (const j of jobs) await events.completed(j.id);
    expect(most).toBe(2);
  });

  it('retries a failing job with exponential backoff, then succeeds', async () => {
    const { queue, events } = await setup();
    const attempts: number[] = [];
    queue.handle('INGEST_FILE', async (ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw new Error(`flaky upstream (attempt ${ctx.attempt})`);
      return { ok: true };
    });
    await queue.start({ concurrency: 1, events });
    const backoffMs = 100;
    const j = job({}, { attempts: 3, backoffMs });
    await queue.enqueue(j);
    await events.completed(j.id);
    expect(attempts).toEqual([1, 2, 3]);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'failed(1, retry)', 'active(2)', 'failed(2, retry)', 'active(3)', 'completed']);
    const failures = events.of(j.id).filter((e) => e.kind === 'failed');
    expect((failures[0] as { error: Error }).error.message).toBe('flaky upstream (attempt 1)');
    // A retry never comes before its backoff: 100 ms, then 200 ms (a millisecond of clock rounding allowed).
    const starts = events.of(j.id).flatMap((e) => (e.kind === 'active' ? [e.at] : []));
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(backoffMs - 1);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(2 * backoffMs - 1);
  });

  it('gives up after the last attempt', async () => {
    const { queue, events } = await setup();
    let calls = 0;
    queue.handle('INGEST_FILE', async () => {
      calls++;
      throw new Error('still down');
    });
    await queue.start({ concurrency: 1, events });
    const j = job({}, { attempts: 2, backoffMs: 10 });
    await queue.enqueue(j);
    await events.finallyFailed(j.id);
    expect(calls).toBe(2);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'failed(1, retry)', 'active(2)', 'failed(2)']);
  });

  it.each([
    ['UnrecoverableJobError', () => new UnrecoverableJobError('the file is not a spreadsheet')],
    ['UserError', () => new UserError('UNKNOWN_TARGET', 'no target named "nope"')],
  ])('does not retry a job that throws %s', async (_name, makeError) => {
    const { queue, events } = await setup();
    let calls = 0;
    queue.handle('INGEST_FILE', async () => {
      calls++;
      throw makeError();
    });
    queue.handle('EXPORT', async () => undefined);
    await queue.start({ concurrency: 1, events });
    const j = job({}, { attempts: 3, backoffMs: 1 });
    await queue.enqueue(j);
    const failed = await events.finallyFailed(j.id);
    expect(failed).toMatchObject({ attempt: 1, willRetry: false });
    // A retry would be due 1 ms after the failure; a job due 300 ms after it runs well behind.
    const sentinel = job({}, { type: 'EXPORT' });
    await queue.enqueue(sentinel, { delayMs: 300 });
    await events.completed(sentinel.id);
    expect(calls).toBe(1);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'failed(1)']);
  });

  it('reports progress in order', async () => {
    const { queue, events } = await setup();
    queue.handle('INGEST_FILE', async (ctx) => {
      await ctx.progress(25);
      await ctx.progress(75);
    });
    await queue.start({ concurrency: 1, events });
    const j = job();
    await queue.enqueue(j);
    await events.completed(j.id);
    expect(events.of(j.id).flatMap((e) => (e.kind === 'progress' ? [e.percent] : []))).toEqual([25, 75]);
  });

  it('cancels a queued job: it never runs', async () => {
    const { queue, events } = await setup();
    const ran: string[] = [];
    const blocker = deferred();
    queue.handle('INGEST_FILE', async (ctx) => {
      ran.push(ctx.id);
      if (ctx.payload.block) await blocker.promise;
    });
    await queue.start({ concurrency: 1, events });
    const first = job({ block: true });
    const queued = job();
    await queue.enqueue(first);
    await events.waitFor((e) => e.kind === 'active' && e.id === first.id);
    await queue.enqueue(queued);
    expect(await queue.cancel(queued.id)).toBe(true);
    blocker.resolve();
    await events.completed(first.id);
    const sentinel = job();
    await queue.enqueue(sentinel);
    await events.completed(sentinel.id);
    expect(ran).toEqual([first.id, sentinel.id]);
    expect(await queue.cancel(randomUUID())).toBe(false);
    expect(await queue.cancel(first.id)).toBe(false);
  });

  it('cancels a running job through its signal, without a retry', async () => {
    const { queue, events } = await setup();
    let calls = 0;
    const started = deferred();
    queue.handle('INGEST_FILE', async (ctx) => {
      calls++;
      started.resolve();
      await untilAborted(ctx.signal);
    });
    queue.handle('EXPORT', async () => undefined);
    await queue.start({ concurrency: 1, events });
    const j = job({}, { attempts: 3, backoffMs: 1 });
    await queue.enqueue(j);
    await started.promise;
    expect(await queue.cancel(j.id)).toBe(true);
    const failed = await events.finallyFailed(j.id);
    expect((failed as { error: Error }).error.name).toBe('JobCancelledError');
    const sentinel = job({}, { type: 'EXPORT' });
    await queue.enqueue(sentinel, { delayMs: 300 });
    await events.completed(sentinel.id);
    expect(calls).toBe(1);
    expect(events.kinds(j.id)).toEqual(['active(1)', 'failed(1)']);
  });

  it.each([
    ['an interval', { everyMs: 150 }, 600],
    ['a 6-field cron pattern', { cron: '* * * * * *' }, 2_200],
  ])('fires %s schedule repeatedly until unscheduled', async (_name, timing, twoPeriodsMs) => {
    const { queue, events } = await setup();
    let ticks = 0;
    queue.handle('RUN_SOURCE', async (ctx) => {
      expect(ctx.payload).toEqual({ source: 'facebook_pages' });
      ticks++;
    });
    queue.handle('EXPORT', async () => undefined);
    await queue.start({ concurrency: 1, events });
    await queue.schedule({ id: 'pull-facebook', ...timing, job: () => ({ id: randomUUID(), type: 'RUN_SOURCE', payload: { source: 'facebook_pages' } }) });
    await until(() => ticks >= 2);
    await queue.unschedule('pull-facebook');
    const atUnschedule = ticks;
    // Past two more periods of either schedule: a tick that was already due may still run, no other.
    const sentinel = job({}, { type: 'EXPORT' });
    await queue.enqueue(sentinel, { delayMs: twoPeriodsMs });
    await events.completed(sentinel.id);
    expect(ticks).toBeLessThanOrEqual(atUnschedule + 1);
  });

  it('replaces a schedule registered again under the same id', async () => {
    const { queue, events } = await setup();
    const ticks: number[] = [];
    queue.handle('RUN_SOURCE', async (ctx) => void ticks.push(ctx.payload.version as number));
    await queue.start({ concurrency: 1, events });
    const every = (version: number) => ({ id: 'pull-ga4', everyMs: 100, job: () => ({ id: randomUUID(), type: 'RUN_SOURCE' as const, payload: { version } }) });
    await queue.schedule(every(1));
    await until(() => ticks.includes(1));
    await queue.schedule(every(2));
    await until(() => ticks.filter((v) => v === 2).length >= 3);
    await queue.unschedule('pull-ga4');
    // One tick of the old schedule may have been due already; after the new one fired, only it fires.
    const firstNew = ticks.indexOf(2);
    expect(ticks.slice(firstNew).filter((v) => v === 1).length).toBeLessThanOrEqual(1);
    expect(ticks.slice(firstNew + 2).every((v) => v === 2)).toBe(true);
  });

  it('lists its schedules with their cron or interval, and forgets one unscheduled', async () => {
    const { queue } = await setup();
    const tick = () => ({ id: randomUUID(), type: 'RUN_SOURCE' as const, payload: {} });
    await queue.schedule({ id: 'monthly', cron: '0 5 1 * *', job: tick });
    await queue.schedule({ id: 'often', everyMs: 60_000, job: tick });
    await queue.schedule({ id: 'monthly', cron: '0 6 1 * *', job: tick });
    const listed = async () => (await queue.schedules()).map((s) => ({ id: s.id, at: s.cron ?? s.everyMs })).sort((a, b) => a.id.localeCompare(b.id));
    expect(await listed()).toEqual([
      { id: 'monthly', at: '0 6 1 * *' },
      { id: 'often', at: 60_000 },
    ]);
    await queue.unschedule('monthly');
    expect(await listed()).toEqual([{ id: 'often', at: 60_000 }]);
  });

  it('records each scheduled tick as a job of its own', async () => {
    const { queue, events, b } = await setup({ store: true });
    const store = b.store as JobStore;
    let ticks = 0;
    queue.handle('RUN_SOURCE', async () => {
      ticks++;
      return { rowsLoaded: 7 };
    });
    await queue.start({ concurrency: 1, events });
    await queue.schedule({ id: 'pull-mailchimp', everyMs: 100, job: () => ({ id: randomUUID(), type: 'RUN_SOURCE', payload: { source: 'mailchimp', team: 'email' } }) });
    await events.waitFor((e) => e.kind === 'completed' && events.events.filter((x) => x.kind === 'completed').length >= 2);
    await queue.unschedule('pull-mailchimp');
    const records = (await store.list({ limit: 50, type: 'RUN_SOURCE', teams: ['email'] })).filter((r) => r.status === 'SUCCEEDED');
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    for (const r of records) expect(r).toMatchObject({ source: 'mailchimp', team: 'email', rowsLoaded: 7, payload: { source: 'mailchimp', team: 'email' } });
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it('returns from close even when a handler ignores its signal', async () => {
    const { queue, events } = await setup();
    const started = deferred();
    queue.handle('INGEST_FILE', async () => {
      started.resolve();
      await new Promise(() => undefined);
    });
    await queue.start({ concurrency: 1, events });
    await queue.enqueue(job());
    await started.promise;
    await queue.close(100);
  });

  it('rejects a schedule that is neither a valid cron pattern nor an interval', async () => {
    const { queue } = await setup();
    const tick = () => job();
    await expect(queue.schedule({ id: 's', cron: '61 * * * *', job: tick })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(queue.schedule({ id: 's', cron: '* * * * * * *', job: tick })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(queue.schedule({ id: 's', job: tick })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('waits for a running job on close', async () => {
    const { queue, events } = await setup();
    const release = deferred();
    const started = deferred();
    queue.handle('INGEST_FILE', async () => {
      started.resolve();
      await release.promise;
      return { finished: true };
    });
    await queue.start({ concurrency: 1, events });
    const j = job();
    await queue.enqueue(j);
    await started.promise;
    let closed = false;
    const closing = queue.close(30_000).then(() => void (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    release.resolve();
    await closing;
    expect(events.kinds(j.id)).toEqual(['active(1)', 'completed']);
  });

  it('aborts a running job that outlasts the close timeout', async () => {
    const { queue, events } = await setup();
    let signal: AbortSignal | undefined;
    const started = deferred();
    queue.handle('INGEST_FILE', async (ctx) => {
      signal = ctx.signal;
      started.resolve();
      await untilAborted(ctx.signal);
    });
    await queue.start({ concurrency: 1, events });
    const j = job();
    await queue.enqueue(j);
    await started.promise;
    await queue.close(100);
    expect(signal?.aborted).toBe(true);
    // Interrupted by shutdown, not failed: it is to run again, so nothing final is reported.
    expect(events.kinds(j.id)).toEqual(['active(1)']);
  });

  it('runs a job interrupted by shutdown again on the next start, to completion, exactly once', async () => {
    const { queue, events, b } = await setup({ store: true });
    const store = b.store as JobStore;
    const started = deferred();
    queue.handle('INGEST_FILE', async (ctx) => {
      started.resolve();
      await untilAborted(ctx.signal);
    });
    await queue.start({ concurrency: 1, events });
    const j = job({ file: 'big.csv' });
    const waiting = job({ file: 'next.csv' });
    await queue.enqueue(j);
    await started.promise;
    await queue.enqueue(waiting);
    await queue.close(50);
    expect((await store.get(j.id))?.status).toBe('RUNNING');
    expect((await store.get(waiting.id))?.status).toBe('QUEUED');

    const again = b.open();
    opened.push(again);
    const events2 = new Recorder();
    const runs: Array<[string, number]> = [];
    again.handle('INGEST_FILE', async (ctx) => {
      runs.push([ctx.id, ctx.attempt]);
      return { rowsLoaded: 10 };
    });
    await again.start({ concurrency: 1, events: events2 });
    await events2.completed(j.id);
    await events2.completed(waiting.id);
    // The interrupted attempt is run again as the same attempt: a shutdown is not the job's failure.
    expect(runs.sort()).toEqual([[j.id, 1], [waiting.id, 1]].sort());
    expect(await store.get(j.id)).toMatchObject({ status: 'SUCCEEDED', rowsLoaded: 10, attempts: 1, progress: 100 });
    expect(await store.pending()).toEqual([]);
  });

  it('records every job it runs in the store', async () => {
    const { queue, events, b } = await setup({ store: true });
    const store = b.store as JobStore;
    const blocker = deferred();
    queue.handle('INGEST_FILE', async (ctx) => {
      if (ctx.payload.bad) throw new UserError('ROW_INVALID', 'bad rows', { problems: [{ file: 'a.csv', line: 3, column: 'Date', message: 'expected a date' }] });
      if (ctx.payload.block) await blocker.promise;
      await ctx.progress(50);
      return { rowsRead: 2, rowsLoaded: 2 };
    });
    await queue.start({ concurrency: 1, events });
    const good = job();
    const bad = job({ bad: true });
    const blocking = job({ block: true });
    const cancelled = job();
    await queue.enqueue(good);
    await queue.enqueue(bad);
    await queue.enqueue(blocking);
    await events.completed(good.id);
    await events.finallyFailed(bad.id);
    expect(await store.get(good.id)).toMatchObject({ status: 'SUCCEEDED', rowsRead: 2, rowsLoaded: 2, attempts: 1, progress: 100 });
    expect(await store.get(bad.id)).toMatchObject({ status: 'FAILED', attempts: 1, errors: [{ line: 3, column: 'Date', message: 'a.csv: expected a date' }] });

    await events.waitFor((e) => e.kind === 'active' && e.id === blocking.id);
    expect((await store.get(blocking.id))?.status).toBe('RUNNING');
    await queue.enqueue(cancelled);
    expect(await queue.cancel(cancelled.id)).toBe(true);
    expect((await store.get(cancelled.id))?.status).toBe('CANCELLED');
    blocker.resolve();
    await events.completed(blocking.id);
    expect((await store.get(blocking.id))?.status).toBe('SUCCEEDED');
  });

  it('runs a finished job again once its record is requeued (retryJob)', async () => {
    const { queue, events, b } = await setup({ store: true });
    const store = b.store as JobStore;
    let calls = 0;
    queue.handle('INGEST_FILE', async () => {
      calls++;
      if (calls === 1) throw new UnrecoverableJobError('the target table was locked');
      return { rowsLoaded: 1 };
    });
    await queue.start({ concurrency: 1, events });
    const record = await store.create({ type: 'INGEST_FILE', payload: { key: 'inbox/x.csv' }, team: 'social' });
    await queue.enqueue(requestOf(record));
    await events.finallyFailed(record.id);
    expect((await store.get(record.id))?.status).toBe('FAILED');
    await store.requeue(record.id);
    await queue.enqueue(requestOf(record));
    await events.completed(record.id);
    expect(calls).toBe(2);
    expect(await store.get(record.id)).toMatchObject({ status: 'SUCCEEDED', errors: [], rowsLoaded: 1 });
  });

  if (kind === 'bullmq') {
    it('fails fast instead of hanging when Redis does not answer', async () => {
      const down = new BullMqJobQueue({ connection: `redis://127.0.0.1:${await freePort()}`, queueName: `t-${randomUUID()}`, commandTimeoutMs: 300 });
      opened.push(down);
      await expect(down.ping()).rejects.toMatchObject({ name: 'QueueUnavailableError', operation: 'ping' });
      await expect(down.enqueue(job())).rejects.toMatchObject({ name: 'QueueUnavailableError', operation: 'enqueue' });
      await expect(down.cancel('x')).rejects.toBeInstanceOf(QueueUnavailableError);
    });

    it('keeps working after Redis drops its connections mid-job', async () => {
      const { queue, events, b } = await setup();
      const release = deferred();
      const started = deferred();
      queue.handle('INGEST_FILE', async (ctx) => {
        if (ctx.payload.slow) {
          started.resolve();
          await release.promise;
        }
        return { ok: true };
      });
      await queue.start({ concurrency: 1, events });
      const slow = job({ slow: true });
      await queue.enqueue(slow);
      await started.promise;

      // Every connection of this queue, found by name: ours, and BullMQ's blocking one (`<prefix>:<base64 name>`).
      const ours = (name: string) =>
        [`sextant:${b.queueName}:producer`, `sextant:${b.queueName}:worker`].includes(name) || name.endsWith(`:${Buffer.from(b.queueName ?? '').toString('base64')}`);
      const admin = new Redis(testRedisUrl());
      try {
        const clients = ((await admin.client('LIST')) as string).split('\n').filter((l) => ours(/ name=(\S*)/.exec(l)?.[1] ?? ''));
        expect(clients.length).toBe(3);
        for (const c of clients) await admin.client('KILL', 'ID', /^id=(\d+)/.exec(c)?.[1] ?? '');
      } finally {
        admin.disconnect();
      }
      release.resolve();
      await events.completed(slow.id);
      const after = job();
      await queue.enqueue(after);
      await events.completed(after.id);
      expect(events.kinds(slow.id)).toEqual(['active(1)', 'completed']);
    });

    it('runs a job again when its worker process is killed mid-job, and completes it once', async () => {
      const queueName = `t-${randomUUID()}`;
      const prefix = 'sxt-test';
      const redis = new Redis(testRedisUrl());
      const counter = `${prefix}:${queueName}:test-completions`;
      try {
        const producer = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix });
        opened.push(producer);
        const j = job({ file: 'big.csv' });
        await producer.enqueue(j);
        await killWorkerMidJob({ queueName, prefix, counter, jobId: j.id });

        const events = new Recorder();
        const second = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix, lockDurationMs: 1_000, stalledIntervalMs: 300 });
        opened.push(second);
        const attempts: number[] = [];
        second.handle('INGEST_FILE', async (ctx) => {
          attempts.push(ctx.attempt);
          await redis.incr(counter);
          return { rowsLoaded: 1 };
        });
        await second.start({ concurrency: 1, events });
        await events.completed(j.id);
        // Same attempt again: a stalled job is not a failed attempt (BullMQ keeps attemptsMade).
        expect(attempts).toEqual([1]);
        expect(Number(await redis.get(counter))).toBe(1);
        expect(await redis.get(`${counter}:started`)).toBe('1');
      } finally {
        redis.disconnect();
      }
    });

    it('fails and records a job whose workers keep dying, instead of running it forever', async () => {
      const { store, warehouse } = await openStore('postgres');
      cleanups.push(() => warehouse.close());
      const queueName = `t-${randomUUID()}`;
      const prefix = 'sxt-test';
      const counter = `${prefix}:${queueName}:test-completions`;
      const redis = new Redis(testRedisUrl());
      try {
        const producer = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix, store });
        opened.push(producer);
        const j = job({ file: 'poison.csv' });
        await producer.enqueue(j);
        // Two deaths: the second exceeds maxStalledCount (1).
        await killWorkerMidJob({ queueName, prefix, counter, jobId: j.id });
        await killWorkerMidJob({ queueName, prefix, counter, jobId: j.id });

        const events = new Recorder();
        const last = new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix, store, lockDurationMs: 1_000, stalledIntervalMs: 300 });
        opened.push(last);
        let calls = 0;
        last.handle('INGEST_FILE', async () => void calls++);
        await last.start({ concurrency: 1, events });
        const failed = await events.finallyFailed(j.id);
        expect((failed as { error: Error }).error.message).toMatch(/stalled more than allowable limit/);
        expect(calls).toBe(0);
        expect(await redis.get(`${counter}:started`)).toBe('2');
        expect(await store.get(j.id)).toMatchObject({ status: 'FAILED', errors: [{ message: 'job stalled more than allowable limit' }] });
      } finally {
        redis.disconnect();
      }
    });
  }
});
