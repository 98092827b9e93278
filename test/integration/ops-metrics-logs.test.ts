/**
 * `/metrics` (prom-client) and the JSON logs, on a real App as `sextant serve` opens it (PostgreSQL,
 * Redis/BullMQ, an object-store folder), serving over real HTTP: scrape, make real requests and a real
 * load job, scrape again and check the series moved by what happened; and check that each log line
 * written while a request or a job ran names it (requestId = the reply's x-request-id; jobId, jobType).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createLogger, withLogContext } from '../../src/log.js';
import { buildApi, openApp, startWorker, type App } from '../../src/main.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const QUERY = 'query ManualPosts { social { manualPosts { posts impressions } } }';

/** One sample's value from the exposition text, 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('metrics and logs of a serving process', () => {
  let dir: string;
  let pg: Awaited<ReturnType<typeof freshWarehouse>>;
  let app: App;
  let server: FastifyInstance;
  let base: string;
  const lines: string[] = [];
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-ops-'));
    pg = await freshWarehouse('postgres');
    const config = loadConfig(
      {
        SEXTANT_WAREHOUSE: pg.url as string,
        SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
        SEXTANT_REDIS_URL: testRedisUrl(),
        SEXTANT_DEMO: 'off',
        SEXTANT_RESULT_CACHE: 'on',
        HOST: '127.0.0.1',
        PORT: '0',
      },
      dir,
    );
    const log = createLogger('debug', {}, { format: 'json', write: (line) => lines.push(line) });
    app = await openApp({ config, log, checkColumns: false, queue: { queueName: `ops-${randomBytes(6).toString('hex')}` } });
    await startWorker(app);
    server = await buildApi(app);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await server?.close();
    await app?.close();
    await pg?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const gql = async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
    return { res, body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] } };
  };

  async function load(name: string, csv: string): Promise<string> {
    const key = `raw/social_manual_posts/ops/${name}`;
    await app.store.put(key, csv);
    const queued = await gql('mutation Load($k: String!) { ingestObject(target: "social_manual_posts", key: $k) { id } }', { k: key });
    expect(queued.body.errors).toBeUndefined();
    const id = (queued.body.data!.ingestObject as { id: string }).id;
    for (;;) {
      const { body } = await gql('query Job($id: ID!) { job(id: $id) { status } }', { id });
      const status = (body.data?.job as { status: string } | null)?.status;
      if (status && FINAL.has(status)) {
        expect(status).toBe('SUCCEEDED');
        return id;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('moves the request, cache, job, rows, queue and pool series with what happened', async () => {
    const before = await scrape();
    for (const name of ['sextant_http_request_duration_seconds', 'sextant_job_duration_seconds', 'sextant_rows_loaded_total', 'sextant_result_cache_lookups_total', 'sextant_queue_jobs', 'sextant_warehouse_pool_connections']) {
      expect(before).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    // prom-client's default process metrics.
    expect(sample(before, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(before, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(before).toMatch(/^process_resident_memory_bytes \d+/m);
    // The queue's depth and the pool's connections are read at scrape time.
    expect(before).toMatch(/^sextant_queue_jobs\{queue="ops-[0-9a-f]+",state="waiting"\} 0$/m);
    expect(before).toMatch(/^sextant_warehouse_pool_connections\{state="idle"\} \d+$/m);
    expect(sample(before, 'sextant_warehouse_pool_connections', { state: 'in_use' }) + sample(before, 'sextant_warehouse_pool_connections', { state: 'idle' })).toBeGreaterThan(0);

    const count = (text: string) => sample(text, 'sextant_http_request_duration_seconds_count', { route: '/graphql', operation: 'ManualPosts', method: 'POST', status: '200' });
    const hits = (text: string) => sample(text, 'sextant_result_cache_lookups_total', { result: 'hit' });
    const misses = (text: string) => sample(text, 'sextant_result_cache_lookups_total', { result: 'miss' });

    // Two identical questions: a miss then a hit, both under the operation's name.
    for (let i = 0; i < 2; i++) expect((await gql(QUERY)).body.errors).toBeUndefined();
    const asked = await scrape();
    expect(count(asked) - count(before)).toBe(2);
    expect(hits(asked) - hits(before)).toBe(1);
    expect(misses(asked) - misses(before)).toBe(1);

    // A real load job: its duration by type and outcome, and its rows by target.
    await load('one.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p1,2026-03-02,100,1\ntiktok,p2,2026-03-02,23,2\nlinkedin,p3,2026-03-03,7,0\n');
    const loaded = await scrape();
    const jobs = (t: string) => sample(t, 'sextant_job_duration_seconds_count', { type: 'INGEST_FILE', outcome: 'succeeded' });
    expect(jobs(loaded) - jobs(asked)).toBe(1);
    expect(sample(loaded, 'sextant_rows_loaded_total', { type: 'INGEST_FILE', target: 'social_manual_posts' }) - sample(asked, 'sextant_rows_loaded_total', { type: 'INGEST_FILE', target: 'social_manual_posts' })).toBe(3);
    expect(sample(loaded, 'sextant_job_duration_seconds_sum', { type: 'INGEST_FILE', outcome: 'succeeded' })).toBeGreaterThan(0);
    // The load dropped the cached answer: the next question misses.
    expect((await gql(QUERY)).body.data).toEqual({ social: { manualPosts: [{ posts: 3, impressions: 130 }] } });
    const after = await scrape();
    expect(misses(after) - misses(loaded)).toBe(1);
    // Other operations keep their own series; an operation named by no one is "anonymous".
    expect(sample(after, 'sextant_http_requests_total', { route: '/graphql', operation: 'Job', method: 'POST', status: '200' })).toBeGreaterThan(0);
    await gql('{ social { manualPosts { posts } } }');
    expect(sample(await scrape(), 'sextant_http_requests_total', { route: '/graphql', operation: 'anonymous', method: 'POST', status: '200' })).toBe(1);
  }, 60_000);

  it('tells operation names apart without letting clients create unbounded series', () => {
    const m = app.metrics;
    expect(m.operationLabel('Sales')).toBe('Sales');
    expect(m.operationLabel(undefined)).toBe('anonymous');
    expect(m.operationLabel('a"b{c}')).toBe('other');
    for (let i = 0; i < 300; i++) m.operationLabel(`Op${i}`);
    expect(m.operationLabel('Op299')).toBe('other');
    expect(m.operationLabel('Sales')).toBe('Sales');
  });

  it('writes JSON lines carrying the request id of the request they were logged in, returned as x-request-id', async () => {
    lines.length = 0;
    // A client's own id is kept and returned.
    const { res } = await gql('{ social { manualPosts { posts } } }', undefined, { 'x-request-id': 'trace-abc.123' });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const ready = await fetch(`${base}/health/ready`);
    const id = ready.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // A header that is not a plain token is not trusted: the server makes its own id.
    const odd = await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'a b\tc' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // A line logged deep inside a request (the readiness check fails: logged from the health plugin after awaits).
    const ping = app.queue.ping.bind(app.queue);
    (app.queue as { ping: () => Promise<void> }).ping = async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('queue check failed on purpose');
    };
    try {
      const down = await fetch(`${base}/health/ready`);
      expect(down.status).toBe(503);
      const warn = logged().find((l) => l.msg === 'readiness check failed');
      expect(warn).toMatchObject({ level: 'warn', check: 'queue', requestId: down.headers.get('x-request-id') });
      expect(typeof warn!.time).toBe('string');
    } finally {
      (app.queue as { ping: () => Promise<void> }).ping = ping;
    }
    // Each line is one JSON object with time, level and msg first.
    for (const line of lines) expect(Object.keys(JSON.parse(line)).slice(0, 3)).toEqual(['time', 'level', 'msg']);
  });

  it('names the job in every line logged while it runs (jobId, jobType), and in none outside it', async () => {
    lines.length = 0;
    const id = await load('two.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p9,2026-03-04,5,0\n');
    const ofJob = logged().filter((l) => l.jobId === id);
    expect(ofJob.map((l) => l.msg)).toEqual(['job started', 'job finished']);
    for (const l of ofJob) expect(l.jobType).toBe('INGEST_FILE');
    expect(ofJob[1]).toMatchObject({ outcome: 'succeeded', durationMs: expect.any(Number) });
    // Lines of the requests that queued and polled the job carry request ids, not the job's.
    expect(logged().filter((l) => l.requestId !== undefined && l.jobId !== undefined)).toEqual([]);
  });

  it('nests log contexts and lets a field given at the call win', () => {
    const out: string[] = [];
    const log = createLogger('info', { role: 'api' }, { format: 'json', write: (l) => out.push(l) });
    withLogContext({ requestId: 'r1' }, () => withLogContext({ jobId: 'j1' }, () => log.info('inside', { jobId: 'explicit' })));
    log.info('outside');
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { time: expect.any(String), level: 'info', msg: 'inside', requestId: 'r1', jobId: 'explicit', role: 'api' },
      { time: expect.any(String), level: 'info', msg: 'outside', role: 'api' },
    ]);
    const pretty: string[] = [];
    createLogger('info', {}, { format: 'pretty', write: (l) => pretty.push(l) }).warn('disk almost full', { path: '/data x', free: 3 });
    expect(pretty[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  disk almost full path="\/data x" free=3\n$/);
  });
});
