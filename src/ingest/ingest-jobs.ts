/**
 * The ingest job: an object in the store → a queued INGEST_FILE job → `loadObject` into its target, with
 * counts, located errors and progress on the job. Every entry point (uploads, the inbox, `ingestObject`,
 * `sextant ingest`) ends here; the raw object is never deleted, whatever the load does.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { assertCan, assertMayIngestObject, type Principal } from '../auth/principal.js';
import { UserError, isUserError } from '../errors.js';
import { jobErrorsOf, type JobPatch, type JobRecord, type JobStore } from '../jobs/job-store.js';
import type { JobContext, JobHandler, JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import { assertObjectKey, rawObjectKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { loadObject, type LoadResult } from './loader.js';
import { teamOfTarget, type Target } from './targets.js';

/** Attempts of an ingestion job: bad input fails at once (UserError), a database hiccup is retried. */
const INGEST_ATTEMPTS = 3;

/** What an INGEST_FILE job's payload holds: ids and keys only, never rows. */
export interface IngestJobPayload {
  target: string;
  key: string;
  /** The name the user knows the file by, for messages. */
  filename?: string;
  uploadId?: string;
}

export interface IngestJobsOptions {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  queue: JobQueue;
  targets: ReadonlyMap<string, Target>;
  /** Awaited after a load commits, before its job succeeds (caches of every API process drop the tables). */
  onTablesChanged?: (tables: string[]) => unknown;
  logger?: Logger;
  maxFieldBytes?: number;
  now: () => Date;
}

export class IngestJobs {
  readonly #wh: Warehouse;
  readonly #store: ObjectStore;
  readonly #jobs: JobStore;
  readonly #queue: JobQueue;
  readonly #targets: ReadonlyMap<string, Target>;
  readonly #onTablesChanged: ((tables: string[]) => unknown) | undefined;
  readonly #log: Logger | undefined;
  readonly #maxFieldBytes: number | undefined;
  readonly #now: () => Date;

  constructor(options: IngestJobsOptions) {
    this.#wh = options.warehouse;
    this.#store = options.store;
    this.#jobs = options.jobs;
    this.#queue = options.queue;
    this.#targets = options.targets;
    this.#onTablesChanged = options.onTablesChanged;
    this.#log = options.logger;
    this.#maxFieldBytes = options.maxFieldBytes;
    this.#now = options.now;
  }

