/**
 * The read-only OData v4 feed (docs/bi-tools.md), one service per team, for Power BI, Excel and Tableau:
 *
 * | request | answer |
 * | --- | --- |
 * | `GET /odata/<team>/` | service document (JSON) |
 * | `GET /odata/<team>/$metadata` | EDMX (always XML) |
 * | `GET /odata/<team>/<Set>?$select&$filter&$orderby&$top&$skip&$count&$apply&$format` | a page of rows, `@odata.nextLink` to the next |
 * | `GET /odata/<team>/<Set>/$count` | the number of rows (text/plain) |
 * | `GET /odata/<team>/<Set>.odc`, `/odata/<team>/connect.pbids` | connection files for Excel and Power BI |
 *
 * Every question goes through {@link Serving}; who may read which team is decided by
 * `auth/principal.ts`. Every response carries exactly one `OData-Version: 4.0`; nothing redirects.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertCan, type Principal } from '../../auth/principal.js';
import type { Serving } from '../../serving/types.js';
import type { Authenticate } from '../http-deps.js';
import { buildEdmService, type EdmService } from './entity-model.js';
import { ODataError, badRequest, notImplemented, odataErrorOf } from './errors.js';
import { metadataXml } from './metadata.js';
import { SUPPORTED_OPTIONS, planRequest } from './query.js';
import { writeEntities } from './serialize.js';
import { odcFile, pbidsFile } from './connection-files.js';

const gzip = promisify(gzipCallback);

export interface ODataOptions {
  serving: Serving;
  authenticate: Authenticate;
  /** Rows per page unless the client prefers fewer (`Prefer: odata.maxpagesize`); at most `maxRows`. */
  pageSize?: number;
  /** The configured row cap of one answer (SEXTANT_MAX_ROWS). */
  maxRows: number;
  /** Browser origins allowed to read the feed (SEXTANT_CORS_ORIGINS). */
  corsOrigins?: readonly string[];
  /** The service's public base URL (SEXTANT_PUBLIC_URL), for absolute links behind a proxy; else from the Host header. */
  publicUrl?: string;
}

/** Default rows per page: large pages mean fewer round trips for Power Query, bounded memory for us. */
export const DEFAULT_PAGE_SIZE = 10_000;

const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const KEPT_IN_NEXT_LINK = ['$select', '$filter', '$orderby', '$apply', '$count', '$format'] as const;
/** Bodies smaller than this go out uncompressed (gzip would not pay for itself). */
const GZIP_MIN_BYTES = 1024;

interface SkipToken {
  /** Offset of the next page. */
  o: number;
  /** Rows of `$top` still to deliver, or null without `$top`. */
  r: number | null;
  /** Page size in force when the link was made. */
  p: number;
}

function encodeToken(t: SkipToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(text: string): SkipToken {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    t = undefined;
  }
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const token = t as SkipToken | undefined;
  if (!token || typeof token !== 'object' || !ok(token.o) || !(token.r === null || ok(token.r)) || !(ok(token.p) && token.p > 0)) {
    throw badRequest('$skiptoken', 'the token is not one this service made; follow @odata.nextLink as given');
  }
  return token;
}

/** The system query options of a request, from its raw query string (so that `+`, `%2B` and `'` are read as sent). */
function systemOptions(url: string): Map<string, string> {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const out = new Map<string, string>();
  for (const [rawName, value] of params) {
    if (!rawName.startsWith('$')) continue; // custom options (api_key, …) are not OData's
    const name = rawName; // OData 4.0 system query options are case-sensitive
    if (!(SUPPORTED_OPTIONS as readonly string[]).includes(name)) {
      throw notImplemented(name, `the query option ${name} is not supported; supported: ${SUPPORTED_OPTIONS.join(', ')}`);
    }
    if (out.has(name)) throw badRequest(name, `${name} is given twice`);
    out.set(name, value);
  }
  return out;
}

function preferredPageSize(request: FastifyRequest): number | undefined {
  const prefer = request.headers.prefer;
  const text = Array.isArray(prefer) ? prefer.join(',') : prefer;
  if (!text) return undefined;
  const m = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d{1,9})"?/i.exec(text);
  return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
}

function checkFormat(request: FastifyRequest, options: Map<string, string>): { ieee754: boolean } {
  const format = options.get('$format');
  const accept = String(request.headers.accept ?? '');
  if (format !== undefined && !/^(json|application\/json)(;.*)?$/i.test(format.trim())) {
    throw notImplemented('$format', `only JSON is served ($format=json); got "${format}"`);
  }
  const maxVersion = request.headers['odata-maxversion'];
  if (typeof maxVersion === 'string' && Number.parseFloat(maxVersion) < 4) {
    throw new ODataError(400, 'BAD_USER_INPUT', `OData-MaxVersion: this service speaks OData 4.0, and the client accepts at most ${maxVersion}`, 'OData-MaxVersion');
  }
  return { ieee754: /IEEE754Compatible=true/i.test(`${format ?? ''};${accept}`) };
}

