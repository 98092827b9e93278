/**
 * The HTTP server, assembled from small single-purpose plugins: GraphQL (and its query page),
 * health, Prometheus metrics, embedded-mode uploads, the landing page — plus whatever faces the
 * composition root adds (`deps.plugins`). Errors leave in one shape, `{ error: { code, message } }`,
 * with the status of their code; unexpected ones are masked and logged under an errorId.
 */
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { redactApiKey } from '../auth/authenticate.js';
import { LOOPBACK_PRINCIPAL } from '../auth/principal.js';
import { isUserError, type ErrorCode } from '../errors.js';
import { withLogContext } from '../log.js';
import { SchemaRegistry } from '../resolvers/schema-registry.js';
import type { HttpDeps } from './http-deps.js';
import { graphqlPlugin, type GraphqlPrepare } from './plugins/graphql.js';
import { healthPlugin } from './plugins/health.js';
import { instrumentRequests, metricsPlugin } from './plugins/metrics.js';
import { queryPageHtml, queryPagePlugin } from './plugins/query-page.js';
import { uploadsPlugin } from './plugins/uploads.js';
import { PrometheusRegistry } from './prometheus.js';

/** The challenge sent with a 401, so that BI tools prompt for Basic credentials (docs/http.md). */
const WWW_AUTHENTICATE = 'Basic realm="sextant", charset="UTF-8"';

/**
 * True for a request made by a page's script (fetch/XHR: `Sec-Fetch-Dest: empty`), which every current
 * browser sends and BI tools do not. Such a 401 carries no Basic challenge: the challenge would make the
 * browser pop up its own sign-in box over our pages, which ask for the key themselves. Power BI, Excel,
 * Tableau and curl still get the challenge they prompt on.
 */
function fromPageScript(headers: Record<string, string | string[] | undefined>): boolean {
  // The console and the add-in also say so with X-Requested-With (older embedded browsers, such as some
  // Office task-pane hosts, send no Sec-Fetch-* headers).
  if (headers['x-requested-with'] !== undefined) return true;
  return headers['sec-fetch-dest'] === 'empty' && headers['sec-fetch-mode'] !== 'navigate';
}

/** fastify's own errors (body too large, bad JSON, wrong media type) in the error catalogue's terms. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 404) return 'NOT_FOUND';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 429) return 'RATE_LIMITED';
  return 'BAD_USER_INPUT';
}

/** What buildHttpServer made besides the server, for the composition root and tests. */
export interface HttpParts {
  metrics: PrometheusRegistry;
  registry: SchemaRegistry;
  /** Set on shutdown: `/health/ready` answers 503 so that load balancers stop routing here. */
  draining: boolean;
  /** Readies the GraphQL server of a principal's team set before the first request (`sextant serve` calls it before listening). */
  prepareGraphql: GraphqlPrepare;
}

/** A request id a proxy or client sent (`x-request-id`) is kept when it is a plain token. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function requestIdOf(raw: IncomingMessage): string {
  const sent = raw.headers['x-request-id'];
  return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
}

/**
 * Every line logged while a request is handled carries its id (`requestId`), and the reply returns it
 * as `x-request-id`. The log context is entered in onRequest; fastify runs preValidation and the
 * handler from the request stream's 'end' event, outside that context, so it is re-entered there
 * (as @fastify/request-context does).
 */
function logRequestIds(app: FastifyInstance): void {
  const scopes = new WeakMap<object, AsyncResource>();
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    withLogContext({ requestId: request.id }, () => {
      const scope = new AsyncResource('sextant-request');
      scopes.set(request, scope);
      scope.runInAsyncScope(done);
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const scope = scopes.get(request);
    if (scope) scope.runInAsyncScope(done);
    else done();
  });
}

