/**
 * Paginators: how the next page of a list is asked for. Shared by `rest` (declared in YAML) and the
 * built-in types. Each yields every response, first page included, and stops on the API's own signal
 * (no cursor, no next link, a short page, past the total).
 */
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.js';

export const PAGINATOR_TYPES = ['none', 'cursor', 'next_url', 'offset', 'page', 'link'] as const;

export type PaginatorSpec =
  | { type: 'none' }
  /** The next page's cursor is at `cursorPath` in the response; sent as the query parameter `cursorParam`. */
  | { type: 'cursor'; cursorPath: string; cursorParam: string }
  /** The response holds the next page's full URL at `urlPath` (Graph API `paging.next`). */
  | { type: 'next_url'; urlPath: string }
  /** `offsetParam`/`limitParam`; stops on a page shorter than `limit` or past the total at `totalPath`. */
  | { type: 'offset'; offsetParam: string; limitParam: string; limit: number; totalPath?: string }
  /** Page numbers from `start`; stops on an empty page or one shorter than `size`. */
  | { type: 'page'; pageParam: string; start: number; sizeParam?: string; size?: number }
  /** RFC 8288 `Link: <…>; rel="next"` header (GitHub style). */
  | { type: 'link' };

/** The value at a dotted path (`meta.next_token`, `paging.cursors.after`); `''` is the value itself. */
export function valueAt(json: unknown, path: string): unknown {
  if (path === '' || path === '.') return json;
  let node = json;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The records at a dotted path: an array of objects (a missing path is no records: APIs drop empty arrays). */
export function recordsAt(json: unknown, path: string): Array<Record<string, unknown>> {
  const value = valueAt(json, path);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`expected a list of records at "${path || '(the root)'}", got ${typeof value}`);
  return value.map((v, i) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`record ${i + 1} at "${path || '(the root)'}" is not an object`);
    return v as Record<string, unknown>;
  });
}

/** The URL with these query parameters set (replacing any of the same name). */
export function withParams(url: string, params: Record<string, string | number | undefined>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2].split(/\s+/).includes('next')) return m[1];
  }
  return undefined;
}

/** Most pages one paginated request may follow: a guard against an API that never stops. */
export const MAX_PAGES = 100_000;

/**
 * Sends `first` and then every next page. `countOf` tells how many records a response holds (for
 * offset and page paginators).
 */
export async function* paginate(
  http: HttpClient,
  stream: string,
  first: HttpRequest,
  spec: PaginatorSpec,
  countOf: (json: unknown) => number,
  signal: AbortSignal,
): AsyncGenerator<HttpResponse> {
  let req: HttpRequest = spec.type === 'offset' ? { ...first, url: withParams(first.url, { [spec.offsetParam]: 0, [spec.limitParam]: spec.limit }) } : first;
  if (spec.type === 'page') req = { ...req, url: withParams(req.url, { [spec.pageParam]: spec.start, ...(spec.sizeParam ? { [spec.sizeParam]: spec.size } : {}) }) };
  let offset = 0;
  let page = spec.type === 'page' ? spec.start : 0;
  for (let n = 0; n < MAX_PAGES; n++) {
    const res = await http.request(stream, req, signal);
    yield res;
    const count = countOf(res.json);
    let next: string | undefined;
    switch (spec.type) {
      case 'none':
        return;
      case 'cursor': {
        const c = valueAt(res.json, spec.cursorPath);
        if (c === undefined || c === null || c === '') return;
        next = withParams(first.url, { [spec.cursorParam]: String(c) });
        break;
      }
      case 'next_url': {
        const u = valueAt(res.json, spec.urlPath);
        if (typeof u !== 'string' || u === '' || count === 0) return;
        next = u;
        break;
      }
      case 'offset': {
        offset += count;
        const total = spec.totalPath ? Number(valueAt(res.json, spec.totalPath)) : undefined;
        if (count === 0 || (total !== undefined && Number.isFinite(total) ? offset >= total : count < spec.limit)) return;
        next = withParams(req.url, { [spec.offsetParam]: offset });
        break;
      }
      case 'page': {
        if (count === 0 || (spec.size !== undefined && count < spec.size)) return;
        page++;
        next = withParams(req.url, { [spec.pageParam]: page });
        break;
      }
      case 'link':
        next = nextLink(res.headers.get('link'));
        if (!next) return;
        break;
    }
    req = { ...req, url: next };
  }
  throw new Error(`stream ${stream}: more than ${MAX_PAGES} pages; the API's paging does not end`);
}
