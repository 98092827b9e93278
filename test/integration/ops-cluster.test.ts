/**
 * Several real `sextant serve` processes (the CLI, SEXTANT_ROLE=api|worker) on one PostgreSQL, one Redis
 * and s3rver, talking only through those (docs/deploy.md):
 *
 * 1. 2 api + 2 workers: every upload's job runs once and every table is exact; the schedule fires once
 *    per tick; a load invalidates the other API process's cached answer; a revoked key stops working in
 *    both API processes within the key cache's TTL.
 * 2. SIGTERM to a worker mid-load finishes the job within the deadline, then exits.
 * 3. SIGTERM to a worker mid-load past a short deadline hands the job back; the next worker runs it once.
 * 4. SIGTERM to an API process mid-request: readiness turns 503, new connections are refused, the
 *    request completes, and its upload loads through the other API process.
 *
 * "Ran once" is read from the workers' JSON logs (a `job started` line per attempt, named by the job's
 * id) and the job records; "exact" from the table against sums computed here.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { KeyStore } from '../../src/auth/key-store.js';
import { clusterEnv, freshDeployment, gqlAt, manualPostsCsv, uploadCsv, waitForJob } from '../support/cluster.js';
import { testPgUrl, testRedisUrl, testS3 } from '../support/env.js';
import { startServe, stopServe, type ServeProcess } from '../support/serve-process.js';
import { freshWarehouse } from '../support/warehouses.js';

const TARGET = 'social_manual_posts';

/** The error code of a new TCP connection to the port, or undefined when it connects. */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
const QUERY = 'query ManualPosts { social { manualPosts { posts impressions } } }';

