/**
 * `POST /graphql` and `GET /graphql`: Apollo Server through `executeHTTPGraphQLRequest`, one server per
 * distinct set of readable teams (each over its own schema, see SchemaRegistry), created on first use.
 * CSRF prevention stays on (a GET needs a content-type or `apollo-require-preflight` header) and
 * batching stays off. `GET /graphql` from a browser (`Accept: text/html`) gets the query page.
 * A metrics query asked again with the same text and variables by a key of the same scope is answered
 * from the serving layer's response cache (src/serving/response-cache.ts) before Apollo sees it.
 */
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { Kind, OperationTypeNode, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { can, type Principal } from '../../auth/principal.js';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createRequestContext, type RequestContext, type SextantExtensions } from '../../resolvers/request-context.js';
import { SchemaRegistry } from '../../resolvers/schema-registry.js';
import { camelCase } from '../../semantic/names.js';
import { ResponseCache } from '../../serving/response-cache.js';
import type { Serving } from '../../serving/types.js';
import { createErrorFormatter } from '../graphql-errors.js';
import type { Authenticate, GraphqlExtensions } from '../http-deps.js';
import { PAGE_CSP } from './query-page.js';

export interface GraphqlPluginOptions {
  registry: SchemaRegistry;
  serving: Serving;
  /** Every team of the project (a principal's schema holds only those it may read). */
  teams: readonly string[];
  authenticate: Authenticate;
  log: Logger;
  introspection: boolean;
  /** Hides "did you mean" suggestions in validation errors (production). */
  hideSchemaDetails: boolean;
  /** The HTML page served to browsers on GET /graphql; undefined: no page. */
  queryPage: string | undefined;
  extensions?: GraphqlExtensions;
  /** Receives {@link GraphqlPrepare} for this server once the plugin is registered. */
  exposePrepare?: (prepare: GraphqlPrepare) => void;
}

/**
 * Builds the schema and starts the Apollo server that `principal`'s requests use, and has it answer
 * `{ __typename }` once, so that its first real request does not pay for them: on a fresh `sextant serve`
 * the first GraphQL request took 180–840 ms against 10–30 ms for the next (bench/README.md, section put).
 */
export type GraphqlPrepare = (principal: Principal) => Promise<void>;

/**
 * Adds `extensions.sextant` (cache hits and freshness of every statement) to single responses, and
 * `cache-control: no-store` to every response: what Apollo's cache-control plugin answered when no
 * field carries a cache hint (none of ours does). That plugin is off: it hooks the resolution of every
 * field of every answer (~124 for a month by day of three measures) to collect hints nothing sets.
 */
const sextantExtensions: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        response.http.headers.set('cache-control', 'no-store');
        if (response.body.kind !== 'single' || contextValue.extensions.queries.length === 0) return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, sextant: contextValue.extensions };
      },
    };
  },
};

/** True when a browser asks for a page rather than a client for JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = String(request.headers.accept ?? '');
  const query = request.query as Record<string, unknown> | undefined;
  return request.method === 'GET' && accept.includes('text/html') && !query?.query;
}

function toHeaderMap(headers: FastifyRequest['headers']): HeaderMap {
  const map = new HeaderMap();
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

/** A POSTed GraphQL request's body. */
interface GraphqlBody {
  query: string;
  variables?: unknown;
  operationName?: unknown;
}

/**
 * The response cache's key of a request, or undefined when it may not be answered from the cache: only
 * JSON POSTs (what passed Apollo's CSRF check) with a query text, keyed by the asker's scope.
 */
