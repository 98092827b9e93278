/**
 * `GET /metrics`: Prometheus text. Request counts and durations are recorded by a root-level
 * onResponse hook (so they cover every route, including other plugins'), labelled by the route
 * pattern rather than the URL so that ids and query strings do not explode the series count.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertCan } from '../../auth/principal.js';
import type { Authenticate } from '../http-deps.js';
import type { PrometheusRegistry } from '../prometheus.js';

export interface MetricsPluginOptions {
  registry: PrometheusRegistry;
  /**
   * When given, `/metrics` needs an admin key (Prometheus sends it as `authorization` credentials or
   * Basic auth): its series name every team's models, which a key of one team may not learn.
   */
  authenticate?: Authenticate;
}

/** A document's own operation name, when the request does not name one (`query Sales { … }`). */
const NAMED_OPERATION = /^\s*(?:query|mutation|subscription)\s+([A-Za-z_]\w*)/;

/** The GraphQL operation a request asked for: `operationName`, else the document's first operation's name. */
function graphqlOperationName(request: FastifyRequest): unknown {
  const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown; query?: unknown } | undefined;
  if (!source || typeof source !== 'object') return undefined;
  if (typeof source.operationName === 'string' && source.operationName !== '') return source.operationName;
  return typeof source.query === 'string' ? NAMED_OPERATION.exec(source.query)?.[1] : undefined;
}

/** Records every response in the registry; register on the root instance (not encapsulated). */
export function instrumentRequests(app: FastifyInstance, registry: PrometheusRegistry): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // Latency by operation: GraphQL's operations share one route, so the operation name tells them apart.
    const operation = route === '/graphql' ? registry.operationLabel(graphqlOperationName(request)) : route;
    const labels = { route, operation, method: request.method, status: reply.statusCode };
    registry.httpRequests.inc(labels);
    registry.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

export async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  app.get('/metrics', async (request, reply) => {
    if (options.authenticate) assertCan(await options.authenticate(request), 'admin');
    return reply.type(options.registry.contentType).send(await options.registry.render());
  });
}