describe('several processes on one Redis, PostgreSQL and S3', () => {
  let wh: Awaited<ReturnType<typeof freshWarehouse>>;
  let db: pg.Client;
  let adminKey: string;
  let keys: KeyStore;
  const procs: ServeProcess[] = [];
  let api1: ServeProcess;
  let api2: ServeProcess;
  let w1: ServeProcess;
  let w2: ServeProcess;
  const deployment = freshDeployment('ops-cluster');
  const env = (extra: Record<string, string>) => clusterEnv({ pgUrl: wh.url as string, redisUrl: testRedisUrl(), s3: testS3() }, deployment, extra);
  /** Posts loaded so far and their impressions, computed here. */
  const expected = { posts: 0, impressions: 0 };
  let nextPost = 0;

  const start = async (name: string, extra: Record<string, string>) => {
    const p = await startServe({ name, env: env(extra) });
    procs.push(p);
    return p;
  };
  const table = async () => (await db.query<{ n: number; s: string | null }>('select count(*)::int as n, sum(impressions)::text as s from social.manual_posts')).rows[0];
  const startedLines = (ps: ServeProcess[], jobId?: string): Array<{ jobId: unknown; jobType: unknown; proc: string }> =>
    ps.flatMap((p) => p.logs().filter((l) => l.msg === 'job started' && (jobId === undefined || l.jobId === jobId)).map((l) => ({ jobId: l.jobId, jobType: l.jobType, proc: p.name })));

  beforeAll(async () => {
    void testPgUrl();
    wh = await freshWarehouse('postgres');
    db = new pg.Client({ connectionString: wh.url });
    await db.connect();
    // A key before any process starts: every request then needs one (as in production).
    keys = new KeyStore(wh, { knownTeams: [], cacheTtlMs: 0 });
    await keys.init();
    adminKey = (await keys.create({ role: 'admin', name: 'ops-test' })).key;
    // The first process creates the tables; the others start together.
    api1 = await start('api-1', { SEXTANT_ROLE: 'api', SEXTANT_SHUTDOWN_DELAY_MS: '1500', SEXTANT_SHUTDOWN_TIMEOUT_MS: '60000' });
    [api2, w1, w2] = await Promise.all([
      start('api-2', { SEXTANT_ROLE: 'api' }),
      start('worker-1', { SEXTANT_ROLE: 'worker', SEXTANT_INBOX_SCAN_MS: '1000', SEXTANT_WORKER_CONCURRENCY: '2', SEXTANT_SHUTDOWN_TIMEOUT_MS: '120000', SEXTANT_METRICS_PORT: '0' }),
      start('worker-2', { SEXTANT_ROLE: 'worker', SEXTANT_INBOX_SCAN_MS: '1000', SEXTANT_WORKER_CONCURRENCY: '2', SEXTANT_METRICS_PORT: '0' }),
    ]);
  }, 400_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stopServe(p)));
    await db?.end();
    await wh?.close();
  }, 120_000);

  it('runs each uploaded job once, across two API and two worker processes, and loads every row exactly', async () => {
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const { csv, impressions } = manualPostsCsv(nextPost + i * 50, 50);
        expected.impressions += impressions;
        // Created on one API process, completed on the other: they share the signing secret and the records.
        const [a, b] = i % 2 ? [api1, api2] : [api2, api1];
        ids.push(await uploadCsv(a.base, adminKey, TARGET, `part-${i}.csv`, csv, b.base));
      }),
    );
    nextPost += 16 * 50;
    expected.posts += 16 * 50;
    const jobs = await Promise.all(ids.map((id) => waitForJob(api1.base, adminKey, id)));
    for (const job of jobs) expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, rowsLoaded: 50, errors: [] });
    // Once each, by one of the two workers; both took some.
    const starts = startedLines([w1, w2]).filter((l) => ids.includes(l.jobId as string));
    expect(starts).toHaveLength(ids.length);
    expect(new Set(starts.map((l) => l.jobId)).size).toBe(ids.length);
    expect(new Set(starts.map((l) => l.proc))).toEqual(new Set(['worker-1', 'worker-2']));
    expect(await table()).toEqual({ n: expected.posts, s: String(expected.impressions) });
    // Each worker reports the jobs it ran on its own /metrics (SEXTANT_METRICS_PORT), behind the admin key.
    let succeeded = 0;
    let rows = 0;
    for (const w of [w1, w2]) {
      const port = /metrics:\s+http:\/\/[^\s]+:(\d+)\/metrics/.exec(w.output())?.[1];
      expect(port, w.name).toBeDefined();
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      succeeded += value(/^sextant_job_duration_seconds_count\{type="INGEST_FILE",outcome="succeeded"\} (\d+)$/m);
      rows += value(/^sextant_rows_loaded_total\{type="INGEST_FILE",target="social_manual_posts"\} (\d+)$/m);
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    }
    expect(succeeded).toBe(ids.length);
    expect(rows).toBe(16 * 50);
  }, 180_000);

  it('fires the schedule once per tick, not once per worker', async () => {
    const scans = () => startedLines([w1, w2]).filter((l) => l.jobType === 'INBOX_SCAN');
    const before = scans().length;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    const elapsed = Date.now() - t0;
    const window = scans().slice(before);
    // Every 1 s: at most one tick per second elapsed (plus the one in flight at each end), each run once.
    expect(window.length).toBeGreaterThanOrEqual(2);
    expect(window.length).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 2);
    const all = scans().map((l) => l.jobId);
    expect(new Set(all).size).toBe(all.length);
  }, 30_000);

  it('drops the other API process’s cached answer when a load commits', async () => {
    const ask = async (p: ServeProcess) => {
      const res = await gqlAt(p.base, adminKey, QUERY);
      expect(res.errors).toBeUndefined();
      const [row] = (res.data!.social as { manualPosts: Array<{ posts: number; impressions: number }> }).manualPosts;
      const cacheHit = (res.extensions?.sextant as { queries: Array<{ cacheHit: boolean }> }).queries[0].cacheHit;
      return { ...row, cacheHit };
    };
    await ask(api2);
    expect(await ask(api2)).toEqual({ posts: expected.posts, impressions: expected.impressions, cacheHit: true });
    const { csv, impressions } = manualPostsCsv(nextPost, 10);
    nextPost += 10;
    expected.posts += 10;
    expected.impressions += impressions;
    const id = await uploadCsv(api1.base, adminKey, TARGET, 'invalidate.csv', csv);
    expect((await waitForJob(api1.base, adminKey, id)).status).toBe('SUCCEEDED');
    expect(await ask(api2)).toEqual({ posts: expected.posts, impressions: expected.impressions, cacheHit: false });
  }, 60_000);

  it('stops a revoked key in every API process within the key cache’s TTL (10 s)', async () => {
    const { id, key } = await keys.create({ role: 'admin', name: 'to-revoke' });
    for (const p of [api1, api2]) expect((await gqlAt(p.base, key, '{ catalog { teams { name } } }')).status).toBe(200);
    // Revoked by another process (as `sextant keys revoke` does).
    await keys.revoke(id);
    const revokedAt = Date.now();
    const refusedAfter = await Promise.all(
      [api1, api2].map(async (p) => {
        for (;;) {
          const res = await gqlAt(p.base, key, '{ catalog { teams { name } } }');
          if (res.status === 401) return Date.now() - revokedAt;
          expect(res.status).toBe(200);
          if (Date.now() - revokedAt > 30_000) return Infinity;
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
    );
    for (const ms of refusedAfter) expect(ms).toBeLessThanOrEqual(12_000);
    // The admin key still works everywhere.
    for (const p of [api1, api2]) expect((await gqlAt(p.base, adminKey, '{ catalog { teams { name } } }')).status).toBe(200);
  }, 60_000);

  it('refuses to start a process without the signing secret, or with another one, beside the running ones', async () => {
    // SEXTANT_ROLE=all needs no secret on its own; beside these four processes it would refuse their URLs.
    await expect(startServe({ name: 'no-secret', env: env({ SEXTANT_ROLE: 'all', SEXTANT_SIGNING_SECRET: '' }) })).rejects.toThrow(
      /exited during start-up[\s\S]*another Sextant process shares this Redis and queue[\s\S]*SEXTANT_SIGNING_SECRET is not set in this one/,
    );
    await expect(startServe({ name: 'other-secret', env: env({ SEXTANT_ROLE: 'worker', SEXTANT_SIGNING_SECRET: 'not-the-deployments-secret' }) })).rejects.toThrow(
      /has a different SEXTANT_SIGNING_SECRET/,
    );
    // Two start-ups that run until the peers' check: 30 s each on a loaded CI machine.
  }, 240_000);

  it('SIGTERM to a worker mid-load: it stops taking jobs, finishes the running one within its deadline, and exits', async () => {
    // worker-2 leaves first (idle), so that the load runs on worker-1, whose deadline is 120 s.
    w2.child.kill('SIGTERM');
    expect(await w2.exited).toBe(0);
    const { csv, impressions } = manualPostsCsv(nextPost, 150_000);
    nextPost += 150_000;
    expected.posts += 150_000;
    expected.impressions += impressions;
    const id = await uploadCsv(api1.base, adminKey, TARGET, 'big-1.csv', csv);
    while (startedLines([w1], id).length === 0) await new Promise((r) => setTimeout(r, 20));
    w1.child.kill('SIGTERM');
    expect(await w1.exited).toBe(0);
    const job = await waitForJob(api1.base, adminKey, id, 10_000);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, rowsLoaded: 150_000 });
    expect(w1.logs().filter((l) => l.jobId === id).map((l) => l.msg)).toEqual(['job started', 'job finished']);
    expect(w1.logs().some((l) => l.msg === 'shutting down: finishing in-flight requests and running jobs')).toBe(true);
    expect(await table()).toEqual({ n: expected.posts, s: String(expected.impressions) });
  }, 240_000);

  it('SIGTERM to a worker mid-load past its deadline: the job goes back to the queue and the next worker runs it once', async () => {
    const w3 = await start('worker-3', { SEXTANT_ROLE: 'worker', SEXTANT_SHUTDOWN_TIMEOUT_MS: '300' });
    const { csv, impressions } = manualPostsCsv(nextPost, 200_000);
    nextPost += 200_000;
    expected.posts += 200_000;
    expected.impressions += impressions;
    const id = await uploadCsv(api1.base, adminKey, TARGET, 'big-2.csv', csv);
    while (startedLines([w3], id).length === 0) await new Promise((r) => setTimeout(r, 20));
    w3.child.kill('SIGTERM');
    expect(await w3.exited).toBe(0);
    // Started once there, handed back, not finished there (a closing worker that is handed the job again
    // by its last fetch hands it straight back).
    const ofJob = w3.logs().filter((l) => l.jobId === id).map((l) => l.msg);
    expect(ofJob.slice(0, 2)).toEqual(['job started', 'job handed back to the queue: this worker is shutting down']);
    expect(ofJob.filter((m) => m === 'job started')).toHaveLength(1);
    expect(ofJob).not.toContain('job finished');
    // Nothing ran it meanwhile; its record waits for the next worker.
    expect((await gqlAt(api1.base, adminKey, 'query J($id: ID!) { job(id: $id) { status } }', { id })).data!.job).not.toMatchObject({ status: 'SUCCEEDED' });
    const w4 = await start('worker-4', { SEXTANT_ROLE: 'worker' });
    const job = await waitForJob(api1.base, adminKey, id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, rowsLoaded: 200_000 });
    expect(startedLines([w4], id)).toHaveLength(1);
    expect(await table()).toEqual({ n: expected.posts, s: String(expected.impressions) });
  }, 300_000);

  it('SIGTERM to an API process mid-request: readiness 503, new connections refused, the request completes', async () => {
    // The upload's bytes go to S3 directly; the request in flight is the API's completeUpload, whose body arrives in two halves.
    const { csv, impressions } = manualPostsCsv(nextPost, 20);
    const created = await gqlAt(api1.base, adminKey, 'mutation { createUpload(target: "social_manual_posts", filename: "slow.csv", contentType: "text/csv") { id uploadUrl } }');
    const { id: uploadId, uploadUrl } = created.data!.createUpload as { id: string; uploadUrl: string };
    expect((await fetch(uploadUrl, { method: 'PUT', body: csv, headers: { 'content-type': 'text/csv' } })).status).toBe(200);
    const body = JSON.stringify({ query: 'mutation Complete($id: ID!) { completeUpload(id: $id) { id } }', variables: { id: uploadId } });
    const half = Math.floor(body.length / 2);
    const post = httpRequest({
      host: '127.0.0.1',
      port: api1.port,
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${adminKey}` },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      post.on('response', (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      post.on('error', reject);
    });
    post.write(body.slice(0, half));
    await new Promise((r) => setTimeout(r, 300));
    api1.child.kill('SIGTERM');
    // Draining: readiness says 503 while the delay lets load balancers notice. (A kept-alive socket the
    // server has just closed is the one client error allowed: the client retries on a new connection.)
    let ready: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 60 && ready?.status !== 503; i++) {
      ready = await fetch(`${api1.base}/health/ready`).then(async (r) => ({ status: r.status, body: await r.json() }), () => undefined);
      if (ready?.status !== 503) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready).toEqual({ status: 503, body: { status: 'draining', checks: {} } });
    // After the delay the port no longer accepts connections, while the request is still open.
    let refused: string | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = await connectError(api1.port as number);
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe('ECONNREFUSED');
    post.end(body.slice(half));
    const res = await answered;
    expect(res.status).toBe(200);
    const jobId = (JSON.parse(res.body) as { data: { completeUpload: { id: string } } }).data.completeUpload.id;
    expect(await api1.exited).toBe(0);
    // Nothing lost: the job it queued loads once, read through the other API process.
    const job = await waitForJob(api2.base, adminKey, jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, rowsLoaded: 20 });
    expected.posts += 20;
    expected.impressions += impressions;
    expect(await table()).toEqual({ n: expected.posts, s: String(expected.impressions) });
  }, 120_000);
});
