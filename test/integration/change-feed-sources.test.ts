/**
 * A source run by a worker process reaches an API process's result cache: two Apps as `sextant serve`
 * opens them with SEXTANT_ROLE=api and =worker (the worker started by `startWorker`, as serve does),
 * sharing one PostgreSQL database, one object-store folder and one Redis, talking only through those.
 * The API answers a question from its cache; `runSource` queues the example project's `web_microsites`
 * source (against the local REST fake); once the job reads SUCCEEDED through the API, the very next
 * answer has the loaded sessions. Without the change feed the cached empty answer would stay for the
 * cache's TTL (60 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/main.js';
import { startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { openApiAndWorker, type ApiAndWorker } from './api-and-worker.js';
import { gql } from './graphql-harness.js';

const QUERY = '{ web { manualSessions(where: { site: { equals: "summit.example" } }) { sessions } } }';
/** The runner reads credentials and base URL overrides from the process's environment, as in production. */
const ENV_KEYS = ['MICROSITES_API_TOKEN', 'SEXTANT_SOURCE_WEB_MICROSITES_BASE_URL'] as const;

describe('a source run by a worker process invalidates an API process’s cached results (change feed)', () => {
  let rest: RestFake;
  let apps: ApiAndWorker;
  const saved: Partial<Record<(typeof ENV_KEYS)[number], string | undefined>> = {};

  beforeAll(async () => {
    rest = await startRestFake();
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    process.env.MICROSITES_API_TOKEN = rest.token;
    process.env.SEXTANT_SOURCE_WEB_MICROSITES_BASE_URL = rest.baseUrl;
    // The worker role exactly as `sextant serve` starts it: every handler and schedule, sources included.
    apps = await openApiAndWorker('cf-src', startWorker);
  });
  afterAll(async () => {
    await apps?.close();
    await rest?.close();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  async function sessions(): Promise<{ sessions: number | null; cacheHit: boolean }> {
    const res = await gql(apps.server, QUERY);
    expect(res.body.errors).toBeUndefined();
    const [row] = (res.body.data!.web as { manualSessions: Array<{ sessions: number | null }> }).manualSessions;
    const queries = (res.body.extensions?.sextant as { queries: Array<{ cacheHit: boolean }> }).queries;
    expect(queries).toHaveLength(1);
    return { sessions: row?.sessions ?? null, cacheHit: queries[0].cacheHit };
  }

  /** Queues a run through the API and waits, through the API, for its job to succeed. */
  async function runSource(from: string, to: string): Promise<void> {
    const queued = await gql(apps.server, 'mutation($f: Date, $t: Date) { runSource(name: "web_microsites", from: $f, to: $t) { id } }', { f: from, t: to });
    expect(queued.body.errors).toBeUndefined();
    await apps.succeeded((queued.body.data!.runSource as { id: string }).id);
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
