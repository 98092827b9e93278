/**
 * The HTTP side of every API connector: one request → a verdict → wait and retry, or fail. Throttling
 * waits as the API asks (Retry-After, x-rate-limit-reset, Graph codes 4/17/32/613, Google
 * RESOURCE_EXHAUSTED, 429); 5xx, network errors and cut-off bodies retry with exponential backoff and
 * full jitter; bad credentials or permissions fail at once naming the source, the stream and the cause.
 * Secrets never leave: every message is passed through `redact` and URLs lose their query strings.
 * Clock, sleep and randomness are injectable so tests run in milliseconds.
 *
 * Requests go out through node:http(s) on the global keep-alive agents, not fetch: undici's fetch took
 * 0.47 ms of CPU per request against 0.17 ms here (bench/README.md, conn-cpu), and a backfill's pages
 * are small and many.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { UserError } from '../../errors.js';

export interface HttpRequest {
  method?: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A response's headers, read by name (case-insensitive), as `Headers.get` reads them. */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  /** The body exactly as received. */
  body: Buffer;
  /** The body parsed as JSON (undefined for an empty body). */
  json: unknown;
}

/** What a response means for the request that got it. */
export type Verdict =
  | { kind: 'ok' }
  /** Transient: retry with backoff (or after `waitMs`). */
  | { kind: 'retry'; reason: string; waitMs?: number }
  /** The API asks us to slow down: wait `waitMs` (or back off) and retry. */
  | { kind: 'throttled'; reason: string; waitMs?: number }
  /** Credentials rejected or permissions missing: fail at once. */
  | { kind: 'auth'; reason: string }
  /** Anything else a retry cannot fix: fail at once. */
  | { kind: 'fail'; reason: string };

/** A type's own reading of a response, tried before the defaults; undefined falls through. */
export type Classifier = (response: { status: number; headers: ResponseHeaders; json: unknown; text: string }, now: number) => Verdict | undefined;

export interface HttpClientOptions {
  /** Source name, for messages. */
  source: string;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Retries of one request before the run gives up (and the job's own retries take over). Default 8. */
  maxRetries?: number;
  /** First backoff, doubled per retry (default 1 s), capped at `maxBackoffMs` (default 60 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** The longest wait the run accepts from a throttling API (default 15 min); longer fails the attempt. */
  maxWaitMs?: number;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  classify?: Classifier;
  /** Replaces secrets in a message. */
  redact?: (text: string) => string;
  /** Called before each wait, for logs and tests. */
  onWait?: (info: { stream: string; reason: string; waitMs: number; attempt: number }) => void;
}

/** A request failed for good in a way a later attempt may fix (throttling past the limit, 5xx that persisted). */
export class SourceRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceRequestError';
  }
}

/** Graph API error codes that mean "too many calls" (research: Airbyte's rate-limit list). */
const GRAPH_THROTTLE_CODES = new Set([4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008]);
/** Graph codes of expired or invalid tokens and missing permissions. */
const GRAPH_AUTH_CODES = new Set([102, 190, 10]);

const sleepFor = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** How a compressed body is decoded (the encodings asked for in `accept-encoding`, as fetch asks). */
const DECODERS: Readonly<Record<string, (body: Buffer) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

function headersOf(raw: IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * One request and its whole response (decoded when the server compressed it). The run's signal or the
 * timeout ends it, rejecting with the signal's reason or a TimeoutError; a connection that closes before
 * the body ended rejects too. `got.status` is set when the status line arrives, so that the caller can
 * tell a body cut off from a request that failed.
 */
function exchange(req: HttpRequest, timeoutMs: number, signal: AbortSignal, got: { status?: number }): Promise<{ status: number; headers: ResponseHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const send = req.url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br', ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    let out: ReturnType<typeof httpRequest>;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (err: unknown): void => {
      if (!settle()) return;
      out.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason);
    const timer = setTimeout(() => fail(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      out = send(req.url, { method: req.method ?? 'GET', headers });
    } catch (err) {
      settle();
      reject(err);
      return;
    }
    out.on('error', fail);
    out.on('response', (res: IncomingMessage) => {
      got.status = res.statusCode;
      const chunks: Buffer[] = [];
      let ended = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('close', () => {
        if (!ended) fail(new Error('the connection closed before the body ended'));
      });
      res.on('end', () => {
        ended = true;
        if (settled) return;
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        const encoding = res.headers['content-encoding']?.trim().toLowerCase();
        const decode = encoding && encoding !== 'identity' ? DECODERS[encoding] : undefined;
        if (encoding && encoding !== 'identity' && !decode) return fail(new Error(`the body is encoded as "${encoding}", which this client cannot decode`));
        const done = (body: Buffer) => {
          if (settle()) resolve({ status: res.statusCode ?? 0, headers: headersOf(res.headers), body });
        };
        if (!decode) return done(raw);
        decode(raw).then(done, (err: Error) => fail(new Error(`the ${encoding} body could not be decoded (${err.message})`)));
      });
    });
    out.end(req.body);
  });
}

