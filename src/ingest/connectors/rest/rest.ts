/**
 * `rest`: a declarative source for any JSON REST API, configured in YAML alone (docs/connectors/README.md). The settings
 * declare the requester (auth), the widest window per request, and per stream its path, fixed
 * parameters, how the window becomes parameters, where the records are and the paginator.
 *
 * ```yaml
 * settings:
 *   auth: { type: bearer, credential: token }     # bearer | basic | query | header | none
 *   max_window_days: 30
 *   streams:
 *     orders:
 *       path: /v1/orders
 *       key: [id]
 *       records: data
 *       params: { status: all }
 *       window: { from_param: updated_since, to_param: updated_until, format: date }
 *       paginator: { type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor }
 * ```
 */
import { UserError } from '../../../errors.js';
import { PAGINATOR_TYPES, paginate, recordsAt, withParams, type PaginatorSpec } from '../paginate.js';
import type { ConnectorType, DateWindow, PullContext, SettingsProblem, SourcePage, StreamSpec } from '../types.js';

export const AUTH_TYPES = ['none', 'bearer', 'basic', 'query', 'header'] as const;
export type AuthSpec =
  | { type: 'none' }
  | { type: 'bearer'; credential: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'query'; param: string; credential: string }
  | { type: 'header'; name: string; credential: string; prefix?: string };

export const WINDOW_FORMATS = ['date', 'datetime', 'unix'] as const;
export interface WindowSpec {
  fromParam: string;
  toParam?: string;
  format: (typeof WINDOW_FORMATS)[number];
  /** true: `to` is the day after the window (an exclusive end); false (default): the window's last day. */
  exclusiveEnd: boolean;
}

export interface RestStream {
  path: string;
  key: string[];
  records: string;
  params: Record<string, string>;
  window?: WindowSpec;
  paginator: PaginatorSpec;
}

export interface RestSettings {
  auth: AuthSpec;
  maxWindowDays: number;
  headers: Record<string, string>;
  streams: Record<string, RestStream>;
}

/** Headers and query parameters that carry the credentials. */
export function authOf(auth: AuthSpec, credentials: Readonly<Record<string, string>>): { headers: Record<string, string>; params: Record<string, string> } {
  for (const k of ['credential', 'password'] as const) {
    const name = (auth as Record<string, unknown>)[k];
    if (typeof name === 'string' && credentials[name] === undefined) {
      throw new UserError('SOURCE_AUTH', `the ${auth.type} auth reads the credential "${name}", which the source's credentials do not name; add ${name}: \${ENV_VAR} under credentials`);
    }
  }
  switch (auth.type) {
    case 'none':
      return { headers: {}, params: {} };
    case 'bearer':
      return { headers: { authorization: `Bearer ${credentials[auth.credential]}` }, params: {} };
    case 'basic':
      return { headers: { authorization: `Basic ${Buffer.from(`${credentials[auth.username] ?? auth.username}:${credentials[auth.password]}`).toString('base64')}` }, params: {} };
    case 'query':
      return { headers: {}, params: { [auth.param]: credentials[auth.credential] } };
    case 'header':
      return { headers: { [auth.name.toLowerCase()]: `${auth.prefix ?? ''}${credentials[auth.credential]}` }, params: {} };
  }
}

