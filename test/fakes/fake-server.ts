/**
 * The tiny server every third-party API fake is built on (test/fakes/<api>/): an HTTP server on a
 * free loopback port that records each request, routes it to the fake's handlers, and injects the
 * faults a test (or a newcomer, through `npm run fakes`) asks for.
 *
 * A fake supplies its routes and how the real API answers a throttled request, a server error and
 * bad credentials; this file decides *when* (the Nth data request, so many times) and also cuts
 * bodies short. Faults can be set in-process (`fake.inject`) or over HTTP (`POST /__fake/faults`),
 * so a worker in another process meets the same faults.
 *
 * The API is deliberately small and stable: `startFakeServer(api)`, `FakeServer.{url, requests,
 * inject, clearFaults, reset, close}`, and the `json` / `problem` reply helpers.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The faults every fake can inject. */
export const FAULT_KINDS = ['throttle', 'server_error', 'truncate', 'bad_credentials'] as const;
/** One kind of injected failure. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A fault to inject: on the `at`-th data request (1-based) whose path contains `match`, and the `times - 1` after it. */
export interface Fault {
  kind: FaultKind;
  /** The data request (a page) the fault starts at, counting from 1 since the fault was injected. Default 1. */
  at?: number;
  /** How many consecutive matching data requests fail. Default 1 (the retry then succeeds). */
  times?: number;
  /** Only data requests whose path (with query) contains this text count. */
  match?: string;
  /** For `throttle`: the wait the response asks for, in seconds (Retry-After or the API's equivalent). Default 1. */
  retryAfterSeconds?: number;
}

/** A request as the fake saw it. */
export interface FakeRequest {
  method: string;
  /** Path without the query string, e.g. `/v1beta/properties/123:runReport`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body text ('' for none). */
  body: string;
  /** The fault answered instead of the route, if any. */
  fault?: FaultKind;
  /** HTTP status sent back. */
  status?: number;
}

/** What a route answers. An object `body` is sent as JSON; a string as is. */
export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One endpoint of a fake. */
export interface FakeRoute {
  method: 'GET' | 'POST';
  /** Matched against the path; capture groups are passed to `handle`. */
  path: RegExp;
  /** True for requests that return a page of data: these are what `Fault.at` counts. */
  data?: boolean;
  handle(request: FakeRequest, params: string[]): FakeReply | Promise<FakeReply>;
}

/** A third-party API as a fake: its routes and the real shapes of its failures. */
export interface FakeApi {
  /** Short name used in logs and `npm run fakes` (e.g. `ga4`). */
  name: string;
  routes: FakeRoute[];
  /** The API's throttling answer (status, headers, body) asking to wait `seconds`. */
  throttled(request: FakeRequest, seconds: number): FakeReply;
  /** The API's answer to a server-side failure. */
  serverError(request: FakeRequest): FakeReply;
  /** The API's answer to a bad or expired credential. */
  unauthorized(request: FakeRequest): FakeReply;
  /** The answer to a path no route knows (default: a plain 404). */
  notFound?(request: FakeRequest): FakeReply;
}

/** A running fake. */
export interface FakeServer {
  name: string;
  /** `http://127.0.0.1:<port>`: the base a source's `base_url` is built on. */
  url: string;
  /** Every request received, in order (control requests to `/__fake/*` excluded). */
  readonly requests: FakeRequest[];
  /** Adds a fault; its `at` counts the data requests from now on. */
  inject(fault: Fault): void;
  /** Removes every pending fault. */
  clearFaults(): void;
  /** Clears faults and the request log. */
  reset(): void;
  close(): Promise<void>;
}

/** A JSON reply. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): FakeReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

/** Parses `key` as a whole number ≥ `min`, or returns `fallback` when absent; NaN when malformed. */
export function intParam(query: URLSearchParams, key: string, fallback: number, min = 0): number {
  const raw = query.get(key);
  if (raw === null || raw === '') return fallback;
  return /^\d+$/.test(raw) && Number(raw) >= min ? Number(raw) : Number.NaN;
}

interface PendingFault extends Required<Pick<Fault, 'kind' | 'at' | 'times' | 'retryAfterSeconds'>> {
  match?: string;
  seen: number;
}

const MAX_BODY_BYTES = 1 << 20;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body over 1 MiB'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function encode(reply: FakeReply): { headers: Record<string, string>; bytes: Buffer } {
  const headers = { ...(reply.headers ?? {}) };
  let bytes: Buffer;
  if (reply.body === undefined) bytes = Buffer.alloc(0);
  else if (typeof reply.body === 'string') bytes = Buffer.from(reply.body, 'utf8');
  else {
    bytes = Buffer.from(JSON.stringify(reply.body), 'utf8');
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(bytes.length);
  return { headers, bytes };
}

