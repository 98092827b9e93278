/**
 * Uploads (`createUpload` → PUT → `completeUpload`): the uploads table, upload URLs (the store's
 * pre-signed PUT, or the service's own signed `PUT /uploads/<id>`), the streamed size limit, and the
 * hand-over to the ingest job once the bytes arrived.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { assertCan, type Principal } from '../auth/principal.js';
import type { UrlSigner } from '../auth/signed-url.js';
import { UserError } from '../errors.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import { rawObjectKey } from '../storage/keys.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';
import type { Row, TableSpec, Warehouse } from '../warehouse/port.js';
import type { IngestJobs } from './ingest-jobs.js';
import { teamOfTarget } from './targets.js';

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

/** How long an upload URL stays valid by default. */
export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;

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

function iso(v: Row[string] | undefined): string {
  const s = String(v ?? '');
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

function text(v: Row[string] | undefined): string | null {
  return v === null || v === undefined ? null : String(v);
}

export interface UploadsOptions {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  ingest: IngestJobs;
  /** Largest accepted upload in bytes. */
  maxUploadBytes: number;
  /** Signs the service's own upload URLs. */
  signer: UrlSigner;
  /** Base URL clients reach the service at, for `PUT /uploads/<id>` URLs. */
  publicBaseUrl: string;
  /** Validity of upload URLs in seconds. */
  ttlSeconds: number;
  now: () => Date;
}

export class Uploads {
  readonly #wh: Warehouse;
  readonly #store: ObjectStore;
  readonly #jobs: JobStore;
  readonly #ingest: IngestJobs;
  readonly #signer: UrlSigner;
  readonly #baseUrl: string;
  readonly #ttl: number;
  readonly #now: () => Date;
  /** Largest accepted upload in bytes (the HTTP face cuts request bodies at it too). */
  readonly maxUploadBytes: number;
  #ready: Promise<void> | undefined;

  constructor(options: UploadsOptions) {
    this.#wh = options.warehouse;
    this.#store = options.store;
    this.#jobs = options.jobs;
    this.#ingest = options.ingest;
    this.#signer = options.signer;
    this.#baseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.#ttl = options.ttlSeconds;
    this.#now = options.now;
    this.maxUploadBytes = options.maxUploadBytes;
  }

  /** Creates the uploads table when missing (also done lazily on first use). */
  init(): Promise<void> {
    this.#ready ??= this.#wh.ensureTable(UPLOADS_TABLE).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /**
   * Registers an upload and answers where to PUT it: the store's pre-signed URL, or the service's own
   * signed `PUT /uploads/<id>`. With a principal, checks that it may ingest into the target's team
   * (the GraphQL resolvers check before calling and pass `createdBy` instead).
   */
  async createUpload(input: { target: string; filename: string; contentType?: string | null; principal?: Principal; createdBy?: string | null }): Promise<UploadTicket> {
    const target = this.#ingest.target(input.target);
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
    const uploadUrl = presigned ?? `${this.#baseUrl}/uploads/${encodeURIComponent(id)}?sig=${this.#signer.sign(id, exp)}&exp=${exp}`;
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
      if (!Number.isInteger(exp) || !this.#signer.verify(id, exp, input.sig)) {
        throw new UserError('FORBIDDEN', 'the upload URL is not valid (its signature does not match); ask createUpload for a new one');
      }
      if (exp * 1000 < this.#now().getTime()) throw new UserError('FORBIDDEN', 'the upload URL has expired; ask createUpload for a new one');
      const upload = await this.getUpload(id);
      if (!upload) throw new UserError('NOT_FOUND', `no upload with id "${id}"`);
      if (upload.jobId) throw new UserError('BAD_USER_INPUT', `upload ${id} is already completed (job ${upload.jobId}); its file cannot change — create a new upload`);
      if (input.contentLength !== undefined && input.contentLength > this.maxUploadBytes) throw this.#tooLarge();

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
      const stream = Readable.from(limited(this.maxUploadBytes), { objectMode: false });
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
    const target = this.#ingest.target(upload.target);
    if (principal) assertCan(principal, 'ingest', teamOfTarget(target));
    const existing = await this.#jobs.get(id);
    if (existing) return existing;
    const info = await this.#store.head(upload.key);
    if (!info) throw new UserError('INPUT_INVALID', `nothing was uploaded for upload ${id}: PUT the file to its uploadUrl first, then call completeUpload`);
    if (info.size > this.maxUploadBytes) {
      // A pre-signed S3 URL cannot cap the size; the limit is enforced here, and the oversize object dropped.
      await this.#store.delete(upload.key).catch(() => undefined);
      throw this.#tooLarge(info.size);
    }
    const job = await this.#ingest.createJob({
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

  #tooLarge(size?: number): UserError {
    return new UserError('PAYLOAD_TOO_LARGE', `the upload${size !== undefined ? ` (${size} bytes)` : ''} is larger than the limit of ${this.maxUploadBytes} bytes`);
  }
}
