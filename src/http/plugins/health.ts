/**
 * `GET /health/live` (the process answers) and `GET /health/ready` (its back ends answer: warehouse,
 * object store, queue). Readiness is what a load balancer routes on, so a check that hangs counts
 * as down after a few seconds instead of hanging the probe.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../log.js';

export interface HealthPluginOptions {
  /** Named checks; each resolves when its back end answers. */
  checks: Readonly<Record<string, () => Promise<void>>>;
  timeoutMs?: number;
  log: Logger;
}

async function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function healthPlugin(app: FastifyInstance, options: HealthPluginOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (_request, reply) => {
    const names = Object.keys(options.checks);
    const results = await Promise.allSettled(names.map((n) => withTimeout(options.checks[n], timeoutMs)));
    const checks: Record<string, string> = {};
    results.forEach((r, i) => {
      checks[names[i]] = r.status === 'fulfilled' ? 'ok' : 'unavailable';
      if (r.status === 'rejected') options.log.warn('readiness check failed', { check: names[i], err: r.reason });
    });
    const ready = results.every((r) => r.status === 'fulfilled');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