function responseKey(request: FastifyRequest, scope: string): string | undefined {
  if (request.method !== 'POST' || !String(request.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
  const body = request.body as Partial<GraphqlBody> | null | undefined;
  if (!body || typeof body !== 'object' || typeof body.query !== 'string') return undefined;
  return ResponseCache.key(scope, body.query, body.variables, body.operationName);
}

/**
 * The body to keep for a response, or undefined when it must not be kept: a response with errors (or a
 * partial one), or an operation that asks anything but metrics — a query whose top-level fields are all
 * team fields or `metrics` (a mutation, `job`, `catalog`… read state that no load announces). Kept as
 * it will be served again: every question marked as a cache hit.
 */
function cacheableBody(text: string, body: GraphqlBody, teams: readonly string[], context: RequestContext): string | undefined {
  if (context.extensions.queries.length === 0 || context.read.tables.size === 0) return undefined;
  const result = JSON.parse(text) as { errors?: unknown; data?: unknown; extensions?: { sextant?: SextantExtensions } };
  if (result.errors !== undefined || !result.data || !result.extensions?.sextant) return undefined;
  const metricsFields = new Set(['metrics', '__typename', ...teams.map((t) => camelCase(t))]);
  let document: DocumentNode;
  try {
    document = parse(body.query);
  } catch {
    return undefined;
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = typeof body.operationName === 'string' ? operations.find((o) => o.name?.value === body.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (operation?.operation !== OperationTypeNode.QUERY) return undefined;
  if (!operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && metricsFields.has(s.name.value))) return undefined;
  for (const q of result.extensions.sextant.queries) q.cacheHit = true;
  return JSON.stringify(result);
}

export async function graphqlPlugin(app: FastifyInstance, options: GraphqlPluginOptions): Promise<void> {
  const servers = new Map<string, Promise<ApolloServer<RequestContext>>>();
  const formatError = createErrorFormatter(options.log, options.teams);
  const apolloLogger = {
    debug: (m: unknown) => options.log.debug(String(m)),
    info: (m: unknown) => options.log.info(String(m)),
    warn: (m: unknown) => options.log.warn(String(m)),
    error: (m: unknown) => options.log.error(String(m)),
  };

  const serverFor = (teams: readonly string[]): Promise<ApolloServer<RequestContext>> => {
    const key = SchemaRegistry.key(teams);
    let server = servers.get(key);
    if (!server) {
      const apollo = new ApolloServer<RequestContext>({
        schema: options.registry.schemaFor(teams),
        formatError,
        includeStacktraceInErrorResponses: false,
        introspection: options.introspection,
        hideSchemaDetailsFromClientErrors: options.hideSchemaDetails,
        allowBatchedHttpRequests: false,
        csrfPrevention: true,
        // The process owns shutdown (sextant serve closes the server, then the app): Apollo's own
        // SIGINT/SIGTERM handler would stop and re-raise the signal, killing the process mid-shutdown.
        stopOnTerminationSignals: false,
        logger: apolloLogger,
        ...(options.extensions?.validationRules ? { validationRules: options.extensions.validationRules } : {}),
        ...(options.extensions?.parseOptions ? { parseOptions: options.extensions.parseOptions } : {}),
        plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), sextantExtensions, ...(options.extensions?.plugins ?? [])],
      });
      server = apollo.start().then(() => apollo);
      // A failed start is not cached: the next request tries again.
      server.catch(() => servers.delete(key));
      servers.set(key, server);
    }
    return server;
  };

  options.exposePrepare?.(async (principal) => {
    const server = await serverFor(options.serving.teams(principal));
    const result = await server.executeOperation({ query: '{ __typename }' }, { contextValue: createRequestContext(options.serving, principal, options.log) });
    // Only a warm-up: a server that refuses it still serves (a schema that cannot be built has thrown above).
    if (result.body.kind !== 'single' || result.body.singleResult.errors) options.log.warn('the GraphQL server did not answer { __typename } while preparing', { body: result.body });
  });

  app.addHook('onClose', async () => {
    for (const server of servers.values()) await (await server.catch(() => undefined))?.stop();
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (wantsHtml(request) && options.queryPage !== undefined) {
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', PAGE_CSP).send(options.queryPage);
    }
    const principal = await options.authenticate(request);
    if (!can(principal, 'read')) throw new UserError('FORBIDDEN', 'this API key may not read metrics');
    const teams = options.serving.teams(principal);
    const responses = options.serving.responses;
    const cacheKey = responses?.enabled ? responseKey(request, SchemaRegistry.key(teams)) : undefined;
    if (cacheKey !== undefined) {
      const hit = responses!.get(cacheKey);
      if (hit) {
        for (const [key, value] of hit.headers) void reply.header(key, value);
        return reply.code(hit.status).send(hit.body);
      }
    }
    const generation = responses?.generation();
    const server = await serverFor(teams);
    let context: RequestContext | undefined;
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: request.method.toUpperCase(),
      headers: toHeaderMap(request.headers),
      // Without a `?` there is no query string: a POST's URL is not parsed for one.
      search: request.url.includes('?') ? new URL(request.url, 'http://localhost').search : '',
      body: request.body,
    };
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => (context = createRequestContext(options.serving, principal, options.log)),
    });
    for (const [key, value] of response.headers) void reply.header(key, value);
    void reply.code(response.status ?? 200);
    if (response.body.kind === 'complete') {
      if (cacheKey !== undefined && context && generation !== undefined && (response.status ?? 200) === 200) {
        const body = cacheableBody(response.body.string, request.body as GraphqlBody, teams, context);
        if (body !== undefined) {
          responses!.set(cacheKey, [...context.read.tables], generation, context.read.computedAt, { status: 200, headers: [...response.headers], body });
        }
      }
      return reply.send(response.body.string);
    }
    // Incremental delivery (@defer) streams its parts.
    return reply.send(Readable.from(response.body.asyncIterator));
  };

  app.route({ method: ['GET', 'POST'], url: '/graphql', handler });
}