/** Builds the server (not listening): `await app.listen({ host, port })`, or `app.inject()` in tests. */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance & { sextant: HttpParts }> {
  const { config, log } = deps;
  const metrics = deps.metrics ?? new PrometheusRegistry();
  const limits = { defaultRows: config.limits.defaultRows, maxRows: config.limits.maxRows };
  const registry = new SchemaRegistry({ project: deps.project, limits, operations: deps.operations });
  const authenticate = deps.authenticate ?? (async () => LOOPBACK_PRINCIPAL);

  const app: FastifyInstance = Fastify({ bodyLimit: config.limits.maxBodyBytes, logger: false, genReqId: requestIdOf });
  const parts: HttpParts = { metrics, registry, draining: false, prepareGraphql: async () => undefined };
  app.decorate('sextant', parts);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // GraphQL clients read `errors[].extensions.code` (GraphQL over HTTP); the other faces read `{ error }`.
    const body = (code: string, message: string) =>
      request.url.startsWith('/graphql') ? { errors: [{ message, extensions: { code } }] } : { error: { code, message } };
    if (isUserError(error)) {
      if (error.code === 'UNAUTHENTICATED' && !fromPageScript(request.headers)) void reply.header('www-authenticate', WWW_AUTHENTICATE);
      const retryAfter = error.details?.retryAfterSeconds;
      if (error.code === 'RATE_LIMITED' && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
      return reply.code(error.status).send(body(error.code, error.message));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = codeOfStatus(status);
      const message = status === 413 ? `the request body is larger than the limit of ${config.limits.maxBodyBytes} bytes` : error.message;
      return reply.code(status).send(body(code, message));
    }
    const errorId = randomUUID();
    log.error('unexpected error in an HTTP request', { errorId, requestId: request.id, err: error, method: request.method, url: redactApiKey(request.url) });
    return reply.code(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: `Internal server error; quote errorId ${errorId} when reporting it`, errorId } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  logRequestIds(app);
  instrumentRequests(app, metrics);
  await app.register(healthPlugin, {
    checks: deps.checks,
    log,
    draining: () => parts.draining,
  });
  await app.register(metricsPlugin, { registry: metrics, authenticate });
  await app.register(graphqlPlugin, {
    registry,
    serving: deps.serving,
    teams: deps.project.teams,
    authenticate,
    log,
    introspection: config.introspection,
    hideSchemaDetails: config.production && !config.introspection,
    queryPage: config.introspection ? queryPageHtml() : undefined,
    ...(deps.graphql ? { extensions: deps.graphql } : {}),
    exposePrepare: (prepare) => {
      parts.prepareGraphql = prepare;
    },
  });
  if (deps.uploads) await app.register(uploadsPlugin, { receiver: deps.uploads, maxUploadBytes: config.limits.maxUploadBytes });
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  await app.register(queryPagePlugin, { landing: !app.hasRoute({ method: 'GET', url: '/' }) });
  return app as FastifyInstance & { sextant: HttpParts };
}

/** What a worker's own server needs: its metrics, its back ends' checks, the key rules for `/metrics`. */
export interface OpsHttpDeps {
  metrics: PrometheusRegistry;
  checks: Record<string, () => Promise<void>>;
  log: HttpDeps['log'];
  authenticate?: HttpDeps['authenticate'];
}

/** What buildOpsHttpServer made besides the server. */
export type OpsParts = Pick<HttpParts, 'metrics' | 'draining'>;

/**
 * The server of a process without the API (a worker with SEXTANT_METRICS_PORT): `/metrics` and
 * `/health/live`, `/health/ready` only, so that Prometheus scrapes job metrics where jobs run and an
 * orchestrator probes the worker like an API process.
 */
export async function buildOpsHttpServer(deps: OpsHttpDeps): Promise<FastifyInstance & { sextant: OpsParts }> {
  const app: FastifyInstance = Fastify({ logger: false, genReqId: requestIdOf });
  const parts: OpsParts = { metrics: deps.metrics, draining: false };
  app.decorate('sextant', parts);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isUserError(error)) {
      if (error.code === 'UNAUTHENTICATED') void reply.header('www-authenticate', WWW_AUTHENTICATE);
      return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    }
    const errorId = randomUUID();
    deps.log.error('unexpected error in an HTTP request', { errorId, requestId: request.id, err: error, method: request.method, url: redactApiKey(request.url) });
    return reply.code(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: `Internal server error; quote errorId ${errorId} when reporting it`, errorId } });
  });
  logRequestIds(app);
  instrumentRequests(app, deps.metrics);
  await app.register(healthPlugin, { checks: deps.checks, log: deps.log, draining: () => parts.draining });
  await app.register(metricsPlugin, { registry: deps.metrics, ...(deps.authenticate && { authenticate: deps.authenticate }) });
  return app as FastifyInstance & { sextant: OpsParts };
}
