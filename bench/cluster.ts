/**
 * Several processes under load (issue 12's "done when"): 2 API + 2 worker `sextant serve` processes on one
 * Redis, PostgreSQL and s3rver take `--uploads` uploads (createUpload → PUT to S3 → completeUpload, spread
 * over the run), `--ticks` scheduled inbox scans (each with a file dropped in the inbox before it) and
 * `--clients` concurrent GraphQL clients for `--seconds`. Then it checks: every job ran exactly once
 * (job records, and the workers' `job started` log lines per job id), the table is exact (row count and
 * impressions against sums computed here), and 0 request errors; and prints p50/p99 and throughput.
 *
 * `--sigterm`: SIGTERM to a worker while it runs a load (a third of the way in) and to an API process
 * while requests are in flight (half way); clients whose new connection is refused retry on the other
 * API process (counted as retried, not as errors). Nothing may be lost or doubled.
 *
 *   npm run bench:cluster -- [--seconds 60] [--clients 200] [--uploads 200] [--ticks 5] [--rows 500] [--sigterm] [--entry bin|tsx]
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { KeyStore } from '../src/auth/key-store.js';
import { openPostgresWarehouse } from '../src/warehouse/postgres/postgres-warehouse.js';
import { startServices } from '../test/support/services.js';
import { clusterEnv, freshDeployment, gqlAt, manualPostsCsv, uploadCsv, waitForJob, type JobView } from '../test/support/cluster.js';
import { startServe, stopServe, type ServeProcess } from '../test/support/serve-process.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '200' },
    uploads: { type: 'string', default: '200' },
    ticks: { type: 'string', default: '5' },
    rows: { type: 'string', default: '500' },
    sigterm: { type: 'boolean', default: false },
    entry: { type: 'string', default: 'bin' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const UPLOADS = Number(args.uploads);
const TICKS = Number(args.ticks);
const ROWS = Number(args.rows);
const ENTRY = args.entry === 'tsx' ? 'tsx' : 'bin';
const TARGET = 'social_manual_posts';
const QUERY = 'query ManualPosts { social { manualPosts { posts impressions } } }';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A refused or reset connection to a process that is shutting down: the client retries elsewhere. */
function isConnectionRefusal(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(cause?.code ?? '');
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const root = mkdtempSync(join(tmpdir(), 'sextant-bench-cluster-'));
  const services = await startServices({ postgres: true, redis: true, s3: true });
  const procs: ServeProcess[] = [];
  try {
    // A fresh database.
    const admin = new pg.Client(services.pgUrl!);
    await admin.connect();
    const dbName = `bench_cluster_${Date.now()}`;
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = new URL(services.pgUrl!);
    dbUrl.pathname = `/${dbName}`;
    const s3 = { endpoint: services.s3Endpoint!, bucket: services.s3Bucket! };
    const deployment = freshDeployment('bench');
    const env = (extra: Record<string, string>) => clusterEnv({ pgUrl: dbUrl.toString(), redisUrl: services.redisUrl!, s3 }, deployment, { NODE_ENV: 'production', SEXTANT_RATE_LIMIT_PER_MINUTE: '1000000', ...extra });

    const wh = await openPostgresWarehouse(dbUrl.toString(), { statementTimeoutMs: 60_000, poolSize: 2 });
    const keys = new KeyStore(wh, { knownTeams: [] });
    await keys.init();
    const apiKey = (await keys.create({ role: 'admin', name: 'bench' })).key;
    await wh.close();

    const tickMs = Math.max(1000, Math.floor((SECONDS * 1000) / TICKS));
    const start = async (name: string, extra: Record<string, string>) => {
      const p = await startServe({ name, env: env(extra), entry: ENTRY, cwd: root });
      procs.push(p);
      return p;
    };
    console.log(`starting 2 api + 2 worker processes (${ENTRY}) …`);
    const api1 = await start('api-1', { SEXTANT_ROLE: 'api', SEXTANT_SHUTDOWN_DELAY_MS: '1000' });
    const [api2, w1, w2] = await Promise.all([
      start('api-2', { SEXTANT_ROLE: 'api' }),
      start('worker-1', { SEXTANT_ROLE: 'worker', SEXTANT_INBOX_SCAN_MS: String(tickMs) }),
      start('worker-2', { SEXTANT_ROLE: 'worker', SEXTANT_INBOX_SCAN_MS: String(tickMs) }),
    ]);
    const apis = [api1, api2];
    const workers = [w1, w2];
    const alive = new Set<ServeProcess>(apis);

    const expected = { posts: 0, impressions: 0 };
    const uploadIds: string[] = [];
    let nextPost = 0;
    let retried = 0;
    let requestErrors = 0;
    let firstError: string | undefined;
    const latencies: number[] = [];

    /** One call on a live API process; a refused connection retries on the other one. */
    const onSomeApi = async <T>(i: number, call: (base: string) => Promise<T>): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        const live = apis.filter((a) => alive.has(a));
        const api = live[(i + attempt) % live.length];
        try {
          return await call(api.base);
        } catch (err) {
          if (attempt < 3 && isConnectionRefusal(err)) {
            retried++;
            continue;
          }
          throw err;
        }
      }
    };

    const s3client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;

    // Readers: closed loop, each client sends its next question when the last is answered.
    const reader = async (c: number) => {
      let n = 0;
      while (performance.now() < until) {
        const t = performance.now();
        try {
          const res = await onSomeApi(c + n++, async (base) => {
            const r = await gqlAt(base, apiKey, QUERY);
            // A process that closes answers 503 to a request on a kept-alive connection: not processed, retried.
            if (r.status === 503) throw Object.assign(new Error('503 while draining'), { cause: { code: 'ECONNREFUSED' } });
            return r;
          });
          if (res.status !== 200 || res.errors) throw new Error(`status ${res.status}: ${JSON.stringify(res.errors)}`);
          latencies.push(performance.now() - t);
        } catch (err) {
          requestErrors++;
          firstError ??= (err as Error).message;
        }
      }
    };

    // Uploads, spread evenly over the run.
    const uploader = async () => {
      for (let i = 0; i < UPLOADS; i++) {
        const due = t0 + (i * SECONDS * 1000) / UPLOADS;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const { csv, impressions } = manualPostsCsv(nextPost, ROWS);
        nextPost += ROWS;
        expected.posts += ROWS;
        expected.impressions += impressions;
        try {
          uploadIds.push(await onSomeApi(i, (base) => uploadCsv(base, apiKey, TARGET, `upload-${i}.csv`, csv)));
        } catch (err) {
          requestErrors++;
          firstError ??= `upload ${i}: ${(err as Error).message}`;
        }
      }
    };

    // Inbox files, one before each tick; the schedule's scans pick them up.
    const dropper = async () => {
      for (let i = 0; i < TICKS; i++) {
        const { csv, impressions } = manualPostsCsv(nextPost + 10_000_000, ROWS);
        nextPost += ROWS;
        expected.posts += ROWS;
        expected.impressions += impressions;
        await s3client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${deployment.prefix}/inbox/${TARGET}/tick-${i}.csv`, Body: csv }));
        await new Promise((r) => setTimeout(r, tickMs));
      }
    };

    const killer = async () => {
      if (!args.sigterm) return;
      await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 3));
      // Mid-load: a worker with a job started and not finished.
      for (;;) {
        const logs = w1.logs();
        const started = new Set(logs.filter((l) => l.msg === 'job started' && l.jobType === 'INGEST_FILE').map((l) => l.jobId));
        for (const l of logs) if (l.msg === 'job finished') started.delete(l.jobId);
        if (started.size > 0) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      console.log(`SIGTERM worker-1 at ${((performance.now() - t0) / 1000).toFixed(1)} s, mid-load`);
      w1.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 6));
      console.log(`SIGTERM api-1 at ${((performance.now() - t0) / 1000).toFixed(1)} s, with requests in flight`);
      api1.child.kill('SIGTERM');
      // Clients stop choosing it once it no longer accepts; until then its readiness says 503.
      api1.exited.then(() => alive.delete(api1));
      setTimeout(() => alive.delete(api1), 1000);
    };

    // Throughput over the readers' window; uploads behind schedule (a slow machine) may run on after it.
    const readersDone = Promise.all(Array.from({ length: CLIENTS }, (_, c) => reader(c))).then(() => performance.now());
    await Promise.all([readersDone, uploader(), dropper(), killer()]);
    const seconds = ((await readersDone) - t0) / 1000;
    const uploadsSeconds = (performance.now() - t0) / 1000;
    const load1 = loadavg();

    // Every upload's job, final.
    const jobs: JobView[] = await Promise.all(uploadIds.map((id) => onSomeApi(0, (base) => waitForJob(base, apiKey, id, 300_000))));
    // The inbox files' jobs: wait until the table has every row (or give up after 2 minutes).
    const db = new pg.Client(dbUrl.toString());
    await db.connect();
    const table = async () => (await db.query<{ n: number; s: string | null }>('select count(*)::int as n, sum(impressions)::text as s from social.manual_posts')).rows[0];
    const deadline = Date.now() + 120_000;
    let got = await table();
    while (got.n < expected.posts && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      got = await table();
    }
    const records = (await db.query<{ id: string; type: string; status: string; attempts: number }>('select id, type, status, attempts from sextant.jobs')).rows;
    await db.end();

    const starts = new Map<string, number>();
    const handedBack = new Set<string>();
    for (const w of workers) {
      for (const l of w.logs()) {
        if (l.msg === 'job started') starts.set(l.jobId as string, (starts.get(l.jobId as string) ?? 0) + 1);
        if (typeof l.msg === 'string' && l.msg.startsWith('job handed back')) handedBack.add(l.jobId as string);
      }
    }
    const ingest = records.filter((r) => r.type === 'INGEST_FILE');
    const scans = records.filter((r) => r.type === 'INBOX_SCAN');
    const notSucceeded = records.filter((r) => r.status !== 'SUCCEEDED');
    const moreThanOneAttempt = records.filter((r) => r.attempts !== 1);
    // Exactly once: one start per job; a job handed back at shutdown is started once more, by another worker.
    const startedTwice = [...starts].filter(([id, n]) => n !== 1 && !(n === 2 && handedBack.has(id)));
    const neverStarted = records.filter((r) => !starts.has(r.id));
    latencies.sort((a, b) => a - b);

    // The processes that were sent SIGTERM shut down cleanly (exit code 0) rather than being killed.
    const exitCodes = args.sigterm ? await Promise.all([w1.exited, api1.exited]) : [];
    const ok =
      exitCodes.every((c) => c === 0) &&
      jobs.every((j) => j.status === 'SUCCEEDED') &&
      notSucceeded.length === 0 &&
      moreThanOneAttempt.length === 0 &&
      startedTwice.length === 0 &&
      neverStarted.length === 0 &&
      ingest.length === UPLOADS + TICKS &&
      got.n === expected.posts &&
      got.s === String(expected.impressions) &&
      requestErrors === 0;

    console.log(`\nbench/cluster.ts${args.sigterm ? ' --sigterm' : ''}: 2 api + 2 workers (${ENTRY}), ${CLIENTS} clients for ${seconds.toFixed(1)} s, ${UPLOADS} uploads × ${ROWS} rows (sent within ${uploadsSeconds.toFixed(1)} s), ${TICKS} inbox files`);
    console.log(`load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${(await import('node:os')).cpus().length} cores)`);
    console.log(`GraphQL: ${latencies.length} answered, ${(latencies.length / seconds).toFixed(1)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
    console.log(`request errors: ${requestErrors}${firstError ? ` (first: ${firstError.slice(0, 200)})` : ''}; connections retried on the other API process: ${retried}`);
    console.log(`jobs: ${ingest.length} INGEST_FILE (expected ${UPLOADS + TICKS}), ${scans.length} INBOX_SCAN ticks; not SUCCEEDED: ${notSucceeded.length}; attempts ≠ 1: ${moreThanOneAttempt.length}`);
    console.log(`runs: started more than once: ${startedTwice.length}; handed back at shutdown and run once more elsewhere: ${handedBack.size}; records never started: ${neverStarted.length}`);
    console.log(`table social.manual_posts: ${got.n} rows, impressions ${got.s} — expected ${expected.posts} rows, ${expected.impressions} (${got.n === expected.posts && got.s === String(expected.impressions) ? 'exact' : 'DIFFERENT'})`);
    if (args.sigterm) console.log(`exit codes after SIGTERM: worker-1 ${exitCodes[0]}, api-1 ${exitCodes[1]}`);
    console.log(ok ? 'OK: every job ran once, the table is exact, 0 request errors' : 'FAILED: see above');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await Promise.all(procs.map((p) => stopServe(p)));
    await services.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