/** A window bound as the API wants it. */
export function formatBound(day: string, format: WindowSpec['format'], end: boolean): string {
  if (format === 'date') return day;
  const iso = `${day}T${end ? '23:59:59' : '00:00:00'}Z`;
  return format === 'datetime' ? iso : String(Math.floor(Date.parse(iso) / 1000));
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function parsePaginator(raw: unknown, at: string, problem: SettingsProblem): PaginatorSpec {
  if (raw === undefined) return { type: 'none' };
  if (raw === null || typeof raw !== 'object') {
    problem(at, `expected { type: ${PAGINATOR_TYPES.join(' | ')}, … }`);
    return { type: 'none' };
  }
  const p = raw as Record<string, unknown>;
  const need = (k: string): string => {
    const v = str(p[k]);
    if (!v) problem(`${at}.${k}`, `the ${String(p.type)} paginator needs ${k}`);
    return v ?? '';
  };
  const num = (k: string, dflt: number | undefined): number | undefined => {
    const v = p[k] ?? dflt;
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) problem(`${at}.${k}`, `expected a whole number, got "${String(v)}"`);
    return v as number;
  };
  switch (p.type) {
    case 'none':
      return { type: 'none' };
    case 'cursor':
      return { type: 'cursor', cursorPath: need('cursor_path'), cursorParam: need('cursor_param') };
    case 'next_url':
      return { type: 'next_url', urlPath: need('url_path') };
    case 'offset':
      return { type: 'offset', offsetParam: str(p.offset_param) ?? 'offset', limitParam: str(p.limit_param) ?? 'limit', limit: num('limit', 100) ?? 100, ...(str(p.total_path) ? { totalPath: str(p.total_path) } : {}) };
    case 'page':
      return { type: 'page', pageParam: str(p.page_param) ?? 'page', start: num('start', 1) ?? 1, ...(str(p.size_param) ? { sizeParam: str(p.size_param) } : {}), ...(p.size !== undefined ? { size: num('size', undefined) } : {}) };
    case 'link':
      return { type: 'link' };
    default:
      problem(`${at}.type`, `unknown paginator "${String(p.type)}"; expected one of ${PAGINATOR_TYPES.join(', ')}`);
      return { type: 'none' };
  }
}

function parseAuth(raw: unknown, problem: SettingsProblem): AuthSpec {
  if (raw === undefined) return { type: 'none' };
  const a = (raw ?? {}) as Record<string, unknown>;
  const need = (k: string): string => {
    const v = str(a[k]);
    if (!v) problem(`auth.${k}`, `${String(a.type)} auth needs ${k} (the name of a credential)`);
    return v ?? '';
  };
  switch (a.type) {
    case 'none':
      return { type: 'none' };
    case 'bearer':
      return { type: 'bearer', credential: need('credential') };
    case 'basic':
      return { type: 'basic', username: need('username'), password: need('password') };
    case 'query':
      return { type: 'query', param: need('param'), credential: need('credential') };
    case 'header':
      return { type: 'header', name: need('name'), credential: need('credential'), ...(str(a.prefix) ? { prefix: a.prefix as string } : {}) };
    default:
      problem('auth.type', `unknown auth "${String(a.type)}"; expected one of ${AUTH_TYPES.join(', ')}`);
      return { type: 'none' };
  }
}

