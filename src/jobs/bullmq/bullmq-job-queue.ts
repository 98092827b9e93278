/**
 * The job queue on Redis through BullMQ, for deployments with any number of worker processes
 * (SEXTANT_REDIS_URL set). The only module that imports bullmq.
 *
 * Facts this relies on (research/reliability-anchors.md §2, stack-on-this-machine.md §5):
 * - bullmq 6 loads ioredis only through `require`, which its ESM build lacks, so we hand it our own
 *   clients; workers need `maxRetriesPerRequest: null` or a Redis blip fails their blocking calls.
 * - A custom job id makes a second `add` of a pending job a no-op: the JobRequest id is that id.
 * - A worker that dies holding a job loses its lock after `lockDuration`; another worker's stall check
 *   (every `stalledInterval`) puts the job back and it runs again from the start, same attempt.
 * - Repeatable jobs are `upsertJobScheduler`; `add(…, { repeat })` is silently ignored in bullmq 6.
 * - `worker.close()` waits for active jobs with no timeout of its own.
 * - Cancelling a running job in another process has no BullMQ primitive: a flag key per job, which
 *   every worker polls for the jobs it runs, aborts the handler's signal.
 */
import { Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { withLogContext, type Logger } from '../../log.js';
import { combineEvents } from '../combine-events.js';
import { isOpenStatus, recordingEvents } from '../job-store.js';
import type { JobStore } from '../job-store.js';
import { assertValidSchedule, SCHEDULE_TIME_ZONE } from '../next-run-at.js';
import { JOB_TYPES, JobCancelledError, UnrecoverableJobError } from '../port.js';
import type { JobContext, JobEvents, JobHandler, JobQueue, JobRequest, JobType, QueueCounts, Schedule, ScheduleInfo } from '../port.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, isUnrecoverable, toError } from '../retry-policy.js';

export interface BullMqJobQueueOptions {
  /** `redis://…` or `rediss://…`. */
  connection: string;
  /** Default `sextant`. */
  queueName?: string;
  /** Redis key prefix (BullMQ's default is `bull`). */
  prefix?: string;
  /** How long a worker's lock on a job lasts without renewal (BullMQ default 30 s). */
  lockDurationMs?: number;
  /** How often a worker looks for jobs whose lock expired (BullMQ default 30 s). */
  stalledIntervalMs?: number;
  /** How often a worker checks whether one of its jobs was cancelled (default 500 ms). */
  cancelPollMs?: number;
  /** How long enqueue, cancel, schedule and ping wait for Redis before failing (default 10 s). */
  commandTimeoutMs?: number;
  /** When set, the queue records jobs there (as the in-process queue always does). */
  store?: JobStore;
  logger?: Logger;
}

interface Active {
  controller: AbortController;
  cancelled: boolean;
  /** Aborted by `close()`: put back to wait, not failed. */
  interrupted: boolean;
}

/** A cancelled flag outlives any job run by far; it only needs to outlast the job it stops. */
const CANCEL_FLAG_TTL_S = 24 * 60 * 60;
const REMOVE_ON_FAIL = { age: 24 * 60 * 60 };

/** Redis did not answer a queue operation: the job was (probably) not enqueued, cancelled or scheduled. */
export class QueueUnavailableError extends Error {
  readonly operation: string;
  constructor(operation: string, reason: string, cause?: unknown) {
    super(`the job queue (Redis) is unavailable: ${operation} failed: ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'QueueUnavailableError';
    this.operation = operation;
  }
}

/** The BullMQ JobQueue; see the module comment. */
export class BullMqJobQueue implements JobQueue {
  readonly #opts: BullMqJobQueueOptions;
  readonly #queueName: string;
  readonly #prefix: string;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #handlers = new Map<JobType, JobHandler>();
  readonly #active = new Map<string, Active>();
  readonly #idleWaiters: Array<() => void> = [];
  #worker: Worker | undefined;
  #workerRedis: Redis | undefined;
  #events: Required<JobEvents>;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: BullMqJobQueueOptions) {
    this.#opts = options;
    this.#queueName = options.queueName ?? 'sextant';
    this.#prefix = options.prefix ?? 'bull';
    // The producer fails a command after one retry instead of queueing it forever: an API request
    // that enqueues while Redis is down should answer with an error, not hang (BullMQ's production notes).
    this.#redis = new Redis(options.connection, { maxRetriesPerRequest: 1, connectionName: `sextant:${this.#queueName}:producer` });
    this.#redis.on('error', (err) => options.logger?.warn('redis connection error (queue)', { err }));
    this.#queue = new Queue(this.#queueName, { connection: this.#redis, prefix: this.#prefix });
    this.#queue.on('error', (err) => options.logger?.error('bullmq queue error', { err }));
    this.#events = combineEvents([options.store && recordingEvents(options.store)], options.logger);
  }

  handle(type: JobType, handler: JobHandler): void {
    this.#handlers.set(type, handler);
  }

  async start(options: { concurrency: number; events?: JobEvents }): Promise<void> {
    if (this.#closed) throw new Error('this job queue was closed; open a new one');
    if (this.#worker) throw new Error('this job queue already started its worker');
    this.#events = combineEvents([this.#opts.store && recordingEvents(this.#opts.store), options.events], this.#opts.logger);
    this.#workerRedis = new Redis(this.#opts.connection, { maxRetriesPerRequest: null, connectionName: `sextant:${this.#queueName}:worker` });
    this.#workerRedis.on('error', (err) => this.#opts.logger?.warn('redis connection error (worker)', { err }));
    this.#worker = new Worker(this.#queueName, (job, token, signal) => this.#process(job, token, signal), {
      connection: this.#workerRedis,
      prefix: this.#prefix,
      concurrency: options.concurrency,
      ...(this.#opts.lockDurationMs !== undefined ? { lockDuration: this.#opts.lockDurationMs } : {}),
      ...(this.#opts.stalledIntervalMs !== undefined ? { stalledInterval: this.#opts.stalledIntervalMs } : {}),
      maxStalledCount: 1,
    });
    this.#worker.on('error', (err) => this.#opts.logger?.error('bullmq worker error', { err }));
    // A job whose workers died more often than `maxStalledCount` is failed by the next worker that takes
    // it, without calling our processor ("deferred failure"): the only place to report it.
    this.#worker.on('failed', (job, err) => {
      if (job?.id && job.deferredFailure) void this.#events.onFailed(job.id, err, false, job.attemptsMade + 1);
    });
    this.#poll = setInterval(() => void this.#pollCancellations(), this.#opts.cancelPollMs ?? 500);
    this.#poll.unref();
    await this.#worker.waitUntilReady();
  }

  async enqueue(job: JobRequest, options: { delayMs?: number } = {}): Promise<void> {
    // BullMQ forbids ':' in custom ids (it separates key parts) and takes all-digit ids for its own counters.
    if (job.id.includes(':') || /^\d+$/.test(job.id)) throw new Error(`job id "${job.id}" cannot be a BullMQ job id (no ":" and not only digits)`);
    if (this.#opts.store) {
      // As the in-process queue: the record exists from enqueue on, and a finished record is not run again
      // (`store.requeue(id)` first, as retryJob does).
      const record = await this.#opts.store.ensure(job);
      if (!isOpenStatus(record.status)) return;
    }
    await this.#redisCall('enqueue', async () => {
      const existing = await this.#queue.getJob(job.id);
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
        // A finished job kept in Redis would swallow the new add: running a job again (retryJob) replaces it.
        await existing.remove();
      }
      await this.#redis.del(this.#cancelKey(job.id));
      await this.#queue.add(job.type, job.payload, {
        jobId: job.id,
        ...(options.delayMs && options.delayMs > 0 ? { delay: options.delayMs } : {}),
        ...jobOptions(job),
      });
    });
  }

  async cancel(id: string): Promise<boolean> {
    const found = await this.#redisCall('cancel', async () => {
      const job = await this.#queue.getJob(id);
      if (!job) return false;
      const state = await job.getState();
      if (state === 'completed' || state === 'failed' || state === 'unknown') return false;
      // The flag first: if the job becomes active before the removal below, its worker still stops it.
      await this.#redis.set(this.#cancelKey(id), '1', 'EX', CANCEL_FLAG_TTL_S);
      if (state !== 'active') {
        try {
          await job.remove();
          await this.#redis.del(this.#cancelKey(id));
        } catch {
          // It became active (locked) meanwhile: the flag stops it.
        }
      }
      return true;
    });
    if (found && this.#opts.store) await this.#opts.store.markCancelled(id);
    return found;
  }

  async schedule(schedule: Schedule): Promise<void> {
    assertValidSchedule(schedule);
    // BullMQ stores one job template per scheduler and names each tick's job itself
    // (`repeat:<scheduler>:<time>`), so `job()` is read once here and its id is not used.
    const template = schedule.job();
    await this.#redisCall('schedule', () =>
      this.#queue.upsertJobScheduler(
        schedule.id,
        schedule.cron !== undefined ? { pattern: schedule.cron, tz: SCHEDULE_TIME_ZONE } : { every: schedule.everyMs as number },
        { name: template.type, data: template.payload, opts: jobOptions(template) },
      ),
    );
  }

  async unschedule(id: string): Promise<void> {
    await this.#redisCall('unschedule', () => this.#queue.removeJobScheduler(id));
  }

  /** Every job scheduler in Redis, whichever process registered it (they outlive the process). */
  async schedules(): Promise<ScheduleInfo[]> {
    const found = await this.#redisCall('schedules', () => this.#queue.getJobSchedulers(0, -1, true));
    return found.map((s) => ({ id: s.key, ...(s.pattern ? { cron: s.pattern } : {}), ...(s.every !== undefined && s.every !== null ? { everyMs: Number(s.every) } : {}) }));
  }

  async ping(): Promise<void> {
    await this.#redisCall('ping', () => this.#redis.ping());
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.#redisCall('counts', () => this.#queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'));
    // Prioritized jobs are waiting ones kept in another list.
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  /**
   * Runs one producer operation against Redis: the one place where Redis failures are translated.
   * BullMQ waits for its connection to be ready without limit, so while Redis is down an enqueue
   * would hang the request that made it; past `commandTimeoutMs` it fails instead. (The operation
   * may still complete once Redis is back; job ids make that harmless.)
   */
  async #redisCall<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const ms = this.#opts.commandTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(operation, `no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([fn(), timedOut]);
    } catch (err) {
      if (err instanceof QueueUnavailableError) throw err;
      const e = err as Error & { code?: string };
      if (e?.name === 'MaxRetriesPerRequestError' || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|Connection is closed/.test(`${e?.code ?? ''} ${e?.message ?? ''}`)) {
        throw new QueueUnavailableError(operation, e.message, err);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(timeoutMs = 30_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#worker) {
      // Not `worker.close()` first: it waits for active jobs with no timeout, and a later `close(true)`
      // returns that same pending promise. Pausing stops fetching without waiting.
      await this.#worker.pause(true);
      if (!(await this.#drained(timeoutMs))) {
        for (const a of this.#active.values()) {
          a.interrupted = true;
          a.controller.abort(new Error('the job queue is shutting down'));
        }
        await this.#drained(Math.min(timeoutMs, 5_000));
      }
      // A handler that ignored its signal keeps its job locked until the lock expires; the stall check
      // of another worker then runs it again.
      await this.#worker.close(this.#active.size > 0);
    }
    clearInterval(this.#poll);
    await this.#queue.close();
    await Promise.all([this.#redis, this.#workerRedis].map((r) => r?.quit().catch(() => r.disconnect())));
  }

  /** True once no handler of this process runs; false when `ms` passed first. */
  async #drained(ms: number): Promise<boolean> {
    if (this.#active.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const idle = new Promise<true>((resolve) => this.#idleWaiters.push(() => resolve(true)));
    try {
      return await Promise.race([idle, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #cancelKey(id: string): string {
    return `${this.#prefix}:${this.#queueName}:sextant-cancel:${id}`;
  }

  async #pollCancellations(): Promise<void> {
    const ids = [...this.#active.keys()];
    if (ids.length === 0) return;
    try {
      const flags = await this.#redis.mget(ids.map((id) => this.#cancelKey(id)));
      ids.forEach((id, i) => {
        const a = this.#active.get(id);
        if (flags[i] !== null && a && !a.cancelled) {
          a.cancelled = true;
          a.controller.abort(new JobCancelledError());
        }
      });
    } catch (err) {
      this.#opts.logger?.warn('could not check for cancelled jobs', { err });
    }
  }

  /** Every line logged while the job runs names it (jobId, jobType). */
  #process(job: Job, token: string | undefined, bullSignal: AbortSignal | undefined): Promise<unknown> {
    return withLogContext({ jobId: job.id, jobType: job.name }, () => this.#run(job, token, bullSignal));
  }

  async #run(job: Job, token: string | undefined, bullSignal: AbortSignal | undefined): Promise<unknown> {
    const id = job.id as string;
    const type = job.name as JobType;
    const payload = (job.data ?? {}) as Record<string, unknown>;
    const attempts = job.opts.attempts ?? 1;
    const request: JobRequest = { id, type, payload, attempts, backoffMs: backoffDelay(job) };
    const attempt = job.attemptsMade + 1;
    // A paused worker still receives the job its blocking fetch was already waiting for (e.g. the one
    // another handler of this process just handed back): a closing queue starts nothing, it hands it back.
    if (this.#closed) return this.#putBack(job, token);

    // Registered first, so that `close()` counts this job from the moment BullMQ hands it over.
    const active: Active = { controller: new AbortController(), cancelled: false, interrupted: false };
    this.#active.set(id, active);
    const onBullAbort = () => active.controller.abort(bullSignal?.reason);
    bullSignal?.addEventListener('abort', onBullAbort, { once: true });
    try {
      if (this.#opts.store) {
        // A record finished elsewhere (cancelled while BullMQ still held the job) is not run again.
        const record = await this.#opts.store.ensure(request);
        if (!isOpenStatus(record.status)) return null;
      }
      if ((await this.#redis.exists(this.#cancelKey(id))) === 1) active.cancelled = true;
      await this.#events.onActive(id, attempt, request);
      const handler = this.#handlers.get(type);
      const ctx: JobContext = {
        id,
        type,
        payload,
        attempt,
        signal: active.controller.signal,
        progress: async (percent) => {
          if (active.cancelled || active.interrupted) return;
          await job.updateProgress(percent);
          await this.#events.onProgress(id, percent);
        },
      };
      let result: Record<string, unknown> | void;
      try {
        if (!(JOB_TYPES as readonly string[]).includes(type)) throw new UnrecoverableJobError(`unknown job type "${type}"`);
        if (!handler) throw new UnrecoverableJobError(`no handler is registered for jobs of type ${type}`);
        if (active.cancelled) throw new JobCancelledError();
        result = await handler(ctx);
      } catch (thrown) {
        if (active.interrupted) return await this.#putBack(job, token);
        if (active.cancelled) return await this.#cancelled(id, attempt);
        const error = toError(thrown);
        const unrecoverable = isUnrecoverable(error);
        await this.#events.onFailed(id, error, !unrecoverable && attempt < attempts, attempt);
        // BullMQ skips the remaining attempts only for its own UnrecoverableError.
        throw unrecoverable ? new UnrecoverableError(error.message) : error;
      }
      if (active.interrupted) return await this.#putBack(job, token);
      if (active.cancelled) return await this.#cancelled(id, attempt);
      await this.#events.onCompleted(id, result);
      return result ?? null;
    } finally {
      bullSignal?.removeEventListener('abort', onBullAbort);
      this.#active.delete(id);
      if (this.#active.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  async #cancelled(id: string, attempt: number): Promise<never> {
    await this.#events.onFailed(id, new JobCancelledError(), false, attempt);
    await this.#redis.del(this.#cancelKey(id));
    throw new UnrecoverableError('the job was cancelled');
  }

  /** A job interrupted by shutdown goes back to wait, its attempt not counted, for another worker. */
  async #putBack(job: Job, token: string | undefined): Promise<never> {
    this.#opts.logger?.info('job handed back to the queue: this worker is shutting down');
    await job.moveToWait(token);
    throw new WaitingError();
  }
}

function jobOptions(job: Pick<JobRequest, 'attempts' | 'backoffMs'>) {
  return {
    attempts: job.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential' as const, delay: job.backoffMs ?? DEFAULT_BACKOFF_MS },
    // The job records keep the history; Redis keeps only what is still to run (and failures for a day, for operators).
    removeOnComplete: true,
    removeOnFail: REMOVE_ON_FAIL,
  };
}

function backoffDelay(job: Job): number | undefined {
  const b = job.opts.backoff;
  return typeof b === 'number' ? b : b?.delay;
}
