/**
 * `GET /metrics`: Prometheus text. Request counts and durations are recorded by a root-level
 * onResponse hook (so they cover every route, including other plugins'), labelled by the route
 * pattern rather than the URL so that ids and query strings do not explode the series count.
 */
import type { FastifyInstance } from 'fastify';
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

/** Records every response in the registry; register on the root instance (not encapsulated). */
export function instrumentRequests(app: FastifyInstance, registry: PrometheusRegistry): void {
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: reply.statusCode };
    registry.httpRequests.inc(labels);
    registry.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

export async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  app.get('/metrics', async (request, reply) => {
    if (options.authenticate) assertCan(await options.authenticate(request), 'admin');
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(options.registry.render());
  });
}