function parseRestSettings(raw: Record<string, unknown>, problem: SettingsProblem): RestSettings {
  for (const k of Object.keys(raw)) if (!['auth', 'max_window_days', 'headers', 'streams'].includes(k)) problem(k, `unknown setting "${k}"; expected auth, max_window_days, headers, streams`);
  const auth = parseAuth(raw.auth, problem);
  const maxWindowDays = raw.max_window_days ?? 30;
  if (typeof maxWindowDays !== 'number' || !Number.isInteger(maxWindowDays) || maxWindowDays < 1) problem('max_window_days', `expected a whole number of days ≥ 1, got "${String(maxWindowDays)}"`);
  const headers: Record<string, string> = {};
  if (raw.headers !== undefined) {
    if (raw.headers === null || typeof raw.headers !== 'object') problem('headers', 'expected a mapping of header name to value');
    else for (const [k, v] of Object.entries(raw.headers)) headers[k.toLowerCase()] = String(v);
  }
  const streams: Record<string, RestStream> = {};
  const rawStreams = raw.streams;
  if (rawStreams === null || typeof rawStreams !== 'object' || Array.isArray(rawStreams) || Object.keys(rawStreams as object).length === 0) {
    problem('streams', 'expected a mapping of stream name to { path, key, records, params, window, paginator }');
  } else {
    for (const [name, spec] of Object.entries(rawStreams as Record<string, unknown>)) {
      const at = `streams.${name}`;
      if (spec === null || typeof spec !== 'object') {
        problem(at, 'expected { path, key, records, params, window, paginator }');
        continue;
      }
      const s = spec as Record<string, unknown>;
      for (const k of Object.keys(s)) if (!['path', 'key', 'records', 'params', 'window', 'paginator', 'description'].includes(k)) problem(`${at}.${k}`, `unknown key "${k}"; expected path, key, records, params, window, paginator`);
      const path = str(s.path);
      if (!path || !path.startsWith('/')) problem(`${at}.path`, 'expected the path under base_url, starting with "/"');
      const key = s.key;
      if (!Array.isArray(key) || key.length === 0 || !key.every((k) => typeof k === 'string')) problem(`${at}.key`, 'expected the record fields that identify a record, e.g. [id]');
      const params: Record<string, string> = {};
      if (s.params !== undefined) {
        if (s.params === null || typeof s.params !== 'object') problem(`${at}.params`, 'expected a mapping of query parameter to value');
        else for (const [k, v] of Object.entries(s.params)) params[k] = String(v);
      }
      let window: WindowSpec | undefined;
      if (s.window !== undefined) {
        const w = (s.window ?? {}) as Record<string, unknown>;
        const format = w.format ?? 'date';
        if (!(WINDOW_FORMATS as readonly unknown[]).includes(format)) problem(`${at}.window.format`, `expected one of ${WINDOW_FORMATS.join(', ')}`);
        if (!str(w.from_param)) problem(`${at}.window.from_param`, 'expected the query parameter that takes the window\'s first day');
        window = { fromParam: str(w.from_param) ?? '', ...(str(w.to_param) ? { toParam: str(w.to_param) } : {}), format: format as WindowSpec['format'], exclusiveEnd: w.exclusive_end === true };
      }
      streams[name] = {
        path: path ?? '/',
        key: Array.isArray(key) ? key.map(String) : [],
        records: typeof s.records === 'string' ? s.records : '',
        params,
        ...(window ? { window } : {}),
        paginator: parsePaginator(s.paginator, `${at}.paginator`, problem),
      };
    }
  }
  return { auth, maxWindowDays: typeof maxWindowDays === 'number' ? maxWindowDays : 30, headers, streams };
}

/** Pulls one stream of a declarative (or built-in) REST source for one window. */
export async function* pullRestStream(ctx: PullContext<unknown>, settings: RestSettings, name: string, window: DateWindow): AsyncGenerator<SourcePage> {
  const stream = settings.streams[name];
  const auth = authOf(settings.auth, ctx.credentials);
  const params: Record<string, string> = { ...stream.params, ...auth.params };
  if (stream.window) {
    const end = stream.window.exclusiveEnd ? new Date(Date.parse(`${window.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10) : window.to;
    params[stream.window.fromParam] = formatBound(window.from, stream.window.format, false);
    if (stream.window.toParam) params[stream.window.toParam] = formatBound(end, stream.window.format, !stream.window.exclusiveEnd);
  }
  const url = withParams(`${ctx.baseUrl}${stream.path}`, params);
  const headers = { accept: 'application/json', ...settings.headers, ...auth.headers };
  for await (const res of paginate(ctx.http, name, { url, headers }, stream.paginator, (json) => recordsAt(json, stream.records).length, ctx.signal)) {
    yield { stream: name, body: res.body, records: () => recordsAt(res.json, stream.records) };
  }
}

export const restType: ConnectorType<RestSettings> = {
  name: 'rest',
  description: 'Any JSON REST API, declared in YAML: auth, paths, window parameters, record path, paginator.',
  mode: 'window',
  // Each source sets its own; the framework reads it through windowDaysOf below.
  maxWindowDays: 30,
  credentials: [],
  anyCredentials: true,
  streams: {},
  parseSettings: (raw, problem) => parseRestSettings(raw, problem),
  streamsOf: (settings) => Object.fromEntries(Object.entries(settings?.streams ?? {}).map(([k, s]) => [k, { description: `GET ${s.path}`, key: s.key } satisfies StreamSpec])),
  windowDaysOf: (settings) => settings.maxWindowDays,
  async *pull(ctx, window) {
    for (const name of Object.keys(ctx.settings.streams)) {
      if (ctx.streams.has(name)) yield* pullRestStream(ctx, ctx.settings, name, window);
    }
  },
};
