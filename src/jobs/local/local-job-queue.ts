/**
 * The in-process job queue of the embedded mode (`npm start` without Redis). Its memory holds only
 * what is running or waiting; the job records in the warehouse are the truth, so a restart loses
 * nothing: `start()` runs every QUEUED or RUNNING record again. Handlers are idempotent by contract
 * (research/reliability-anchors.md §2.3), which is what makes running an interrupted job again safe.
 */
import { withLogContext, type Logger } from '../../log.js';
import { combineEvents } from '../combine-events.js';
import { isOpenStatus, recordingEvents, requestOf } from '../job-store.js';
import type { JobStore } from '../job-store.js';
import { assertValidSchedule, nextRunAt } from '../next-run-at.js';
import { JobCancelledError, UnrecoverableJobError } from '../port.js';
import type { JobContext, JobEvents, JobHandler, JobQueue, JobRequest, JobType, QueueCounts, Schedule, ScheduleInfo } from '../port.js';
import { DEFAULT_ATTEMPTS, isUnrecoverable, retryDelayMs, toError } from '../retry-policy.js';

export interface LocalJobQueueOptions {
  /** Where jobs are recorded, and read back from on `start()`. */
  store: JobStore;
  /** Where failures of the recording itself are reported. */
  logger?: Logger;
}

interface Entry {
  request: JobRequest;
  attempt: number;
}

interface Running extends Entry {
  controller: AbortController;
  /** Cancelled through `cancel()`: reported as CANCELLED whatever the handler does next. */
  cancelled: boolean;
  /** Aborted by `close()`: not reported, so that its record stays RUNNING and the next start runs it again. */
  interrupted: boolean;
  done: Promise<void>;
}

/** What a job's signal is aborted with when the queue shuts down under it. */
export class QueueClosingError extends Error {
  constructor() {
    super('the job queue is shutting down');
    this.name = 'QueueClosingError';
  }
}

