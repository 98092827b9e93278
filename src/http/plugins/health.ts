/**
 * `GET /health/live` (the process answers) and `GET /health/ready` (its back ends answer: warehouse,
 * object store, queue, each with how long it took to answer). Readiness is what a load balancer routes
 * on, so a check that hangs counts as down after a few seconds instead of hanging the probe.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../log.js';

export interface HealthPluginOptions {
  /** Named checks; each resolves when its back end answers. */
  checks: Readonly<Record<string, () => Promise<void>>>;
  timeoutMs?: number;
  log: Logger;
  /** True once the process is shutting down: readiness then answers 503 without checking anything. */
  draining?: () => boolean;
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
    if (options.draining?.()) return reply.code(503).send({ status: 'draining', checks: {} });
    const names = Object.keys(options.checks);
    const timed = async (name: string): Promise<number> => {
      const started = performance.now();
      await withTimeout(options.checks[name], timeoutMs);
      return performance.now() - started;
    };
    const results = await Promise.allSettled(names.map(timed));
    const checks: Record<string, { status: 'ok' | 'unavailable'; latencyMs?: number }> = {};
    results.forEach((r, i) => {
      // Latency in ms with 0.1 ms resolution; a failed check has none (it may be the timeout).
      checks[names[i]] = r.status === 'fulfilled' ? { status: 'ok', latencyMs: Math.round(r.value * 10) / 10 } : { status: 'unavailable' };
      if (r.status === 'rejected') options.log.warn('readiness check failed', { check: names[i], err: r.reason });
    });
    const ready = results.every((r) => r.status === 'fulfilled');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