  /** The target of that name, or UNKNOWN_TARGET listing the known ones. */
  target(name: string): Target {
    const target = this.#targets.get(name);
    if (!target) {
      const known = [...this.#targets.keys()];
      throw new UserError('UNKNOWN_TARGET', `no ingestion target "${name}"; expected one of ${known.length ? known.join(', ') : '(none: the project has no targets/*.yml)'}`);
    }
    return target;
  }

  /** Queues the ingestion of an object already in the store (`ingestObject`). */
  async ingestObject(input: { target: string; key: string; principal?: Principal; createdBy?: string | null }): Promise<JobRecord> {
    const target = this.target(input.target);
    if (input.principal) assertCan(input.principal, 'ingest', teamOfTarget(target));
    const key = assertObjectKey(input.key);
    if (input.principal) {
      assertMayIngestObject(input.principal, key, (name) => {
        const owner = this.#targets.get(name);
        return owner && teamOfTarget(owner);
      });
    }
    if (!(await this.#store.head(key))) throw new UserError('NOT_FOUND', `no object "${key}" in the object store`);
    return this.createJob({ target, key, filename: basename(key), createdBy: input.createdBy ?? input.principal?.keyId ?? null });
  }

  /**
   * `sextant ingest <file>`: copies the file into the store at its raw key first, then loads it in
   * this process (not through the queue) and records the job. Load failures are recorded in the job
   * (status FAILED, errors with line and column) and the record is returned; an unknown target or a
   * missing file throws.
   */
  async ingestLocalFile(input: {
    path: string;
    target: string;
    onProgress?: (rowsRead: number, bytesRead: number, totalBytes?: number) => void;
    createdBy?: string | null;
  }): Promise<JobRecord> {
    const target = this.target(input.target);
    const info = await stat(input.path).catch((err: NodeJS.ErrnoException) => {
      throw new UserError('BAD_USER_INPUT', `cannot read ${input.path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!info.isFile()) throw new UserError('BAD_USER_INPUT', `${input.path} is not a file`);
    const id = randomUUID();
    const filename = basename(input.path);
    const key = rawObjectKey(target.name, id, filename, this.#now());
    await this.#store.put(key, createReadStream(input.path));
    const payload: IngestJobPayload = { target: target.name, key, filename };
    await this.#jobs.create({ id, type: 'INGEST_FILE', team: teamOfTarget(target), target: target.name, payload: { ...payload }, maxAttempts: 1, createdBy: input.createdBy ?? null });
    await this.#jobs.update(id, { rawObjects: [key] });
    await this.#jobs.markRunning(id, 1);
    try {
      const result = await loadObject(
        { warehouse: this.#wh, store: this.#store },
        { target, key, runId: id, filename, maxFieldBytes: this.#maxFieldBytes, onProgress: input.onProgress },
      );
      // Caches first, as the queued handler does: SUCCEEDED is seen only once they were told.
      await this.#onTablesChanged?.([target.table]);
      await this.#jobs.markSucceeded(id, this.#patchOf(result, key));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (!isUserError(error)) this.#log?.error('ingest of a local file failed', { jobId: id, key, err: error });
      await this.#jobs.markFailed(id, jobErrorsOf(error), { willRetry: false });
    }
    const record = await this.#jobs.get(id);
    if (!record) throw new Error(`job ${id} was recorded but cannot be read back`);
    return record;
  }

  /** The INGEST_FILE handler: loads the job's object, records counts and errors, keeps the raw file. */
  readonly handleIngestJob: JobHandler = async (ctx: JobContext) => {
    const payload = ctx.payload as Partial<IngestJobPayload>;
    if (typeof payload.target !== 'string' || typeof payload.key !== 'string') {
      throw new UserError('BAD_USER_INPUT', `job ${ctx.id}: an INGEST_FILE payload needs target and key`);
    }
    const target = this.target(payload.target);
    const key = payload.key;
    let lastPercent = -1;
    let reporting: Promise<void> = Promise.resolve();
    const onProgress = (rows: number, bytes: number, total?: number): void => {
      if (!total) return;
      // Parsing is most of the work, so bytes read is the honest measure; 99 until the merge commits.
      const percent = Math.min(99, Math.floor((bytes / total) * 100));
      if (percent === lastPercent) return;
      lastPercent = percent;
      // Rows read so far travel with the percentage (the console and CLI show them); rows loaded stay 0
      // until the merge commits, because nothing is in the table before that.
      reporting = reporting
        .then(() => ctx.progress(percent))
        .then(() => this.#jobs.update(ctx.id, { rowsRead: rows }))
        .catch(() => undefined);
    };
    try {
      const result = await loadObject(
        { warehouse: this.#wh, store: this.#store },
        { target, key, runId: ctx.id, signal: ctx.signal, filename: payload.filename, maxFieldBytes: this.#maxFieldBytes, onProgress },
      );
      await reporting;
      // The slower way was taken for a file the bulk reader was offered: say why, since it shows only in the time.
      if (result.bulkReaderDeclined) this.#log?.info('the warehouse bulk reader declined the file; the service parsed it', { jobId: ctx.id, key, reason: result.bulkReaderDeclined });
      // Errors of skipped rows are listed on the job; the queue's recorder stores the counts returned.
      await this.#jobs.update(ctx.id, this.#patchOf(result, key));
      // Before returning: the queue records SUCCEEDED after the handler returns, so no client sees the
      // job succeed before the caches were told.
      await this.#onTablesChanged?.([target.table]);
      return {
        rowsRead: result.rowsRead,
        rowsLoaded: result.rowsLoaded,
        rowsRejected: result.rowsRejected,
        rawObjects: [key],
        inserted: result.inserted,
        updated: result.updated,
        addedColumns: result.addedColumns,
      };
    } catch (err) {
      await reporting;
      // A UserError (ROW_INVALID, INPUT_INVALID, NOT_FOUND, …) is not retried by either queue; its
      // located problems become the job's errors. The raw object is never deleted.
      if (!isUserError(err) && !ctx.signal.aborted) this.#log?.error('ingestion job failed', { jobId: ctx.id, key, err });
      throw err;
    }
  };

  /** Records and queues the ingestion of an object kept at `key` (the id of an upload's job is the upload's). */
  async createJob(input: { id?: string; target: Target; key: string; filename: string; createdBy: string | null; extra?: Record<string, unknown> }): Promise<JobRecord> {
    const id = input.id ?? randomUUID();
    const payload: Record<string, unknown> = { target: input.target.name, key: input.key, filename: input.filename, ...input.extra };
    let job: JobRecord;
    try {
      job = await this.#jobs.create({ id, type: 'INGEST_FILE', team: teamOfTarget(input.target), target: input.target.name, payload, maxAttempts: INGEST_ATTEMPTS, createdBy: input.createdBy });
    } catch (err) {
      // Two completions of one upload race to create its job; the loser answers the winner's.
      const raced = await this.#jobs.get(id);
      if (raced) return raced;
      throw err;
    }
    await this.#jobs.update(id, { rawObjects: [input.key] });
    await this.#queue.enqueue({ id, type: 'INGEST_FILE', payload, attempts: INGEST_ATTEMPTS });
    return (await this.#jobs.get(id)) ?? job;
  }

  #patchOf(result: LoadResult, key: string): JobPatch {
    return {
      rowsRead: result.rowsRead,
      rowsLoaded: result.rowsLoaded,
      rowsRejected: result.rowsRejected,
      errors: result.errors.map((e) => ({ line: e.line, ...(e.column !== undefined ? { column: e.column } : {}), message: e.message })),
      rawObjects: [key],
    };
  }

}