/** The in-process JobQueue; see the module comment. */
/**
 * Longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days): a longer one fires at once, with a
 * TimeoutOverflowWarning — a monthly cron would then tick in a loop.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class LocalJobQueue implements JobQueue {
  readonly #store: JobStore;
  readonly #logger: Logger | undefined;
  readonly #handlers = new Map<JobType, JobHandler>();
  readonly #ready: Entry[] = [];
  readonly #delayed = new Map<string, { entry: Entry; timer: NodeJS.Timeout }>();
  readonly #running = new Map<string, Running>();
  readonly #schedules = new Map<string, NodeJS.Timeout>();
  /** What each schedule was registered with (for {@link schedules}). */
  readonly #scheduleInfo = new Map<string, ScheduleInfo>();
  #events: Required<JobEvents>;
  #concurrency = 0;
  #started = false;
  #closing = false;

  constructor(options: LocalJobQueueOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#events = combineEvents([recordingEvents(this.#store)], this.#logger);
  }

  handle(type: JobType, handler: JobHandler): void {
    this.#handlers.set(type, handler);
  }

  async start(options: { concurrency: number; events?: JobEvents }): Promise<void> {
    if (this.#closing) throw new Error('this job queue was closed; open a new one');
    if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) throw new Error(`concurrency must be an integer ≥ 1, got ${options.concurrency}`);
    this.#concurrency = options.concurrency;
    this.#events = combineEvents([recordingEvents(this.#store), options.events], this.#logger);
    // A job found RUNNING was interrupted mid-attempt (crash or shutdown): it runs that attempt again, as
    // BullMQ does with a stalled job; a QUEUED one waits for its next attempt.
    for (const record of await this.#store.pending()) {
      if (this.#known(record.id)) continue;
      const attempt = record.status === 'RUNNING' ? Math.max(1, record.attempts) : record.attempts + 1;
      this.#ready.push({ request: requestOf(record), attempt });
    }
    this.#started = true;
    this.#pump();
  }

  async enqueue(job: JobRequest, options: { delayMs?: number } = {}): Promise<void> {
    if (this.#closing) throw new Error('the job queue is closed');
    if (this.#known(job.id)) return;
    const record = await this.#store.ensure(job);
    // The record is finished: enqueuing it again is the duplicate the id exists to absorb. To run a finished
    // job again, `store.requeue(id)` first (what retryJob does).
    if (!isOpenStatus(record.status) || this.#known(job.id)) return;
    const entry: Entry = { request: job, attempt: record.attempts + 1 };
    if (options.delayMs && options.delayMs > 0) this.#delay(entry, options.delayMs);
    else {
      this.#ready.push(entry);
      this.#pump();
    }
  }

  async cancel(id: string): Promise<boolean> {
    const running = this.#running.get(id);
    if (running) {
      if (!running.cancelled) {
        running.cancelled = true;
        running.controller.abort(new JobCancelledError());
        // Recorded now so that whoever asked sees CANCELLED; the handler's end is then reported to the other listeners.
        await this.#store.markCancelled(id);
      }
      return true;
    }
    let entry: Entry | undefined;
    const i = this.#ready.findIndex((e) => e.request.id === id);
    if (i >= 0) entry = this.#ready.splice(i, 1)[0];
    const delayed = this.#delayed.get(id);
    if (delayed) {
      clearTimeout(delayed.timer);
      this.#delayed.delete(id);
      entry = delayed.entry;
    }
    if (entry) {
      await this.#events.onFailed(id, new JobCancelledError(), false, entry.attempt);
      return true;
    }
    // Not in memory, e.g. before start(): the record alone says whether it is still to run.
    const record = await this.#store.get(id);
    if (!record || !isOpenStatus(record.status)) return false;
    await this.#store.markCancelled(id);
    return true;
  }

  async schedule(schedule: Schedule): Promise<void> {
    assertValidSchedule(schedule);
    await this.unschedule(schedule.id);
    if (this.#closing) return;
    const arm = (after: Date) => {
      const at = nextRunAt(schedule, after);
      // Unref'd: a schedule alone must not keep a CLI process alive.
      const timer = setTimeout(() => {
        if (this.#schedules.get(schedule.id) !== timer) return;
        // A tick more than MAX_TIMER_MS away (a monthly cron) is waited for in several timers.
        if (Date.now() < at.getTime()) return arm(after);
        // From now, not from `at`: after the process was suspended, missed ticks are skipped, not fired in a burst.
        arm(new Date(Math.max(at.getTime(), Date.now())));
        this.enqueue(schedule.job()).catch((err) => this.#logger?.error('a scheduled job could not be enqueued', { scheduleId: schedule.id, err }));
      }, Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - Date.now())));
      timer.unref();
      this.#schedules.set(schedule.id, timer);
    };
    this.#scheduleInfo.set(schedule.id, { id: schedule.id, ...(schedule.cron !== undefined ? { cron: schedule.cron } : { everyMs: schedule.everyMs }) });
    arm(new Date());
  }

  async unschedule(id: string): Promise<void> {
    const timer = this.#schedules.get(id);
    if (timer) clearTimeout(timer);
    this.#schedules.delete(id);
    this.#scheduleInfo.delete(id);
  }

  /** This process's schedules: they live in memory, so a restart begins with none. */
  async schedules(): Promise<ScheduleInfo[]> {
    return [...this.#scheduleInfo.values()].map((s) => ({ ...s }));
  }

  async ping(): Promise<void> {
    await this.#store.ping();
  }

  async counts(): Promise<QueueCounts> {
    return { waiting: this.#ready.length, active: this.#running.size, delayed: this.#delayed.size };
  }

  async close(timeoutMs = 30_000): Promise<void> {
    this.#closing = true;
    for (const timer of this.#schedules.values()) clearTimeout(timer);
    this.#schedules.clear();
    // Waiting and delayed jobs stay QUEUED in their records: the next start runs them.
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#ready.length = 0;
    if (!(await this.#settled(timeoutMs))) {
      for (const r of this.#running.values()) {
        r.interrupted = true;
        r.controller.abort(new QueueClosingError());
      }
      // Handlers are asked to stop through their signal; one that ignores it is not waited for forever.
      await this.#settled(Math.min(timeoutMs, 5_000));
    }
  }

  #known(id: string): boolean {
    return this.#running.has(id) || this.#delayed.has(id) || this.#ready.some((e) => e.request.id === id);
  }

  #delay(entry: Entry, ms: number): void {
    // Ref'd, unlike schedules: a retry is work already promised to someone.
    const timer = setTimeout(() => {
      this.#delayed.delete(entry.request.id);
      this.#ready.push(entry);
      this.#pump();
    }, ms);
    this.#delayed.set(entry.request.id, { entry, timer });
  }

  /** True when nothing runs any more; false when `ms` passed first. */
  async #settled(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const allDone = (async () => {
      while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((r) => r.done));
      return true as const;
    })();
    try {
      return await Promise.race([allDone, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #pump(): void {
    while (this.#started && !this.#closing && this.#running.size < this.#concurrency && this.#ready.length > 0) {
      const entry = this.#ready.shift() as Entry;
      const running: Running = { ...entry, controller: new AbortController(), cancelled: false, interrupted: false, done: Promise.resolve() };
      this.#running.set(entry.request.id, running);
      // Every line logged while the job runs names it (jobId, jobType).
      running.done = withLogContext({ jobId: entry.request.id, jobType: entry.request.type }, () => this.#run(running))
        .catch((err) => this.#logger?.error('the job queue failed to run a job', { jobId: entry.request.id, err }))
        .finally(() => {
          this.#running.delete(entry.request.id);
          this.#pump();
        });
    }
  }

  async #run(r: Running): Promise<void> {
    const { request, attempt } = r;
    const id = request.id;
    // A record finished elsewhere (cancelled before start, or by an earlier process) is not run again.
    const record = await this.#store.get(id);
    if (record && !isOpenStatus(record.status)) return;
    await this.#events.onActive(id, attempt, request);
    const handler = this.#handlers.get(request.type);
    const ctx: JobContext = {
      id,
      type: request.type,
      payload: request.payload,
      attempt,
      signal: r.controller.signal,
      progress: async (percent) => {
        if (!r.cancelled && !r.interrupted) await this.#events.onProgress(id, percent);
      },
    };
    let result: Record<string, unknown> | void;
    try {
      if (!handler) throw new UnrecoverableJobError(`no handler is registered for jobs of type ${request.type}`);
      if (r.cancelled) throw new JobCancelledError();
      result = await handler(ctx);
    } catch (thrown) {
      if (r.interrupted) return;
      if (r.cancelled) return void (await this.#events.onFailed(id, new JobCancelledError(), false, attempt));
      const error = toError(thrown);
      const willRetry = !isUnrecoverable(error) && attempt < (request.attempts ?? DEFAULT_ATTEMPTS);
      await this.#events.onFailed(id, error, willRetry, attempt);
      if (willRetry && !this.#closing) this.#delay({ request, attempt: attempt + 1 }, retryDelayMs(request, attempt));
      return;
    }
    if (r.interrupted) return;
    if (r.cancelled) return void (await this.#events.onFailed(id, new JobCancelledError(), false, attempt));
    await this.#events.onCompleted(id, result);
  }
}
