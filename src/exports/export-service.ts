/**
 * Exports on demand (docs/graphql.md, docs/exports.md, docs/http.md): `exportQuery` queues an EXPORT job that asks its question
 * through the serving layer and writes the file into the object store; a finished job's `downloadUrl` is
 * the store's pre-signed GET (S3), or the service's own signed, expiring `GET /downloads/<job>` (the
 * folder store) bound to the key it was made for. The same writers stream `GET /exports/…` and
 * `sextant export` directly.
 *
 * Access: a job runs as a reader of its own team only, whoever asked; a download link names its key
 * and is refused once that key is revoked or may no longer read the team, when it has expired, or when
 * any part of it was changed.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { posix } from 'node:path';
import type { ApiKeyInfo } from '../auth/key-store.js';
import { LOOPBACK_PRINCIPAL, assertCan, can, type Principal } from '../auth/principal.js';
import { createUrlSigner, type UrlSigner } from '../auth/signed-url.js';
import { UserError } from '../errors.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import type { JobContext, JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import type { Model } from '../semantic/types.js';
import type { AnswerStream, SemanticQueryInput, Serving } from '../serving/types.js';
import type { ObjectStore } from '../storage/port.js';
import type { Row } from '../warehouse/port.js';
import { writeCsv } from './csv-writer.js';
import { columnHeader } from './describe.js';
import { inertText } from './inert.js';
import { CONTENT_TYPES, EXPORT_FILE_FORMATS, type ExportFileFormat, type ExportOptions, type ExportSummary } from './export-options.js';

/** How long a download link works, unless configured (seconds). */
export const DEFAULT_DOWNLOAD_TTL_SECONDS = 3600;

/**
 * How long the link of a report's file (the one Slack is sent) works, unless configured
 * (SEXTANT_REPORT_LINK_TTL): a week, so that a message read days later still downloads. It is also the
 * longest an S3 pre-signed URL (SigV4) may last.
 */
export const DEFAULT_REPORT_LINK_TTL_SECONDS = 7 * 24 * 3600;

/** A CSV export of at least this many rows is unloaded by a warehouse that can (Redshift), unless configured. */
export const DEFAULT_UNLOAD_MIN_ROWS = 1_000_000;

/** What a report link is bound to when no key asked for the run (a scheduled run): its team. */
const TEAM_BINDING = 'team:';

/** Writes an answer in a format (ExcelJS is imported for the first XLSX file: a process that writes none does not hold it, ~25 MB of RSS). */
export async function writeExport(format: ExportFileFormat, answer: AnswerStream, out: Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  return format === 'xlsx' ? (await import('./xlsx-writer.js')).writeXlsx(answer, out, options) : writeCsv(answer, out, options);
}

/** `XLSX`, `xlsx`, `Csv` → the format; anything else BAD_USER_INPUT. */
export function exportFormatOf(text: string): ExportFileFormat {
  const f = text.toLowerCase();
  if (!(EXPORT_FILE_FORMATS as readonly string[]).includes(f)) throw new UserError('BAD_USER_INPUT', `format: expected one of ${EXPORT_FILE_FORMATS.join(', ')}, got "${text}"`);
  return f as ExportFileFormat;
}

/**
 * The answer with its first batch already read: a face that has not answered yet (HTTP status, file
 * not yet created) learns of a bad question or a failing warehouse before it commits to a download.
 */
