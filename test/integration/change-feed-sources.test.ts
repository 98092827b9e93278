/**
 * A source run by a worker process reaches an API process's result cache: two Apps as `sextant serve`
 * opens them with SEXTANT_ROLE=api and =worker (the worker started by `startWorker`, as serve does),
 * sharing one PostgreSQL database, one object-store folder and one Redis, talking only through those.
 * The API answers a question from its cache; `runSource` queues the example project's `web_microsites`
 * source (against the local REST fake); once the job reads SUCCEEDED through the API, the very next
 * answer has the loaded sessions. Without the change feed the cached empty answer would stay for the
 * cache's TTL (60 s).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, openApp, startWorker, type App } from '../../src/main.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { silentLogger } from '../../src/log.js';
import { startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';
import { gql } from './graphql-harness.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const QUERY = '{ web { manualSessions(where: { site: { equals: "summit.example" } }) { sessions } } }';
/** The runner reads credentials and base URL overrides from the process's environment, as in production. */
const ENV_KEYS = ['MICROSITES_API_TOKEN', 'SEXTANT_SOURCE_WEB_MICROSITES_BASE_URL'] as const;

describe('a source run by a worker process invalidates an API process’s cached results (change feed)', () => {
  let dir: string;
  let pg: Awaited<ReturnType<typeof freshWarehouse>>;
  let rest: RestFake;
  let api: App;
  let worker: App;
  let server: FastifyInstance;
  const saved: Partial<Record<(typeof ENV_KEYS)[number], string | undefined>> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-cf-src-'));
    pg = await freshWarehouse('postgres');
    rest = await startRestFake();
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    process.env.MICROSITES_API_TOKEN = rest.token;
    process.env.SEXTANT_SOURCE_WEB_MICROSITES_BASE_URL = rest.baseUrl;
    const queue = { queueName: `cf-src-${randomBytes(6).toString('hex')}` };
    const config = (role: 'api' | 'worker'): Config =>
      loadConfig(
        {
          SEXTANT_WAREHOUSE: pg.url as string,
          SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
          SEXTANT_REDIS_URL: testRedisUrl(),
          SEXTANT_ROLE: role,
          SEXTANT_DEMO: 'off',
          SEXTANT_RESULT_CACHE: 'on',
          SEXTANT_SIGNING_SECRET: 'change-feed-sources-test',
          HOST: '127.0.0.1',
          PORT: '0',
        },
        dir,
      );
    api = await openApp({ config: config('api'), log: silentLogger, checkColumns: false, queue });
    worker = await openApp({ config: config('worker'), log: silentLogger, checkColumns: false, queue });
    await startWorker(worker);
    server = await buildApi(api);
  });
  afterAll(async () => {
    await server?.close();
    await worker?.close();
    await api?.close();
    await rest?.close();
    await pg?.close();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function sessions(): Promise<{ sessions: number | null; cacheHit: boolean }> {
    const res = await gql(server, QUERY);
    expect(res.body.errors).toBeUndefined();
    const [row] = (res.body.data!.web as { manualSessions: Array<{ sessions: number | null }> }).manualSessions;
    const queries = (res.body.extensions?.sextant as { queries: Array<{ cacheHit: boolean }> }).queries;
    expect(queries).toHaveLength(1);
    return { sessions: row?.sessions ?? null, cacheHit: queries[0].cacheHit };
  }

  /** Queues a run through the API and polls the job through the API until it is final. */
  async function runSource(from: string, to: string): Promise<void> {
    const queued = await gql(server, 'mutation($f: Date, $t: Date) { runSource(name: "web_microsites", from: $f, to: $t) { id } }', { f: from, t: to });
    expect(queued.body.errors).toBeUndefined();
    const id = (queued.body.data!.runSource as { id: string }).id;
    for (;;) {
      const res = await gql(server, 'query($id: ID!) { job(id: $id) { status errors { message } } }', { id });
      const job = res.body.data?.job as { status: string; errors: unknown[] } | null;
      if (job && FINAL.has(job.status)) {
        expect(job).toEqual({ status: 'SUCCEEDED', errors: [] });
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const expected = (from: string, to: string) => rest.sessions(from, to).filter((s) => s.site === 'summit.example').reduce((n, s) => n + s.sessions, 0);

  it('answers the loaded sessions as soon as the run reads SUCCEEDED, run after run', async () => {
    expect((await sessions()).sessions ?? 0).toBe(0);
    expect(await sessions()).toMatchObject({ cacheHit: true });

    await runSource('2026-09-01', '2026-09-10');
    expect(await sessions()).toEqual({ sessions: expected('2026-09-01', '2026-09-10'), cacheHit: false });
    expect(await sessions()).toMatchObject({ cacheHit: true });

    // More days: the cached total must go again.
    await runSource('2026-09-11', '2026-09-20');
    expect(await sessions()).toEqual({ sessions: expected('2026-09-01', '2026-09-20'), cacheHit: false });
  });
});
