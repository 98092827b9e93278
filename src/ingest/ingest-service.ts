/**
 * The ingestion flows (SPEC §3.2, §7) behind every face: GraphQL (`createUpload`, `completeUpload`,
 * `ingestObject`), the service's own `PUT /uploads/<id>`, `sextant ingest <file>`, the inbox scan and
 * the INGEST_FILE job handler. Every raw input is written to the object store before it is parsed,
 * and stays there whatever the load does.
 */
import { randomUUID } from 'node:crypto';
import { UrlSigner } from '../auth/url-signer.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { assertCan, can, type Principal } from '../auth/principal.js';
import { UserError, isUserError } from '../errors.js';
import { jobErrorsOf, type JobPatch, type JobRecord, type JobStore } from '../jobs/job-store.js';
import type { JobContext, JobHandler, JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import { assertObjectKey, rawObjectKey } from '../storage/keys.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';
import type { Row, TableSpec, Warehouse } from '../warehouse/port.js';
import { loadObject, type LoadResult } from './loader.js';
import { teamOfTarget, type Target } from './targets.js';

/** The platform table of uploads: one row per `createUpload`, linked to its job once completed. */
export const UPLOADS_TABLE: TableSpec = {
  table: 'sextant.uploads',
  key: ['id'],
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'target', type: 'string', required: true },
    { name: 'key', type: 'string', required: true },
    { name: 'filename', type: 'string', required: true },
    { name: 'content_type', type: 'string' },
    { name: 'created_by', type: 'string' },
    { name: 'created_at', type: 'timestamp', required: true },
    { name: 'expires_at', type: 'timestamp', required: true },
    { name: 'job_id', type: 'string' },
  ],
};

/** Where files dropped for pickup land: `inbox/<target>/<file>`. */
export const INBOX_PREFIX = 'inbox/';
/** How long an upload URL stays valid by default. */
export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;
/** Attempts of an ingestion job: bad input fails at once (UserError), a database hiccup is retried. */
const INGEST_ATTEMPTS = 3;

/** What an {@link IngestService} is built from. */
export interface IngestServiceOptions {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  queue: JobQueue;
  targets: ReadonlyMap<string, Target>;
  /** Largest accepted upload in bytes. */
  maxUploadBytes: number;
  /** Key of the HMAC that signs the service's own upload URLs; a random one per process when unset. */
  signingSecret?: string;
  /** Base URL clients reach the service at, for `PUT /uploads/<id>` URLs. */
  publicBaseUrl: string;
  /**
   * Called with the tables a load changed (result caches drop their entries). A promise it returns is
   * awaited, so a job is reported SUCCEEDED only once every API process was told (src/jobs/change-feed/).
   */
  onTablesChanged?: (tables: string[]) => unknown;
  logger?: Logger;
  /** Validity of upload URLs in seconds (default 3600). */
  uploadTtlSeconds?: number;
  /** Largest field a parser accepts (default 1 MiB). */
  maxFieldBytes?: number;
  /** The clock, for tests of expiry. */
  now?: () => Date;
}

/** What `createUpload` answers: where to PUT the bytes, and until when. */
export interface UploadTicket {
  id: string;
  uploadUrl: string;
  /** ISO timestamp in UTC. */
  expiresAt: string;
}

/** An upload as recorded. */
export interface UploadRecord {
  id: string;
  target: string;
  key: string;
  filename: string;
  contentType: string | null;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string;
  jobId: string | null;
}

/** What an INGEST_FILE job's payload holds: ids and keys only, never rows (research §6 Q12). */
export interface IngestJobPayload {
  target: string;
  key: string;
  /** The name the user knows the file by, for messages. */
  filename?: string;
  uploadId?: string;
}

