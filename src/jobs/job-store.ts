/**
 * Job records: what every job was asked to do and what it did, kept in the warehouse's platform schema
 * (`sextant.jobs`) whichever queue runs the job. The GraphQL `jobs`/`job` fields read from here, and the
 * in-process queue rebuilds its work from here after a restart.
 *
 * Written against the Warehouse port only, with SQL that DuckDB and PostgreSQL both accept (`$n`
 * parameters, explicit casts). JSON fields are stored as text so that the table reads the same on
 * every dialect.
 */
import { randomUUID } from 'node:crypto';
import { UserError, isUserError } from '../errors.js';
import type { Row, SqlValue, TableSpec, Warehouse } from '../warehouse/port.js';
import { JOB_STATUSES, JOB_TYPES, JobCancelledError } from './port.js';
import type { JobEvents, JobRequest, JobStatus, JobType } from './port.js';
import { DEFAULT_ATTEMPTS } from './retry-policy.js';

/** One problem a job met: a bad row of an input file, or the reason the job failed. */
export interface JobError {
  line?: number;
  column?: string;
  message: string;
}

/** A job as recorded. Timestamps are ISO strings in UTC. */
export interface JobRecord {
  id: string;
  type: JobType;
  status: JobStatus;
  /** The team whose data the job reads or writes; null for platform jobs (inbox scans). */
  team: string | null;
  source: string | null;
  target: string | null;
  payload: Record<string, unknown>;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  /** 0 to 100. */
  progress: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  errors: JobError[];
  /** Object-store keys of the raw inputs the job kept. */
  rawObjects: string[];
  /** Object-store key of an export's file. */
  resultKey: string | null;
  /** Id of the API key that asked for the job. */
  createdBy: string | null;
}

/** What a new record needs; everything else starts empty. */
export interface NewJob {
  /** Defaults to a random UUID. Queue backends reuse it as their job id, so it must not contain `:`. */
  id?: string;
  type: JobType;
  payload?: Record<string, unknown>;
  team?: string | null;
  source?: string | null;
  target?: string | null;
  /** Attempts in all (default 3, as JobRequest). */
  maxAttempts?: number;
  createdBy?: string | null;
}

/** What a handler records as it goes. Fields left out are unchanged. */
export interface JobPatch {
  rowsRead?: number;
  rowsLoaded?: number;
  rowsRejected?: number;
  errors?: JobError[];
  rawObjects?: string[];
  resultKey?: string | null;
  progress?: number;
}

export interface JobListFilter {
  status?: JobStatus;
  type?: JobType;
  source?: string;
  /** Teams the caller may see: `'*'` for all; jobs without a team are visible only to `'*'`. */
  teams?: readonly string[] | '*';
  limit: number;
}

/** The platform schema's jobs table. */
export const JOBS_TABLE: TableSpec = {
  table: 'sextant.jobs',
  key: ['id'],
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'type', type: 'string', required: true },
    { name: 'status', type: 'string', required: true },
    { name: 'team', type: 'string' },
    { name: 'source', type: 'string' },
    { name: 'target', type: 'string' },
    { name: 'payload', type: 'string', required: true },
    { name: 'attempts', type: 'integer', required: true },
    { name: 'max_attempts', type: 'integer', required: true },
    { name: 'progress', type: 'integer', required: true },
    { name: 'created_at', type: 'timestamp', required: true },
    { name: 'started_at', type: 'timestamp' },
    { name: 'finished_at', type: 'timestamp' },
    { name: 'rows_read', type: 'bigint', required: true },
    { name: 'rows_loaded', type: 'bigint', required: true },
    { name: 'rows_rejected', type: 'bigint', required: true },
    { name: 'errors', type: 'string', required: true },
    { name: 'raw_objects', type: 'string', required: true },
    { name: 'result_key', type: 'string' },
    { name: 'created_by', type: 'string' },
  ],
};

/** Most records a list returns, whatever the caller asks. */
export const MAX_JOB_LIST = 1000;

/** Statuses a job can still leave; the others are final until `requeue`. */
const OPEN_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING'];
const OPEN_SQL = `status IN ('QUEUED', 'RUNNING')`;

