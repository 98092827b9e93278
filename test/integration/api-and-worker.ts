/**
 * Two Apps as `sextant serve` opens them with SEXTANT_ROLE=api and =worker, sharing one PostgreSQL
 * database, one object-store folder and one Redis (a fresh queue name, hence change-feed channel), and
 * talking only through those: what the change-feed tests run a load across. The API app never runs a
 * job; the caller starts the worker's handlers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApi, openApp, type App } from '../../src/main.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { silentLogger } from '../../src/log.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';
import { gql } from './graphql-harness.js';

export interface ApiAndWorker {
  api: App;
  worker: App;
  /** The API app's HTTP server (not listening: requests are injected). */
  server: FastifyInstance;
  /** Polls `job(id)` through the API until it is final, and expects it SUCCEEDED without errors. */
  succeeded(id: string): Promise<void>;
  close(): Promise<void>;
}

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Opens both (the API with its result cache on) and starts the worker with `start`. */
export async function openApiAndWorker(name: string, start: (worker: App) => Promise<void>): Promise<ApiAndWorker> {
  const dir = await mkdtemp(join(tmpdir(), `sextant-${name}-`));
  const pg = await freshWarehouse('postgres');
  const queue = { queueName: `${name}-${randomBytes(6).toString('hex')}` };
  const config = (role: 'api' | 'worker'): Config =>
    loadConfig(
      {
        SEXTANT_WAREHOUSE: pg.url as string,
        SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
        SEXTANT_REDIS_URL: testRedisUrl(),
        SEXTANT_ROLE: role,
        SEXTANT_DEMO: 'off',
        SEXTANT_RESULT_CACHE: 'on',
        SEXTANT_SIGNING_SECRET: `${name}-test`,
        HOST: '127.0.0.1',
        PORT: '0',
      },
      dir,
    );
  let api: App | undefined;
  let worker: App | undefined;
  let server: FastifyInstance | undefined;
  const close = async () => {
    await server?.close();
    await worker?.close();
    await api?.close();
    await pg.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // One after the other: both create the target tables at start-up.
    api = await openApp({ config: config('api'), log: silentLogger, checkColumns: false, queue });
    worker = await openApp({ config: config('worker'), log: silentLogger, checkColumns: false, queue });
    await start(worker);
    server = await buildApi(api);
  } catch (err) {
    await close();
    throw err;
  }
  const http = server;
  return {
    api,
    worker,
    server: http,
    async succeeded(id) {
      for (;;) {
        const res = await gql(http, 'query($id: ID!) { job(id: $id) { status errors { message } } }', { id });
        const job = res.body.data?.job as { status: string; errors: unknown[] } | null;
        if (job && FINAL.has(job.status)) {
          expect(job).toEqual({ status: 'SUCCEEDED', errors: [] });
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close,
  };
}