/** The URL without its query string: query parameters may carry tokens (`access_token=`). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.split('?')[0];
  }
}

/** Milliseconds to wait from Retry-After (seconds or an HTTP date) or x-rate-limit-reset (epoch seconds). */
export function waitFromHeaders(headers: ResponseHeaders, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('x-rate-limit-reset') ?? headers.get('x-ratelimit-reset');
  if (reset !== null && Number.isFinite(Number(reset))) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

function errorMessageOf(json: unknown, text: string): string {
  if (json && typeof json === 'object') {
    const j = json as Record<string, unknown>;
    const err = j.error;
    if (err && typeof err === 'object') {
      const e = err as Record<string, unknown>;
      return [e.message, e.status ?? e.type, e.code !== undefined ? `code ${String(e.code)}` : undefined].filter((x) => x !== undefined && x !== '').map(String).join(', ');
    }
    if (typeof err === 'string') return err;
    const parts = [j.title, j.detail].filter((x) => typeof x === 'string');
    if (parts.length > 0) return parts.join(': ');
    if (Array.isArray(j.errors) && j.errors.length > 0) return String((j.errors[0] as Record<string, unknown>).message ?? (j.errors[0] as Record<string, unknown>).detail ?? JSON.stringify(j.errors[0]));
    if (typeof j.message === 'string') return j.message;
  }
  return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * The default reading of a response, shared by every type: Graph errors (Facebook, Instagram), Google
 * status envelopes (GA4), problem JSON (X, Mailchimp), and plain HTTP statuses.
 */
export function defaultVerdict(status: number, headers: ResponseHeaders, json: unknown, text: string, now: number): Verdict {
  // A success says nothing more (and its body, often large, need not be searched for a message).
  if (status < 400 && !(json && typeof json === 'object' && (json as Record<string, unknown>).error)) return { kind: 'ok' };
  const message = errorMessageOf(json, text);
  const wait = waitFromHeaders(headers, now);
  const graph = json && typeof json === 'object' ? ((json as Record<string, unknown>).error as Record<string, unknown> | undefined) : undefined;
  const graphCode = graph && typeof graph === 'object' && typeof graph.code === 'number' ? graph.code : undefined;
  if (graphCode !== undefined && status >= 400) {
    if (GRAPH_THROTTLE_CODES.has(graphCode)) return { kind: 'throttled', reason: `rate limited (Graph error code ${graphCode}: ${message})`, waitMs: wait };
    if (GRAPH_AUTH_CODES.has(graphCode) || (graphCode >= 200 && graphCode <= 299)) return { kind: 'auth', reason: `${graphCode === 190 ? 'the access token is invalid or expired' : 'permission denied'} (${message})` };
    if (graphCode === 1 || graphCode === 2 || graph?.is_transient === true) return { kind: 'retry', reason: `temporary API error (${message})`, waitMs: wait };
  }
  if (graph && graph.status === 'RESOURCE_EXHAUSTED') return { kind: 'throttled', reason: `quota exhausted (${message})`, waitMs: wait };
  if (status === 429) return { kind: 'throttled', reason: `rate limited (HTTP 429${message ? `: ${message}` : ''})`, waitMs: wait };
  if (status === 401) return { kind: 'auth', reason: `the credentials were rejected (HTTP 401${message ? `: ${message}` : ''})` };
  if (status === 403) return { kind: 'auth', reason: `permission denied (HTTP 403${message ? `: ${message}` : ''})` };
  if (status >= 500) return { kind: 'retry', reason: `server error (HTTP ${status}${message ? `: ${message}` : ''})`, waitMs: wait };
  if (status >= 400) return { kind: 'fail', reason: `the API refused the request (HTTP ${status}${message ? `: ${message}` : ''})` };
  return { kind: 'ok' };
}

/** Sends requests for one source run with the error policy above. */
export class HttpClient {
  readonly #o: Required<Omit<HttpClientOptions, 'classify' | 'onWait'>> & Pick<HttpClientOptions, 'classify' | 'onWait'>;
  /** Requests sent, retries included (for benchmarks and logs). */
  requests = 0;

  constructor(options: HttpClientOptions) {
    this.#o = {
      sleep: sleepFor,
      now: Date.now,
      random: Math.random,
      maxRetries: 8,
      baseBackoffMs: 1000,
      maxBackoffMs: 60_000,
      maxWaitMs: 15 * 60_000,
      timeoutMs: 60_000,
      redact: (t) => t,
      ...options,
    };
  }

  /** A message safe to show: secrets replaced, prefixed with the source and stream. */
  #message(stream: string, text: string): string {
    return this.#o.redact(`source "${this.#o.source}", stream ${stream}: ${text}`);
  }

  /** Exponential backoff with full jitter: uniform in [d/2, d] where d doubles per attempt. */
  #backoff(attempt: number): number {
    const d = Math.min(this.#o.maxBackoffMs, this.#o.baseBackoffMs * 2 ** (attempt - 1));
    return Math.round(d / 2 + this.#o.random() * (d / 2));
  }

  /** Sends the request, retrying as the policy says; resolves with a 2xx response whose body parsed. */
  async request(stream: string, req: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      let verdict: Verdict;
      let response: HttpResponse | undefined;
      const got: { status?: number } = {};
      try {
        this.requests++;
        const res = await exchange(req, this.#o.timeoutMs, signal, got);
        const body = res.body;
        const text = body.toString('utf8');
        let json: unknown;
        let parsed = true;
        if (text.trim() !== '') {
          try {
            json = JSON.parse(text);
          } catch {
            parsed = false;
          }
        }
        const now = this.#o.now();
        verdict = this.#o.classify?.({ status: res.status, headers: res.headers, json, text }, now) ?? defaultVerdict(res.status, res.headers, json, text, now);
        if (verdict.kind === 'ok' && !parsed) verdict = { kind: 'retry', reason: `the response body was cut off or is not JSON (${body.length} bytes)` };
        response = { status: res.status, headers: res.headers, body, json };
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const cause = (err as Error).cause ? `: ${String(((err as Error).cause as Error).message ?? (err as Error).cause)}` : '';
        verdict =
          got.status !== undefined
            ? { kind: 'retry', reason: `the response body was cut off (HTTP ${got.status}, ${(err as Error).message}${cause})` }
            : { kind: 'retry', reason: `the request failed (${(err as Error).message}${cause})` };
      }
      switch (verdict.kind) {
        case 'ok':
          return response as HttpResponse;
        case 'auth':
          throw new UserError('SOURCE_AUTH', this.#message(stream, `${verdict.reason}; check the credentials in sources/${this.#o.source}.yml and the permissions of the account (${req.method ?? 'GET'} ${safeUrl(req.url)})`));
        case 'fail':
          throw new UserError('SOURCE_FAILED', this.#message(stream, `${verdict.reason} (${req.method ?? 'GET'} ${safeUrl(req.url)})`));
        default: {
          if (attempt > this.#o.maxRetries) {
            throw new SourceRequestError(this.#message(stream, `${verdict.reason}; gave up after ${attempt} tries (${req.method ?? 'GET'} ${safeUrl(req.url)})`));
          }
          const asked = verdict.waitMs;
          if (asked !== undefined && asked > this.#o.maxWaitMs) {
            throw new SourceRequestError(this.#message(stream, `${verdict.reason}; the API asks to wait ${Math.ceil(asked / 1000)} s, more than the ${Math.ceil(this.#o.maxWaitMs / 1000)} s a run waits; the job will try again later`));
          }
          // Waiting exactly until the reset makes every client hit the API at the same instant: add jitter.
          const waitMs = asked !== undefined ? asked + Math.round(this.#o.random() * Math.min(1000, this.#o.baseBackoffMs)) : this.#backoff(attempt);
          this.#o.onWait?.({ stream, reason: this.#o.redact(verdict.reason), waitMs, attempt });
          await this.#o.sleep(waitMs, signal);
        }
      }
    }
  }

  /** GET a URL and parse it as JSON (the common case). */
  get(stream: string, url: string, headers: Record<string, string> | undefined, signal: AbortSignal): Promise<HttpResponse> {
    return this.request(stream, { url, headers }, signal);
  }
}