/** Columns whose parameters need a cast (DuckDB and PostgreSQL infer the rest from the column). */
const TIMESTAMP_COLUMNS = new Set(['started_at', 'finished_at']);
const NUMBER_COLUMNS = new Set(['attempts', 'progress', 'rows_read', 'rows_loaded', 'rows_rejected']);

const PATCH_COLUMNS = {
  rowsRead: 'rows_read',
  rowsLoaded: 'rows_loaded',
  rowsRejected: 'rows_rejected',
  errors: 'errors',
  rawObjects: 'raw_objects',
  resultKey: 'result_key',
  progress: 'progress',
} as const satisfies Record<keyof JobPatch, string>;

/** Records jobs in `sextant.jobs`. Status changes out of a final status (SUCCEEDED, FAILED, CANCELLED) are ignored, except `requeue`. */
export class JobStore {
  readonly #wh: Warehouse;
  readonly #table: string;
  #lastCreatedMs = 0;

  constructor(warehouse: Warehouse) {
    this.#wh = warehouse;
    this.#table = warehouse.dialect.quoteTable(JOBS_TABLE.table);
  }

  /** Creates the platform schema and the jobs table when missing. */
  async init(): Promise<void> {
    await this.#wh.ensureTable(JOBS_TABLE);
  }

  /** Records a new QUEUED job and returns its record. */
  async create(input: NewJob): Promise<JobRecord> {
    assertType(input.type);
    const id = input.id ?? randomUUID();
    const maxAttempts = input.maxAttempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new UserError('BAD_USER_INPUT', `maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
    const p = this.#p.bind(this);
    await this.#wh.execute(
      `INSERT INTO ${this.#table} (id, type, status, team, source, target, payload, attempts, max_attempts, progress, created_at,
         rows_read, rows_loaded, rows_rejected, errors, raw_objects, result_key, created_by)
       VALUES (${p(1)}, ${p(2)}, 'QUEUED', ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, 0, ${p(7, 'number')}, 0, ${p(8, 'timestamp')},
         0, 0, 0, '[]', '[]', NULL, ${p(9)})`,
      [id, input.type, input.team ?? null, input.source ?? null, input.target ?? null, JSON.stringify(input.payload ?? {}), maxAttempts, this.#createdAt(), input.createdBy ?? null],
    );
    const record = await this.get(id);
    if (!record) throw new Error(`job ${id} was inserted but cannot be read back`);
    return record;
  }

  /**
   * The record of a request, created from it when missing: how a queue records a job that reached it
   * without one (a scheduled tick). Team, source and target come from the payload's string fields of those names.
   */
  async ensure(request: JobRequest): Promise<JobRecord> {
    const existing = await this.get(request.id);
    if (existing) return existing;
    const text = (k: string) => (typeof request.payload[k] === 'string' ? (request.payload[k] as string) : null);
    try {
      return await this.create({
        id: request.id,
        type: request.type,
        payload: request.payload,
        team: text('team'),
        source: text('source'),
        target: text('target'),
        maxAttempts: request.attempts,
      });
    } catch (err) {
      // Two workers may record the same tick at once; the one that lost the race reads the winner's record.
      const raced = await this.get(request.id);
      if (raced) return raced;
      throw err;
    }
  }

  /** Checks that the warehouse holding the records answers. */
  async ping(): Promise<void> {
    await this.#wh.ping();
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const rows = await this.#wh.query(`SELECT * FROM ${this.#table} WHERE id = ${this.#p(1)}`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Records matching the filter, newest first. */
  async list(filter: JobListFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (v: unknown) => {
      params.push(v);
      return this.#p(params.length);
    };
    if (filter.status !== undefined) where.push(`status = ${bind(filter.status)}`);
    if (filter.type !== undefined) where.push(`type = ${bind(filter.type)}`);
    if (filter.source !== undefined) where.push(`source = ${bind(filter.source)}`);
    const teams = filter.teams ?? '*';
    if (teams !== '*') {
      if (teams.length === 0) return [];
      where.push(`team IN (${teams.map((t) => bind(t)).join(', ')})`);
    }
    // A number checked here, not a client's string: safe to inline, and LIMIT takes no cast on either dialect.
    const limit = Math.max(1, Math.min(MAX_JOB_LIST, Math.floor(Number.isFinite(filter.limit) ? filter.limit : MAX_JOB_LIST)));
    const rows = await this.#wh.query(
      `SELECT * FROM ${this.#table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
      params,
    );
    return rows.map(toRecord);
  }

  /** Jobs a restarted in-process queue must run again: QUEUED or RUNNING, oldest first. */
  async pending(): Promise<JobRecord[]> {
    const rows = await this.#wh.query(`SELECT * FROM ${this.#table} WHERE ${OPEN_SQL} ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  /** An attempt started: RUNNING, `attempts` = attempt, progress reset. */
  async markRunning(id: string, attempt: number): Promise<void> {
    await this.#set(id, { status: 'RUNNING', attempts: attempt, progress: 0, started_at: now(), finished_at: null }, true);
  }

  async setProgress(id: string, percent: number): Promise<void> {
    await this.#set(id, { progress: clampProgress(percent) }, true);
  }

  /** Records counts, errors, raw objects or the result key as a handler goes; allowed in any status. */
  async update(id: string, patch: JobPatch): Promise<void> {
    await this.#set(id, patchColumns(patch), false);
  }

  async markSucceeded(id: string, patch: JobPatch = {}): Promise<void> {
    await this.#set(id, { ...patchColumns(patch), status: 'SUCCEEDED', progress: 100, finished_at: now() }, true);
  }

  /** An attempt failed: back to QUEUED when another attempt follows, else FAILED. */
  async markFailed(id: string, errors: JobError[], options: { willRetry: boolean }): Promise<void> {
    const status: JobStatus = options.willRetry ? 'QUEUED' : 'FAILED';
    await this.#set(id, { status, errors: JSON.stringify(errors), finished_at: options.willRetry ? null : now() }, true);
  }

  async markCancelled(id: string): Promise<void> {
    await this.#set(id, { status: 'CANCELLED', finished_at: now() }, true);
  }

  /** Puts a finished job back to QUEUED for another run (`retryJob`): attempts, progress, counts and errors start again. */
  async requeue(id: string): Promise<void> {
    await this.#set(
      id,
      { status: 'QUEUED', attempts: 0, progress: 0, started_at: null, finished_at: null, rows_read: 0, rows_loaded: 0, rows_rejected: 0, errors: '[]', result_key: null },
      false,
    );
  }

  #p(index: number, type?: 'number' | 'timestamp'): string {
    return this.#wh.dialect.param(index, type);
  }

  /** Monotonic within a process, so that jobs created in one millisecond still list in creation order. */
  #createdAt(): string {
    const ms = Math.max(Date.now(), this.#lastCreatedMs + 1);
    this.#lastCreatedMs = ms;
    return new Date(ms).toISOString();
  }

  async #set(id: string, columns: Record<string, SqlValue>, onlyOpen: boolean): Promise<void> {
    const entries = Object.entries(columns);
    if (entries.length === 0) return;
    const sets = entries.map(([col], i) => {
      const type = TIMESTAMP_COLUMNS.has(col) ? 'timestamp' : NUMBER_COLUMNS.has(col) ? 'number' : undefined;
      return `${this.#wh.dialect.quoteIdent(col)} = ${this.#p(i + 2, type)}`;
    });
    await this.#wh.execute(
      `UPDATE ${this.#table} SET ${sets.join(', ')} WHERE id = ${this.#p(1)}${onlyOpen ? ` AND ${OPEN_SQL}` : ''}`,
      [id, ...entries.map(([, v]) => v)],
    );
  }
}

/**
 * JobEvents that record into the store: how a queue reports what happened. A tick that a backend
 * scheduled by itself gets its record on its first `onActive`.
 */
export function recordingEvents(store: JobStore): JobEvents {
  return {
    async onActive(id, attempt, request) {
      if (request) await store.ensure(request);
      await store.markRunning(id, attempt);
    },
    async onProgress(id, percent) {
      await store.setProgress(id, percent);
    },
    async onCompleted(id, result) {
      await store.markSucceeded(id, resultPatch(result));
    },
    async onFailed(id, error, willRetry) {
      if (isCancellation(error)) await store.markCancelled(id);
      else await store.markFailed(id, jobErrorsOf(error), { willRetry });
    },
  };
}

/** The request that runs a record again (after a restart, or `retryJob`). */
export function requestOf(record: JobRecord): JobRequest {
  return { id: record.id, type: record.type, payload: record.payload, attempts: record.maxAttempts };
}

/** Statuses from which a job can still move on. */
export function isOpenStatus(status: JobStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

/** True for the error a queue reports when a job was cancelled (also across processes, where only the name survives). */
export function isCancellation(error: Error): boolean {
  return error instanceof JobCancelledError || error.name === 'JobCancelledError';
}

/** The errors to record for a failure: a UserError's located problems, or its message. */
export function jobErrorsOf(error: Error): JobError[] {
  if (isUserError(error) && error.problems.length > 0) {
    return error.problems.map((p) => ({
      ...(p.line !== undefined ? { line: p.line } : {}),
      ...(p.column !== undefined ? { column: String(p.column) } : {}),
      message: [p.file, p.path].filter(Boolean).length ? `${[p.file, p.path].filter(Boolean).join(' → ')}: ${p.message}` : p.message,
    }));
  }
  return [{ message: error.message || error.name }];
}

/** Counts and keys a handler returned, kept when they have the record's types. */
function resultPatch(result: Record<string, unknown> | void): JobPatch {
  if (!result) return {};
  const patch: JobPatch = {};
  for (const k of ['rowsRead', 'rowsLoaded', 'rowsRejected'] as const) if (typeof result[k] === 'number') patch[k] = result[k] as number;
  if (typeof result.resultKey === 'string') patch.resultKey = result.resultKey;
  if (Array.isArray(result.rawObjects) && result.rawObjects.every((k) => typeof k === 'string')) patch.rawObjects = result.rawObjects as string[];
  return patch;
}

function patchColumns(patch: JobPatch): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  for (const [k, col] of Object.entries(PATCH_COLUMNS) as Array<[keyof JobPatch, string]>) {
    const v = patch[k];
    if (v === undefined) continue;
    if (k === 'errors' || k === 'rawObjects') out[col] = JSON.stringify(v);
    else if (k === 'progress') out[col] = clampProgress(v as number);
    else out[col] = v as SqlValue;
  }
  return out;
}

function clampProgress(percent: number): number {
  return Number.isFinite(percent) ? Math.max(0, Math.min(100, Math.round(percent))) : 0;
}

function now(): string {
  return new Date().toISOString();
}

function assertType(type: string): asserts type is JobType {
  if (!(JOB_TYPES as readonly string[]).includes(type)) throw new UserError('BAD_USER_INPUT', `unknown job type "${type}"; expected one of ${JOB_TYPES.join(', ')}`);
}

function text(v: SqlValue | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Whatever string or number form the adapter gave, an ISO timestamp in UTC. */
function iso(v: SqlValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  // A timestamp without zone is UTC here: every value this store writes is UTC.
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

function json<T>(v: SqlValue | undefined, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}

function toRecord(row: Row): JobRecord {
  const status = String(row.status);
  return {
    id: String(row.id),
    type: String(row.type) as JobType,
    status: ((JOB_STATUSES as readonly string[]).includes(status) ? status : 'FAILED') as JobStatus,
    team: text(row.team),
    source: text(row.source),
    target: text(row.target),
    payload: json<Record<string, unknown>>(row.payload, {}),
    attempts: Number(row.attempts ?? 0),
    maxAttempts: Number(row.max_attempts ?? DEFAULT_ATTEMPTS),
    progress: Number(row.progress ?? 0),
    createdAt: iso(row.created_at) ?? '',
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    rowsRead: Number(row.rows_read ?? 0),
    rowsLoaded: Number(row.rows_loaded ?? 0),
    rowsRejected: Number(row.rows_rejected ?? 0),
    errors: json<JobError[]>(row.errors, []),
    rawObjects: json<string[]>(row.raw_objects, []),
    resultKey: text(row.result_key),
    createdBy: text(row.created_by),
  };
}
