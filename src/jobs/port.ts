/**
 * The job queue port. Adapters: local/ (in-process; the default) and bullmq/ (Redis; any number of
 * worker processes). The queue only dispatches; what a job did is recorded by the JobStore in the
 * warehouse's platform schema, whichever queue runs it.
 */

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_TYPES = ['INGEST_FILE', 'RUN_SOURCE', 'EXPORT', 'REPORT', 'INBOX_SCAN'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** What a job is asked to do: its type and a JSON payload its handler understands. */
export interface JobRequest {
  type: JobType;
  payload: Record<string, unknown>;
  /** The job's record id; the queue reuses it as its own job id so that a double enqueue is one job. */
  id: string;
  /** Attempts in all, including the first (default 3). */
  attempts?: number;
  /** First retry delay in ms; doubled on each further retry (default 1000). */
  backoffMs?: number;
}

/** What a running handler can do: report progress, and notice cancellation. */
export interface JobContext {
  readonly id: string;
  readonly type: JobType;
  readonly payload: Record<string, unknown>;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted when the job is cancelled or the worker shuts down; handlers pass it down to I/O. */
  readonly signal: AbortSignal;
  /** Progress from 0 to 100. */
  progress(percent: number): Promise<void>;
}

export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown> | void>;

/** A job that should not be retried: bad input, unknown target, a cancelled job. */
export class UnrecoverableJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableJobError';
  }
}

/**
 * A running job was cancelled (`JobQueue.cancel`): reported through `onFailed` with `willRetry` false,
 * and recorded as CANCELLED rather than FAILED.
 */
export class JobCancelledError extends UnrecoverableJobError {
  constructor(message = 'the job was cancelled') {
    super(message);
    this.name = 'JobCancelledError';
  }
}

/** Events a queue reports to whoever records jobs. */
export interface JobEvents {
  /**
   * An attempt starts. `request` carries the job's type and payload so that a recorder can create the
   * record of a job it has not seen (a scheduled tick that the queue backend created by itself).
   */
  onActive?(id: string, attempt: number, request?: JobRequest): Promise<void> | void;
  onProgress?(id: string, percent: number): Promise<void> | void;
  onCompleted?(id: string, result: Record<string, unknown> | void): Promise<void> | void;
  /** `willRetry` is false on the last attempt, for unrecoverable errors and for cancellations. */
  onFailed?(id: string, error: Error, willRetry: boolean, attempt: number): Promise<void> | void;
}

export interface Schedule {
  /** Stable id: re-registering the same id replaces the schedule. */
  id: string;
  /** Cron pattern (5 or 6 fields) or a fixed interval. */
  cron?: string;
  everyMs?: number;
  /** Builds the job to enqueue at each tick (a fresh id each time). */
  job: () => JobRequest;
}

/** Jobs of one queue by state, as `/metrics` reports them. */
export interface QueueCounts {
  waiting: number;
  active: number;
  /** Delayed runs and retries waiting for their backoff. */
  delayed: number;
}

/** A schedule as the queue holds it (what {@link JobQueue.schedules} lists). */
export interface ScheduleInfo {
  id: string;
  cron?: string;
  everyMs?: number;
}

export interface JobQueue {
  /** Registers the handler of a job type; only processes with the worker role call this. */
  handle(type: JobType, handler: JobHandler): void;
  /** Starts processing jobs (the worker role), at most `concurrency` at once. */
  start(options: { concurrency: number; events?: JobEvents }): Promise<void>;
  enqueue(job: JobRequest, options?: { delayMs?: number }): Promise<void>;
  /** Cancels a queued job, or aborts a running one through its signal. True when the job was found. */
  cancel(id: string): Promise<boolean>;
  schedule(schedule: Schedule): Promise<void>;
  unschedule(id: string): Promise<void>;
  /**
   * The schedules the queue holds, including those registered by an earlier start (BullMQ keeps them in
   * Redis), so that a worker can remove the schedules of things that no longer exist (a deleted report).
   */
  schedules(): Promise<ScheduleInfo[]>;
  /** Checks that the queue's backend answers. */
  ping(): Promise<void>;
  /** Jobs waiting, running and delayed: across the deployment (BullMQ) or in this process (in-process). */
  counts?(): Promise<QueueCounts>;
  /** Stops taking jobs, waits up to `timeoutMs` for running ones, then closes connections. */
  close(timeoutMs?: number): Promise<void>;
}