function iso(v: Row[string] | undefined): string {
  const s = String(v ?? '');
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

function text(v: Row[string] | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** The ingestion flows; see the module comment. */
export class IngestService {
  readonly #wh: Warehouse;
  readonly #store: ObjectStore;
  readonly #jobs: JobStore;
  readonly #queue: JobQueue;
  readonly #targets: ReadonlyMap<string, Target>;
  readonly #maxUploadBytes: number;
  readonly #signer: UrlSigner;
  readonly #baseUrl: string;
  readonly #onTablesChanged: ((tables: string[]) => unknown) | undefined;
  readonly #log: Logger | undefined;
  readonly #ttl: number;
  readonly #maxFieldBytes: number | undefined;
  readonly #now: () => Date;
  /** Inbox objects already reported as naming no target. */
  readonly #warnedInbox = new Set<string>();
  #ready: Promise<void> | undefined;

  constructor(options: IngestServiceOptions) {
    this.#wh = options.warehouse;
    this.#store = options.store;
    this.#jobs = options.jobs;
    this.#queue = options.queue;
    this.#targets = options.targets;
    this.#maxUploadBytes = options.maxUploadBytes;
    this.#signer = new UrlSigner(options.signingSecret);
    this.#baseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.#onTablesChanged = options.onTablesChanged;
    this.#log = options.logger;
    this.#ttl = options.uploadTtlSeconds ?? DEFAULT_UPLOAD_TTL_SECONDS;
    this.#maxFieldBytes = options.maxFieldBytes;
    this.#now = options.now ?? (() => new Date());
  }

  /** Creates the uploads table when missing (also done lazily on first use). */
  init(): Promise<void> {
    this.#ready ??= this.#wh.ensureTable(UPLOADS_TABLE).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
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

  /**
   * Registers an upload and answers where to PUT it: the store's pre-signed URL, or the service's own
   * signed `PUT /uploads/<id>`. With a principal, checks that it may ingest into the target's team
   * (the GraphQL resolvers check before calling and pass `createdBy` instead).
   */
  async createUpload(input: { target: string; filename: string; contentType?: string | null; principal?: Principal; createdBy?: string | null }): Promise<UploadTicket> {
    const target = this.target(input.target);
    if (input.principal) assertCan(input.principal, 'ingest', teamOfTarget(target));
    if (typeof input.filename !== 'string' || input.filename.trim() === '') {
      throw new UserError('BAD_USER_INPUT', 'filename: expected the name of the file being uploaded, got an empty string');
    }
    await this.init();
    const id = randomUUID();
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.#ttl * 1000);
    const key = rawObjectKey(target.name, id, input.filename, now);
    const contentType = input.contentType ?? undefined;
    const createdBy = input.createdBy ?? input.principal?.keyId ?? null;
    const p = (i: number, type?: 'timestamp') => this.#wh.dialect.param(i, type);
    await this.#wh.execute(
      `INSERT INTO ${this.#wh.dialect.quoteTable(UPLOADS_TABLE.table)} (id, target, key, filename, content_type, created_by, created_at, expires_at, job_id)
       VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7, 'timestamp')}, ${p(8, 'timestamp')}, NULL)`,
      [id, target.name, key, input.filename, contentType ?? null, createdBy, now.toISOString(), expiresAt.toISOString()],
    );
    const presigned = await this.#store.signedPutUrl(key, { expiresIn: this.#ttl, ...(contentType ? { contentType } : {}) });
    const exp = Math.floor(expiresAt.getTime() / 1000);
    const uploadUrl = presigned ?? `${this.#baseUrl}/uploads/${encodeURIComponent(id)}?sig=${this.#sign(id, exp)}&exp=${exp}`;
    return { id, uploadUrl, expiresAt: expiresAt.toISOString() };
  }

  /** The upload of that id, or undefined. */
  async getUpload(id: string): Promise<UploadRecord | undefined> {
    await this.init();
    const rows = await this.#wh.query(`SELECT * FROM ${this.#wh.dialect.quoteTable(UPLOADS_TABLE.table)} WHERE id = ${this.#wh.dialect.param(1)}`, [id]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      id: String(r.id),
      target: String(r.target),
      key: String(r.key),
      filename: String(r.filename),
      contentType: text(r.content_type),
      createdBy: text(r.created_by),
      createdAt: iso(r.created_at),
      expiresAt: iso(r.expires_at),
      jobId: text(r.job_id),
    };
  }

  /** The target name of an upload (for the resolvers' access check), or undefined when no upload has that id. */
  async uploadTarget(id: string): Promise<string | undefined> {
    return (await this.getUpload(id))?.target;
  }

  /**
   * Stores the body of the service's own `PUT /uploads/<id>`. The signature and expiry of the URL are
   * the authorisation (FORBIDDEN otherwise); the size limit is enforced while streaming
   * (PAYLOAD_TOO_LARGE, and nothing is stored).
   */
  async receiveUpload(input: { id: string; sig: string; exp: string | number; body: Readable; contentType?: string | undefined; contentLength?: number }): Promise<ObjectInfo> {
    const { id, body } = input;
    try {
      const exp = typeof input.exp === 'number' ? input.exp : Number(input.exp);
      if (!Number.isInteger(exp) || !this.#verify(id, exp, input.sig)) {
        throw new UserError('FORBIDDEN', 'the upload URL is not valid (its signature does not match); ask createUpload for a new one');
      }
      if (exp * 1000 < this.#now().getTime()) throw new UserError('FORBIDDEN', 'the upload URL has expired; ask createUpload for a new one');
      const upload = await this.getUpload(id);
      if (!upload) throw new UserError('NOT_FOUND', `no upload with id "${id}"`);
      if (upload.jobId) throw new UserError('BAD_USER_INPUT', `upload ${id} is already completed (job ${upload.jobId}); its file cannot change — create a new upload`);
      if (input.contentLength !== undefined && input.contentLength > this.#maxUploadBytes) throw this.#tooLarge();

      const controller = new AbortController();
      let seen = 0;
      let overflow = false;
      const limited = async function* (max: number): AsyncGenerator<Buffer> {
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          seen += buf.length;
          if (seen > max) {
            overflow = true;
            controller.abort();
            throw new UserError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${max} bytes`);
          }
          yield buf;
        }
      };
      const stream = Readable.from(limited(this.#maxUploadBytes), { objectMode: false });
      const contentType = input.contentType ?? upload.contentType ?? undefined;
      try {
        return await this.#store.put(upload.key, stream, { signal: controller.signal, ...(contentType ? { contentType } : {}) });
      } catch (err) {
        if (overflow) throw this.#tooLarge();
        throw err;
      }
    } finally {
      // An unread or half-read request body must not keep the connection's stream open.
      if (!body.destroyed && !body.readableEnded) body.resume();
    }
  }

  /**
   * Queues the ingestion of an upload whose bytes arrived. Completing twice answers the same job.
   * The uploaded object must exist (INPUT_INVALID "nothing was uploaded") and be within the limit.
   */
  async completeUpload(input: string | { id: string; principal?: Principal; createdBy?: string | null }): Promise<JobRecord> {
    const { id, principal } = typeof input === 'string' ? { id: input, principal: undefined } : input;
    const upload = await this.getUpload(id);
    if (!upload) throw new UserError('NOT_FOUND', `no upload with id "${id}"`);
    const target = this.target(upload.target);
    if (principal) assertCan(principal, 'ingest', teamOfTarget(target));
    const existing = await this.#jobs.get(id);
    if (existing) return existing;
    const info = await this.#store.head(upload.key);
    if (!info) throw new UserError('INPUT_INVALID', `nothing was uploaded for upload ${id}: PUT the file to its uploadUrl first, then call completeUpload`);
    if (info.size > this.#maxUploadBytes) {
      // A pre-signed S3 URL cannot cap the size; the limit is enforced here, and the oversize object dropped.
      await this.#store.delete(upload.key).catch(() => undefined);
      throw this.#tooLarge(info.size);
    }
    const job = await this.#createJob({
      // The job id is the upload id: a second completeUpload, even a concurrent one, finds the same job.
      id,
      target,
      key: upload.key,
      filename: upload.filename,
      createdBy: (typeof input === 'string' ? undefined : input.createdBy) ?? principal?.keyId ?? upload.createdBy,
      extra: { uploadId: id },
    });
    await this.#wh.execute(
      `UPDATE ${this.#wh.dialect.quoteTable(UPLOADS_TABLE.table)} SET job_id = ${this.#wh.dialect.param(1)} WHERE id = ${this.#wh.dialect.param(2)}`,
      [job.id, id],
    );
    return job;
  }

  /** Queues the ingestion of an object already in the store (`ingestObject`). */
  async ingestObject(input: { target: string; key: string; principal?: Principal; createdBy?: string | null }): Promise<JobRecord> {
    const target = this.target(input.target);
    if (input.principal) assertCan(input.principal, 'ingest', teamOfTarget(target));
    const key = assertObjectKey(input.key);
    if (input.principal && input.principal.teams !== '*') {
      // Keys carry no team: a team-scoped key may only load files kept for a target of its own teams
      // (their inbox or raw inputs), or it could copy another team's raw files into its tables.
      const [area, owner] = key.split('/');
      const ownerTarget = owner === undefined ? undefined : this.#targets.get(owner);
      if (!(area === 'inbox' || area === 'raw') || !ownerTarget || !can(input.principal, 'ingest', teamOfTarget(ownerTarget))) {
        throw new UserError('FORBIDDEN', `this API key may only ingest objects under inbox/<target>/ or raw/<target>/ for targets of its teams, not "${key}"`);
      }
    }
    if (!(await this.#store.head(key))) throw new UserError('NOT_FOUND', `no object "${key}" in the object store`);
    return this.#createJob({ target, key, filename: basename(key), createdBy: input.createdBy ?? input.principal?.keyId ?? null });
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

  /**
   * Picks up every object under `inbox/<target>/`: moves it to its raw key and queues one job each.
   * Objects of unknown targets are logged and left where they are.
   */
  async scanInbox(): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    const found: ObjectInfo[] = [];
    for await (const info of this.#store.list(INBOX_PREFIX)) found.push(info);
    for (const info of found) {
      const [, targetName, ...rest] = info.key.split('/');
      const target = targetName === undefined ? undefined : this.#targets.get(targetName);
      if (!target || rest.length === 0) {
        // Once per object, not at every scan: the file stays where it is until someone moves it.
        if (!this.#warnedInbox.has(info.key)) {
          this.#warnedInbox.add(info.key);
          this.#log?.warn(`inbox object ${info.key} left in place: "${targetName ?? ''}" is not a target; put it under inbox/<target>/ with one of: ${[...this.#targets.keys()].join(', ')}`, {
            key: info.key,
          });
        }
        continue;
      }
      const id = randomUUID();
      const filename = rest[rest.length - 1];
      const key = rawObjectKey(target.name, id, filename, this.#now());
      try {
        // Moved first: of two scanners racing for one file, only one move succeeds and queues a job.
        await this.#store.move(info.key, key);
      } catch (err) {
        this.#log?.warn('inbox object could not be moved (another scan took it?)', { key: info.key, err });
        continue;
      }
      jobs.push(await this.#createJob({ id, target, key, filename, createdBy: null, extra: { inbox: info.key } }));
    }
    return jobs;
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
    const onProgress = (_rows: number, bytes: number, total?: number): void => {
      if (!total) return;
      // Parsing is most of the work, so bytes read is the honest measure; 99 until the merge commits.
      const percent = Math.min(99, Math.floor((bytes / total) * 100));
      if (percent === lastPercent) return;
      lastPercent = percent;
      reporting = reporting.then(() => ctx.progress(percent)).catch(() => undefined);
    };
    try {
      const result = await loadObject(
        { warehouse: this.#wh, store: this.#store },
        { target, key, runId: ctx.id, signal: ctx.signal, filename: payload.filename, maxFieldBytes: this.#maxFieldBytes, onProgress },
      );
      await reporting;
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

  async #createJob(input: { id?: string; target: Target; key: string; filename: string; createdBy: string | null; extra?: Record<string, unknown> }): Promise<JobRecord> {
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

  #sign(id: string, exp: number): string {
    return this.#signer.sign(id, exp);
  }

  #verify(id: string, exp: number, sig: string): boolean {
    return this.#signer.verify(sig, id, exp);
  }

  #tooLarge(size?: number): UserError {
    return new UserError('PAYLOAD_TOO_LARGE', `the upload${size !== undefined ? ` (${size} bytes)` : ''} is larger than the limit of ${this.#maxUploadBytes} bytes`);
  }
}