/** Registers the feed's routes. */
export function odataPlugin(options: ODataOptions): (app: FastifyInstance) => Promise<void> {
  const { serving, authenticate } = options;
  const maxPage = Math.max(1, Math.min(options.pageSize ?? DEFAULT_PAGE_SIZE, options.maxRows));
  const cors = new Set(options.corsOrigins ?? []);
  const services = new Map<string, Promise<EdmService>>();

  const serviceOf = (principal: Principal, team: string): Promise<EdmService> => {
    let s = services.get(team);
    if (!s) {
      // The models are fixed once the project is loaded: build each team's entity model once.
      s = serving.catalog(principal, { freshness: false }).then((catalog) => {
        const t = catalog.teams.find((x) => x.name === team);
        if (!t) throw new ODataError(404, 'NOT_FOUND', `no team "${team}"`);
        return buildEdmService(team, t.models);
      });
      services.set(team, s);
      s.catch(() => services.delete(team));
    }
    return s;
  };

  const baseUrl = (request: FastifyRequest): string => {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '');
    const host = request.headers.host ?? 'localhost';
    if (!/^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host)) throw new ODataError(400, 'BAD_USER_INPUT', 'the Host header is not a host name');
    return `${request.protocol}://${host}`;
  };

  async function send(request: FastifyRequest, reply: FastifyReply, status: number, type: string, body: string): Promise<FastifyReply> {
    void reply.code(status).header('content-type', type);
    const accepts = String(request.headers['accept-encoding'] ?? '');
    if (body.length >= GZIP_MIN_BYTES && /\bgzip\b/i.test(accepts)) {
      void reply.header('content-encoding', 'gzip').header('vary', 'Accept-Encoding, Origin');
      return reply.send(await gzip(body));
    }
    return reply.send(body);
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
    const e = odataErrorOf(err);
    // Unexpected errors are masked and logged by the server; a 401 goes there too, which sends the Basic
    // challenge BI tools prompt on (and leaves it out for a browser page's script). Both bodies are
    // {"error":{"code","message"}}.
    if (!e || e.status === 401) throw err;
    return send(request, reply, e.status, 'application/json;charset=utf-8', JSON.stringify(e.body));
  }

  return async (app: FastifyInstance) => {
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/odata')) return;
      void reply.header('OData-Version', '4.0');
      const origin = request.headers.origin;
      if (typeof origin === 'string' && cors.has(origin)) {
        void reply
          .header('access-control-allow-origin', origin)
          .header('vary', 'Origin')
          .header('access-control-expose-headers', 'OData-Version, Preference-Applied, Content-Encoding, WWW-Authenticate');
      }
    });

    app.options('/odata/*', async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !cors.has(origin)) {
        return sendError(request, reply, new ODataError(403, 'FORBIDDEN', `the origin ${String(origin ?? '(none)')} may not read this feed; allowed origins are set in SEXTANT_CORS_ORIGINS`));
      }
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
        .header('access-control-allow-headers', 'authorization, accept, content-type, prefer, odata-version, odata-maxversion, maxdataserviceversion')
        .header('access-control-max-age', '600')
        .send();
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        return await route(request, reply);
      } catch (err) {
        return sendError(request, reply, err);
      }
    };
    app.get('/odata', handler);
    app.get('/odata/*', handler);

    async function route(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
      const path = request.url.split('?')[0];
      const segments = path.split('/').slice(2).map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          throw new ODataError(400, 'BAD_USER_INPUT', `the path segment "${s}" is not valid percent-encoding`);
        }
      });
      const principal = await authenticate(request);
      const team = segments[0] ?? '';
      if (team === '') {
        const teams = serving.teams(principal);
        throw new ODataError(404, 'NOT_FOUND', `the feeds are per team: /odata/<team>/; yours: ${teams.map((t) => `/odata/${t}/`).join(', ') || '(none)'}`);
      }
      assertCan(principal, 'read', team);
      if (!serving.teams(principal).includes(team)) throw new ODataError(404, 'NOT_FOUND', `no team "${team}"`);
      const service = await serviceOf(principal, team);
      const root = `${baseUrl(request)}/odata/${encodeURIComponent(team)}/`;
      const rest = segments.slice(1);
      const first = rest[0] ?? '';

      if (rest.length <= 1 && first === '') {
        checkFormat(request, systemOptions(request.url));
        const value = service.sets.map((s) => ({ name: s.name, kind: 'EntitySet', url: s.name }));
        return send(request, reply, 200, JSON_TYPE, JSON.stringify({ '@odata.context': `${root}$metadata`, value }));
      }
      if (rest.length === 1 && first === '$metadata') {
        return send(request, reply, 200, 'application/xml;charset=utf-8', metadataXml(service));
      }
      if (rest.length === 1 && first === 'connect.pbids') {
        void reply.header('content-disposition', `attachment; filename="${team}.pbids"`);
        return send(request, reply, 200, 'application/json;charset=utf-8', pbidsFile(root));
      }
      if (rest.length === 1 && first.endsWith('.odc') && service.byName.has(first.slice(0, -4))) {
        const set = service.byName.get(first.slice(0, -4));
        void reply.header('content-disposition', `attachment; filename="${team}-${first}"`);
        return send(request, reply, 200, 'text/x-ms-odc;charset=utf-8', odcFile(root, first.slice(0, -4), set?.description));
      }
      if (first === '$batch') throw notImplemented('$batch', 'batch requests are not supported; send each GET on its own');
      const keyed = /^(\w+)\(.*\)$/.exec(first);
      if (keyed && service.byName.has(keyed[1])) {
        throw notImplemented(first, `single rows are not addressable by key (the rows are groups); use ${keyed[1]}?$filter=…`);
      }
      const set = service.byName.get(first);
      if (!set) {
        throw new ODataError(404, 'NOT_FOUND', `no entity set "${first}" in /odata/${team}/; sets: ${service.sets.map((s) => s.name).join(', ') || '(none)'}`);
      }
      if (rest.length > 2 || (rest.length === 2 && rest[1] !== '$count')) {
        throw notImplemented(rest.slice(1).join('/'), `only ${set.name} and ${set.name}/$count are served`);
      }
      const opts = systemOptions(request.url);
      const { ieee754 } = checkFormat(request, opts);
      const tokenText = opts.get('$skiptoken');
      if (tokenText !== undefined && (opts.has('$top') || opts.has('$skip'))) {
        throw badRequest('$skiptoken', 'a $skiptoken already carries the position and what remains of $top; do not add $top or $skip');
      }
      const token = tokenText === undefined ? undefined : decodeToken(tokenText);
      const plan = planRequest(set, opts);

      if (rest.length === 2) {
        const n = await serving.count(principal, { ...plan.query, limit: 0, offset: 0 });
        return send(request, reply, 200, 'text/plain;charset=utf-8', String(n));
      }

      const preferred = preferredPageSize(request);
      const pageSize = Math.min(preferred ?? token?.p ?? maxPage, maxPage);
      if (preferred !== undefined) void reply.header('preference-applied', `odata.maxpagesize=${pageSize}`);
      const offset = token ? token.o : plan.skip;
      const remaining = token ? token.r : plan.top ?? null;
      const limit = remaining === null ? pageSize : Math.min(pageSize, remaining);

      const [answer, count] = await Promise.all([
        limit > 0 ? serving.answer(principal, { ...plan.query, limit, offset }) : undefined,
        plan.count ? serving.count(principal, { ...plan.query, limit: 0, offset: 0 }) : undefined,
      ]);
      const rows = answer?.rows ?? [];
      let nextLink: string | undefined;
      const left = remaining === null ? null : remaining - rows.length;
      if (answer?.hasMore && rows.length > 0 && (left === null || left > 0)) {
        const params = new URLSearchParams();
        for (const name of KEPT_IN_NEXT_LINK) {
          const v = opts.get(name);
          if (v !== undefined) params.set(name, v);
        }
        params.set('$skiptoken', encodeToken({ o: offset + rows.length, r: left, p: pageSize }));
        const query = params.toString().replace(/\+/g, '%20').replace(/(^|&)%24/g, '$1$');
        nextLink = `${root}${encodeURIComponent(set.name)}?${query}`;
      }

      const columns = answer ? plan.columns(answer.columns) : [];
      const context = `${root}$metadata#${set.name}${plan.projection ? `(${plan.projection.join(',')})` : ''}`;
      const parts: string[] = [`{"@odata.context":${JSON.stringify(context)}`];
      if (count !== undefined) parts.push(`,"@odata.count":${count}`);
      parts.push(',"value":', writeEntities(columns, rows, { ieee754 }));
      if (nextLink) parts.push(`,"@odata.nextLink":${JSON.stringify(nextLink)}`);
      parts.push('}');
      return send(request, reply, 200, ieee754 ? JSON_TYPE.replace('IEEE754Compatible=false', 'IEEE754Compatible=true') : JSON_TYPE, parts.join(''));
    }
  };
}
