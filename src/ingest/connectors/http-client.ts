/**
 * The HTTP side of every API connector: one request → a verdict → wait and retry, or fail. Throttling
 * waits as the API asks (Retry-After, x-rate-limit-reset, Graph codes 4/17/32/613, Google
 * RESOURCE_EXHAUSTED, 429); 5xx, network errors and cut-off bodies retry with exponential backoff and
 * full jitter; bad credentials or permissions fail at once naming the source, the stream and the cause.
 * Secrets never leave: every message is passed through `redact` and URLs lose their query strings.
 * Clock, sleep, randomness and fetch are injectable so tests run in milliseconds.
 */
import { UserError } from '../../errors.js';

export interface HttpRequest {
  method?: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
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
export type Classifier = (response: { status: number; headers: Headers; json: unknown; text: string }, now: number) => Verdict | undefined;

export interface HttpClientOptions {
  /** Source name, for messages. */
  source: string;
  fetch?: typeof fetch;
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
export function waitFromHeaders(headers: Headers, now: number): number | undefined {
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
export function defaultVerdict(status: number, headers: Headers, json: unknown, text: string, now: number): Verdict {
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
      fetch: globalThis.fetch,
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
      let status: number | undefined;
      // The run's signal or the timeout ends the request: one controller, its timer and listener dropped
      // after (AbortSignal.any + AbortSignal.timeout per request cost more than the rest of a page's work).
      const ends = new AbortController();
      const onAbort = () => ends.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => ends.abort(new DOMException(`no answer within ${this.#o.timeoutMs} ms`, 'TimeoutError')), this.#o.timeoutMs);
      try {
        this.requests++;
        const res = await this.#o.fetch(req.url, {
          method: req.method ?? 'GET',
          headers: req.headers,
          body: req.body,
          signal: ends.signal,
        });
        status = res.status;
        const body = Buffer.from(await res.arrayBuffer());
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
          status !== undefined
            ? { kind: 'retry', reason: `the response body was cut off (HTTP ${status}, ${(err as Error).message}${cause})` }
            : { kind: 'retry', reason: `the request failed (${(err as Error).message}${(err as Error).cause ? `: ${String(((err as Error).cause as Error).message ?? (err as Error).cause)}` : ''})` };
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
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