/** Checks a fault given over HTTP or the environment; returns it normalised, or throws saying what is wrong. */
export function parseFault(input: unknown): Fault {
  if (typeof input !== 'object' || input === null) throw new Error('a fault is an object like {"kind":"throttle","at":3}');
  const f = input as Record<string, unknown>;
  if (!FAULT_KINDS.includes(f.kind as FaultKind)) throw new Error(`fault kind must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(f.kind)}`);
  for (const k of ['at', 'times', 'retryAfterSeconds'] as const) {
    if (f[k] !== undefined && !(Number.isInteger(f[k]) && (f[k] as number) >= (k === 'retryAfterSeconds' ? 0 : 1))) {
      throw new Error(`fault ${k} must be a whole number${k === 'retryAfterSeconds' ? '' : ' from 1'}, got ${JSON.stringify(f[k])}`);
    }
  }
  if (f.match !== undefined && typeof f.match !== 'string') throw new Error('fault match must be text');
  return { kind: f.kind as FaultKind, at: f.at as number | undefined, times: f.times as number | undefined, match: f.match as string | undefined, retryAfterSeconds: f.retryAfterSeconds as number | undefined };
}

/**
 * Starts `api` on a free loopback port (or `options.port`). Control endpoints, outside the API's
 * own paths: `POST /__fake/faults` (a {@link Fault} as JSON), `DELETE /__fake/faults`,
 * `GET /__fake/requests` (the log as JSON: method, path, query, body, status, fault of each request).
 */
export async function startFakeServer(api: FakeApi, options: { port?: number; host?: string } = {}): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  let faults: PendingFault[] = [];
  const sockets = new Set<Socket>();

  const inject = (fault: Fault): void => {
    const f = parseFault(fault);
    faults.push({ kind: f.kind, at: f.at ?? 1, times: f.times ?? 1, retryAfterSeconds: f.retryAfterSeconds ?? 1, match: f.match, seen: 0 });
  };

  /** Counts a data request against every pending fault and returns the one that fires, if any. */
  const dueFault = (pathWithQuery: string): PendingFault | undefined => {
    let due: PendingFault | undefined;
    for (const f of faults) {
      if (f.match !== undefined && !pathWithQuery.includes(f.match)) continue;
      f.seen++;
      if (!due && f.seen >= f.at && f.times > 0) due = f;
    }
    if (due) due.times--;
    faults = faults.filter((f) => f.times > 0);
    return due;
  };

  const send = (res: ServerResponse, reply: FakeReply, truncate = false): void => {
    const { headers, bytes } = encode(reply);
    res.writeHead(reply.status, headers);
    if (!truncate) {
      res.end(bytes);
      return;
    }
    // A body cut off mid-way: the promised Content-Length never arrives and the connection drops,
    // as when a proxy or the API's edge resets a long response.
    res.write(bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2))), () => res.socket?.destroy());
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<void> => {
    if (path === '/__fake/faults' && req.method === 'POST') {
      try {
        inject(parseFault(JSON.parse(body)));
        send(res, json(204, undefined));
      } catch (e) {
        send(res, json(400, { error: (e as Error).message }));
      }
    } else if (path === '/__fake/faults' && req.method === 'DELETE') {
      faults = [];
      send(res, json(204, undefined));
    } else if (path === '/__fake/requests' && req.method === 'GET') {
      send(res, json(200, requests.map((r) => ({ method: r.method, path: r.path, query: r.query.toString(), body: r.body, status: r.status, fault: r.fault }))));
    } else send(res, json(404, { error: `no control endpoint ${req.method} ${path}` }));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = await readBody(req);
      if (url.pathname.startsWith('/__fake/')) return control(req, res, url.pathname, body);
      const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
      requests.push(request);
      const reply = (r: FakeReply, truncate = false): void => {
        request.status = r.status;
        send(res, r, truncate);
      };
      for (const route of api.routes) {
        if (route.method !== request.method) continue;
        const m = route.path.exec(request.path);
        if (!m) continue;
        const fault = route.data ? dueFault(request.path + url.search) : undefined;
        if (fault) request.fault = fault.kind;
        if (fault?.kind === 'throttle') return reply(api.throttled(request, fault.retryAfterSeconds));
        if (fault?.kind === 'server_error') return reply(api.serverError(request));
        if (fault?.kind === 'bad_credentials') return reply(api.unauthorized(request));
        return reply(await route.handle(request, m.slice(1).map((p) => decodeURIComponent(p ?? ''))), fault?.kind === 'truncate');
      }
      reply(api.notFound?.(request) ?? json(404, { error: `no route ${request.method} ${request.path}` }));
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, json(500, { error: `fake ${api.name} failed: ${(e as Error).message}` }));
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    name: api.name,
    url: `http://${host}:${port}`,
    requests,
    inject,
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      faults = [];
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The bearer token of a request (`Authorization: Bearer x`), or undefined. */
export function bearerToken(request: FakeRequest): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return m?.[1];
}

/** The user and password of `Authorization: Basic …`, or undefined. */
export function basicAuth(request: FakeRequest): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), password: text.slice(i + 1) };
}