export async function primed(answer: AnswerStream): Promise<AnswerStream> {
  const iterator = answer.batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* batches(): AsyncIterable<Row[]> {
    if (first.done) return;
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { ...answer, batches: batches() };
}

/** What the EXPORT job's payload carries. */
interface ExportPayload {
  team: string;
  createdBy: string | null;
  format: ExportFileFormat;
  input: SemanticQueryInput;
}

function payloadOf(raw: Record<string, unknown>): ExportPayload {
  const { team, createdBy, format, input } = raw as Partial<ExportPayload>;
  if (typeof team !== 'string' || typeof format !== 'string' || !input || typeof input !== 'object' || typeof input.model !== 'string') {
    throw new UserError('BAD_USER_INPUT', 'the EXPORT job payload needs team, format and input (a SemanticQueryInput)');
  }
  return { team, createdBy: typeof createdBy === 'string' ? createdBy : null, format: exportFormatOf(format), input };
}

/** A job asks as a reader of its own team: never more than the key that queued it could read. */
function jobPrincipal(team: string, createdBy: string | null): Principal {
  return Object.freeze({ keyId: createdBy ?? undefined, role: 'reader', teams: Object.freeze([team]) });
}

/** An export's question without a page: an export holds every row of the question. */
function wholeQuestion(input: SemanticQueryInput): SemanticQueryInput {
  return { ...input, limit: null, offset: null };
}

/** What a download link's signature covers besides its expiry: the purpose, the job and the key it was made for. */
export function downloadSubject(jobId: string, by: string): string {
  return `download\n${jobId}\n${by}`;
}

/** A download being served. */
export interface Download {
  body: Readable;
  filename: string;
  contentType: string;
  size?: number;
}

/** An export ready to be written: the question has been planned and its first rows read. */
export interface OpenExport {
  model: Model;
  format: ExportFileFormat;
  /** `post_performance.xlsx`. */
  filename: string;
  contentType: string;
  /** Writes the file to `out` and ends it. */
  write(out: Writable, options?: Pick<ExportOptions, 'onRows' | 'signal'>): Promise<ExportSummary>;
}

export interface ExportServiceOptions {
  /** `count`, `canUnload` and `unload` serve big CSV exports on a warehouse that can UNLOAD. */
  serving: Pick<Serving, 'model' | 'toQuery' | 'stream'> & Partial<Pick<Serving, 'count' | 'canUnload' | 'unload'>>;
  store: Pick<ObjectStore, 'put' | 'get' | 'head' | 'signedGetUrl'>;
  jobs: Pick<JobStore, 'create' | 'get'>;
  queue: Pick<JobQueue, 'enqueue'>;
  /** To check, when a download link is used, that its key still exists and may read the team. */
  keys: { list(): Promise<ApiKeyInfo[]>; countCached(): Promise<number> };
  /** Same secret as upload URLs (SEXTANT_SIGNING_SECRET); random per process when unset. */
  signingSecret?: string;
  /** Where the service is reachable, for its own download links. */
  publicBaseUrl: string;
  downloadTtlSeconds?: number;
  /** CSV exports of at least this many rows (by `Serving.count`) are unloaded when the warehouse can; 0: never. */
  unloadMinRows?: number;
  /** Lifetime of the links of reports' files (Slack); default {@link DEFAULT_REPORT_LINK_TTL_SECONDS}. */
  reportLinkTtlSeconds?: number;
  now?: () => Date;
  log?: Logger;
}

export class ExportService {
  readonly #o: ExportServiceOptions;
  readonly #signer: UrlSigner;
  readonly #baseUrl: string;
  readonly #ttl: number;
  readonly #reportTtl: number;
  readonly #now: () => Date;

  constructor(options: ExportServiceOptions) {
    this.#o = options;
    this.#signer = createUrlSigner(options.signingSecret);
    this.#baseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.#ttl = options.downloadTtlSeconds ?? DEFAULT_DOWNLOAD_TTL_SECONDS;
    this.#reportTtl = options.reportLinkTtlSeconds ?? DEFAULT_REPORT_LINK_TTL_SECONDS;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Plans the question as `principal` and reads its first rows; FORBIDDEN / UNKNOWN_MODEL /
   * BAD_USER_INPUT arrive here, before anything is written.
   */
  async open(principal: Principal, input: SemanticQueryInput, format: ExportFileFormat, options: { signal?: AbortSignal; batchSize?: number } = {}): Promise<OpenExport> {
    const serving = this.#o.serving;
    const model = serving.model(principal, input.model);
    assertCan(principal, 'read', model.team);
    const query = serving.toQuery(principal, wholeQuestion(input));
    const answer = await primed(await serving.stream(principal, query, options));
    return {
      model,
      format,
      filename: `${model.name}.${format}`,
      contentType: CONTENT_TYPES[format],
      write: (out, writeOptions = {}) => writeExport(format, answer, out, { model, ...writeOptions }),
    };
  }

  /** `exportQuery`: records and queues an EXPORT job of the principal's question. */
  async exportQuery(input: { principal: Principal; query: SemanticQueryInput; format: string }): Promise<JobRecord> {
    const { principal } = input;
    const format = exportFormatOf(input.format);
    const model = this.#o.serving.model(principal, input.query.model);
    assertCan(principal, 'read', model.team);
    const query = wholeQuestion({ ...input.query, model: model.id });
    // Checked now (page, filter values), so that a malformed question fails the mutation, not the job.
    this.#o.serving.toQuery(principal, query);
    const createdBy = principal.keyId ?? null;
    const payload: ExportPayload = { team: model.team, createdBy, format, input: query };
    const job = await this.#o.jobs.create({ type: 'EXPORT', team: model.team, payload: { ...payload }, createdBy, maxAttempts: 2 });
    await this.#o.queue.enqueue({ id: job.id, type: 'EXPORT', payload: job.payload, attempts: job.maxAttempts });
    return job;
  }

  /** The EXPORT job: asks the question as a reader of the job's team and stores the file. */
  readonly handleExportJob = async (ctx: JobContext): Promise<Record<string, unknown>> => {
    const payload = payloadOf(ctx.payload);
    const principal = jobPrincipal(payload.team, payload.createdBy);
    const unloaded = await this.#unloadIfBig(principal, payload, ctx);
    if (unloaded) return unloaded;
    const opened = await this.open(principal, payload.input, payload.format, { signal: ctx.signal });
    const key = `exports/${payload.team}/${ctx.id}/${opened.filename}`;
    const summary = await this.writeToStore(key, opened, ctx.signal);
    return { rowsRead: summary.rows, rowsLoaded: summary.rows, resultKey: key, sheets: summary.sheets };
  };

  /**
   * A CSV export of at least `unloadMinRows` rows on a warehouse that can write files itself (Redshift):
   * the warehouse writes the CSV into the object store by UNLOAD, and no row passes through this
   * process. Undefined when the export is to be streamed (XLSX, a smaller answer, another warehouse).
   */
  async #unloadIfBig(principal: Principal, payload: ExportPayload, ctx: JobContext): Promise<Record<string, unknown> | undefined> {
    const serving = this.#o.serving;
    const min = this.#o.unloadMinRows ?? DEFAULT_UNLOAD_MIN_ROWS;
    if (payload.format !== 'csv' || min <= 0 || !serving.canUnload?.() || !serving.count || !serving.unload) return undefined;
    const model = serving.model(principal, payload.input.model);
    assertCan(principal, 'read', model.team);
    const query = serving.toQuery(principal, wholeQuestion(payload.input));
    const rows = await serving.count(principal, query);
    if (rows < min) return undefined;
    this.#o.log?.info('export unloaded by the warehouse', { job: ctx.id, model: model.id, rows });
    const result = await serving.unload(principal, query, {
      prefix: `exports/${payload.team}/${ctx.id}/${model.name}_`,
      headerOf: (c) => inertText(columnHeader(c)),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return { rowsRead: result.rows, rowsLoaded: result.rows, resultKey: result.keys[0], files: result.keys, unloaded: true };
  }

  /** Writes an opened export into the object store under `key` (reports use it too). */
  async writeToStore(key: string, opened: OpenExport, signal?: AbortSignal): Promise<ExportSummary> {
    const controller = new AbortController();
    const abort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    const body = new PassThrough();
    const stored = this.#o.store.put(key, body, { contentType: opened.contentType, signal: controller.signal });
    // A store that fails stops the writer (it would otherwise wait on a stream nobody reads).
    stored.catch((err: unknown) => controller.abort(err));
    try {
      const [summary] = await Promise.all([opened.write(body, { signal: controller.signal }), stored]);
      return summary;
    } catch (err) {
      controller.abort(err);
      await stored.catch(() => undefined);
      throw err;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Where `principal` can download a finished export (null while it runs, or when the principal may not
   * read its team). Pre-signed by the store when it can; else the service's own link, bound to the key.
   */
  async downloadUrl(job: JobRecord, principal: Principal): Promise<string | null> {
    if (!job.resultKey || job.status !== 'SUCCEEDED' || job.team === null || !can(principal, 'read', job.team)) return null;
    return this.#link(job.id, job.resultKey, principal.keyId ?? '-', this.#ttl);
  }

  /**
   * The link sent to Slack for a report's file, which people open days later: it lasts
   * `reportLinkTtlSeconds` (a week by default) instead of an hour. A run asked for with a key
   * (`runReport`) is bound to that key like an export's link; a scheduled run, which no key asked for,
   * is bound to the report's team — the link is then the credential, as an S3 pre-signed URL is.
   */
  async reportDownloadUrl(run: { id: string; team: string; resultKey: string; createdBy: string | null }): Promise<string> {
    return this.#link(run.id, run.resultKey, run.createdBy ?? `${TEAM_BINDING}${run.team}`, this.#reportTtl);
  }

  /** Pre-signed by the store when it can; else the service's own link, signed over the job, `by` and the expiry. */
  async #link(jobId: string, resultKey: string, by: string, ttl: number): Promise<string> {
    const presigned = await this.#o.store.signedGetUrl(resultKey, { expiresIn: ttl });
    if (presigned) return presigned;
    const exp = Math.floor(this.#now().getTime() / 1000) + ttl;
    const sig = this.#signer.sign(downloadSubject(jobId, by), exp);
    return `${this.#baseUrl}/downloads/${encodeURIComponent(jobId)}?by=${encodeURIComponent(by)}&exp=${exp}&sig=${sig}`;
  }

  /** Checks a download link (`GET /downloads/<job>?by&exp&sig`) and opens the file it names. */
  async openDownload(link: { job: string; by?: string; exp?: string; sig?: string }): Promise<Download> {
    const { job: id, by, exp, sig } = link;
    if (!by || !exp || !sig) throw new UserError('BAD_USER_INPUT', 'a download link carries by, exp and sig parameters: use the downloadUrl of the export job');
    const expiry = Number(exp);
    if (!Number.isInteger(expiry) || !this.#signer.verify(downloadSubject(id, by), expiry, sig)) {
      throw new UserError('FORBIDDEN', 'the download link is not valid (it was changed, or signed by another deployment); ask the job for its downloadUrl again');
    }
    if (expiry * 1000 < this.#now().getTime()) throw new UserError('FORBIDDEN', 'the download link has expired; ask the job for its downloadUrl again');
    const principal = await this.#principalOf(by);
    const job = await this.#o.jobs.get(id);
    if (!job || !job.resultKey || job.team === null) throw new UserError('NOT_FOUND', `export job ${id} has no file`);
    if (!can(principal, 'read', job.team)) throw new UserError('FORBIDDEN', `the key this link was made for may not read team "${job.team}"`);
    const info = await this.#o.store.head(job.resultKey);
    if (!info) throw new UserError('NOT_FOUND', `the file of export job ${id} is no longer in the object store`);
    const filename = posix.basename(job.resultKey);
    const format = filename.endsWith('.csv') ? 'csv' : 'xlsx';
    return { body: await this.#o.store.get(job.resultKey), filename, contentType: CONTENT_TYPES[format], size: info.size };
  }

  /** The principal a link was made for, as it is now: a revoked key's links stop working. */
  async #principalOf(by: string): Promise<Principal> {
    // A scheduled report's link: a reader of the report's team (the signature covers `by`, so it cannot be widened).
    if (by.startsWith(TEAM_BINDING)) return Object.freeze({ keyId: undefined, role: 'reader', teams: Object.freeze([by.slice(TEAM_BINDING.length)]) });
    if (by === '-') {
      // A keyless (loopback) link works only while the service is still keyless.
      if ((await this.#o.keys.countCached()) === 0) return LOOPBACK_PRINCIPAL;
      throw new UserError('FORBIDDEN', 'this download link was made before API keys existed; ask for a new one with a key');
    }
    const key = (await this.#o.keys.list()).find((k) => k.id === by);
    if (!key || key.revokedAt !== undefined) throw new UserError('FORBIDDEN', 'the API key this download link was made for is revoked or unknown');
    return Object.freeze({ keyId: key.id, role: key.role, teams: key.teams });
  }
}
