/**
 * The ingestion flows end to end on real services: uploads through the service's own signed URL (folder
 * store) and through an S3 pre-signed URL (s3rver), jobs run by the in-process queue, the size limit,
 * failing and skipping loads, local files, the inbox and access checks. DuckDB and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { silentLogger } from '../../src/log.js';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import { openS3ObjectStore } from '../../src/storage/s3/s3-object-store.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { testRedisUrl, testS3 } from '../support/env.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const POSTS_YAML = (extra = '') => `
table: social.manual_posts
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  impressions: { type: integer, default: 0 }
${extra}`;

function target(name: string, yaml: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

const CSV = 'platform,Post ID,Date,impressions\nfacebook,p1,2026-01-01,10\nfacebook,p2,2026-01-01,20\ninstagram,p3,2026-01-02,30\n';
const BAD_CSV = 'platform,Post ID,Date,impressions\nfacebook,p1,2026-01-01,10\nfacebook,p2,2026-01-01,lots\n';

const SOCIAL_INGEST: Principal = { keyId: 'key-social', role: 'ingest', teams: ['social'] };
const WEB_INGEST: Principal = { keyId: 'key-web', role: 'ingest', teams: ['web'] };
const SOCIAL_READER: Principal = { keyId: 'key-reader', role: 'reader', teams: ['social'] };

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Waits until the job reaches a final status (the queue runs it in this process). */
async function finished(jobs: JobStore, id: string): Promise<JobRecord> {
  for (let i = 0; i < 3000; i++) {
    const job = await jobs.get(id);
    if (job && FINAL.has(job.status)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} did not finish`);
}

async function failure(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

/** What the HTTP route does with an upload URL: pulls id, sig and exp out of it. */
function urlParts(uploadUrl: string): { id: string; sig: string; exp: string } {
  const url = new URL(uploadUrl);
  return { id: decodeURIComponent(url.pathname.split('/').pop()!), sig: url.searchParams.get('sig')!, exp: url.searchParams.get('exp')! };
}

describe.each(DIALECTS)('IngestService on %s', (dialect) => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let jobs: JobStore;
  let queue: LocalJobQueue;
  let changed: string[][];
  let service: IngestService;
  const warnings: string[] = [];
  let clock: Date | undefined;

  const make = (targets: Target[], maxUploadBytes = 1024 * 1024): IngestService =>
    new IngestService({
      warehouse,
      store,
      jobs,
      queue,
      targets: new Map(targets.map((t) => [t.name, t])),
      maxUploadBytes,
      signingSecret: 'test-secret',
      publicBaseUrl: 'http://sextant.test/',
      onTablesChanged: (tables) => changed.push(tables),
      now: () => clock ?? new Date(),
      logger: { ...silentLogger, warn: (msg: string) => void warnings.push(msg) },
    });

  beforeEach(async () => {
    warehouse = await freshWarehouse(dialect);
    dir = await mkdtemp(join(tmpdir(), 'sextant-ingest-svc-'));
    store = await openFileObjectStore(join(dir, 'objects'));
    jobs = new JobStore(warehouse);
    await jobs.init();
    queue = new LocalJobQueue({ store: jobs });
    changed = [];
    clock = undefined;
    service = make([target('social_manual_posts', POSTS_YAML()), target('social_lenient', POSTS_YAML('on_error: skip').replace('manual_posts', 'lenient_posts'))]);
    queue.handle('INGEST_FILE', service.handleIngestJob);
  });
  afterEach(async () => {
    await queue.close(1000);
    await warehouse.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the upload flow end to end: createUpload → PUT → completeUpload → job SUCCEEDED', async () => {
    const ticket = await service.createUpload({ target: 'social_manual_posts', filename: 'posts.csv', contentType: 'text/csv', principal: SOCIAL_INGEST });
    expect(ticket.uploadUrl).toMatch(new RegExp(`^http://sextant\\.test/uploads/${ticket.id}\\?sig=[\\w-]+&exp=\\d+$`));
    expect(Date.parse(ticket.expiresAt)).toBeGreaterThan(Date.now());
    const { id, sig, exp } = urlParts(ticket.uploadUrl);
    const stored = await service.receiveUpload({ id, sig, exp, body: Readable.from([Buffer.from(CSV)]), contentType: 'text/csv' });
    expect(stored.size).toBe(CSV.length);

    const job = await service.completeUpload({ id: ticket.id, principal: SOCIAL_INGEST });
    expect(job).toMatchObject({ id: ticket.id, type: 'INGEST_FILE', status: 'QUEUED', team: 'social', target: 'social_manual_posts', createdBy: 'key-social' });
    expect(job.rawObjects).toHaveLength(1);
    expect(job.rawObjects[0]).toMatch(new RegExp(`^raw/social_manual_posts/dt=\\d{4}-\\d{2}-\\d{2}/${ticket.id}/posts\\.csv$`));
    // Completing again answers the same job.
    expect((await service.completeUpload(ticket.id)).id).toBe(job.id);

    await queue.start({ concurrency: 1 });
    const done = await finished(jobs, job.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowsRead: 3, rowsLoaded: 3, rowsRejected: 0, errors: [], progress: 100, attempts: 1 });
    expect(changed).toEqual([['social.manual_posts']]);
    const rows = await warehouse.query('SELECT post_id, impressions, _run_id, _source_object FROM social.manual_posts ORDER BY post_id');
    expect(rows).toEqual([
      { post_id: 'p1', impressions: 10, _run_id: job.id, _source_object: job.rawObjects[0] },
      { post_id: 'p2', impressions: 20, _run_id: job.id, _source_object: job.rawObjects[0] },
      { post_id: 'p3', impressions: 30, _run_id: job.id, _source_object: job.rawObjects[0] },
    ]);
    expect(await service.uploadTarget(ticket.id)).toBe('social_manual_posts');
    // The file cannot change once its ingestion is queued.
    const again = await failure(service.receiveUpload({ id, sig, exp, body: Readable.from([Buffer.from(CSV)]) }));
    expect(again.code).toBe('BAD_USER_INPUT');
  });

  it('reports rows read while the job runs, before the merge commits', async () => {
    // `5.0`: a form DuckDB's read_csv fast path leaves to the Node path, whose progress is per few thousand
    // rows (the fast path reads the file in one statement and reports before the read and before the commit).
    const lines = Array.from({ length: 30_000 }, (_, i) => `facebook,p${i},2026-01-01,${i}.0`);
    await store.put('inbox/social_manual_posts/big.csv', `platform,Post ID,Date,impressions\n${lines.join('\n')}\n`);
    const [job] = await service.scanInbox();
    // What the job's record said while it ran: every patch of rows read lands before SUCCEEDED.
    const seen: Array<{ rowsRead: number; status: string }> = [];
    const update = jobs.update.bind(jobs);
    jobs.update = async (id, patch) => {
      await update(id, patch);
      const record = await jobs.get(id);
      if (patch.rowsRead !== undefined && record) seen.push({ rowsRead: record.rowsRead, status: record.status });
    };
    await queue.start({ concurrency: 1 });
    expect(await finished(jobs, job.id)).toMatchObject({ status: 'SUCCEEDED', rowsRead: 30_000, rowsLoaded: 30_000 });
    const running = seen.filter((s) => s.status === 'RUNNING' && s.rowsRead > 0 && s.rowsRead < 30_000);
    expect(running.length).toBeGreaterThan(1);
    expect(running.map((s) => s.rowsRead)).toEqual([...running.map((s) => s.rowsRead)].sort((a, b) => a - b));
  });

  it('refuses a bad signature, an expired URL, and checks the target and the principal', async () => {
    const ticket = await service.createUpload({ target: 'social_manual_posts', filename: 'x.csv' });
    const { id, sig, exp } = urlParts(ticket.uploadUrl);
    const forged = await failure(service.receiveUpload({ id, sig: sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), exp, body: Readable.from([Buffer.from(CSV)]) }));
    expect(forged.code).toBe('FORBIDDEN');
    const stretched = await failure(service.receiveUpload({ id, sig, exp: String(Number(exp) + 3600), body: Readable.from([Buffer.from(CSV)]) }));
    expect(stretched.code).toBe('FORBIDDEN');
    clock = new Date(Date.now() + 2 * 3600 * 1000);
    const expired = await failure(service.receiveUpload({ id, sig, exp, body: Readable.from([Buffer.from(CSV)]) }));
    expect(expired.code).toBe('FORBIDDEN');
    expect(expired.message).toMatch(/expired/);
    clock = undefined;
    expect(await keys(store, 'raw/')).toEqual([]);

    expect((await failure(service.createUpload({ target: 'nope', filename: 'x.csv', principal: SOCIAL_INGEST }))).code).toBe('UNKNOWN_TARGET');
    expect((await failure(service.createUpload({ target: 'social_manual_posts', filename: 'x.csv', principal: WEB_INGEST }))).code).toBe('FORBIDDEN');
    expect((await failure(service.createUpload({ target: 'social_manual_posts', filename: 'x.csv', principal: SOCIAL_READER }))).code).toBe('FORBIDDEN');
    expect((await failure(service.completeUpload({ id: ticket.id, principal: WEB_INGEST }))).code).toBe('FORBIDDEN');
    expect((await failure(service.completeUpload(randomUUID()))).code).toBe('NOT_FOUND');
  });

  it('rejects an upload over the size limit while streaming and stores nothing', async () => {
    const small = make([target('social_manual_posts', POSTS_YAML())], 1000);
    const ticket = await small.createUpload({ target: 'social_manual_posts', filename: 'big.csv' });
    const { id, sig, exp } = urlParts(ticket.uploadUrl);
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from('platform,Post ID,Date,impressions\n');
      for (let i = 0; i < 1000; i++) yield Buffer.from(`facebook,p${i},2026-01-01,${i}\n`);
    }
    const err = await failure(small.receiveUpload({ id, sig, exp, body: Readable.from(body()) }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/limit of 1000 bytes/);
    const declared = await failure(small.receiveUpload({ id, sig, exp, body: Readable.from([Buffer.from('x')]), contentLength: 5000 }));
    expect(declared.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await keys(store, '')).toEqual([]);
    // Not even a temporary file is left in the store's folder.
    expect((await readdir(join(dir, 'objects'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)).toEqual([]);
    const nothing = await failure(small.completeUpload(ticket.id));
    expect(nothing.code).toBe('INPUT_INVALID');
    expect(nothing.message).toMatch(/nothing was uploaded/);
  });

  it('fails a job with a bad row once (no retry), with line and column, keeping the raw file', async () => {
    const ticket = await service.createUpload({ target: 'social_manual_posts', filename: 'bad.csv' });
    await service.receiveUpload({ ...urlParts(ticket.uploadUrl), body: Readable.from([Buffer.from(BAD_CSV)]) });
    const job = await service.completeUpload(ticket.id);
    await queue.start({ concurrency: 1 });
    const done = await finished(jobs, job.id);
    expect(done.status).toBe('FAILED');
    expect(done.attempts).toBe(1);
    expect(done.errors).toEqual([{ line: 3, column: 'impressions', message: 'expected integer, got "lots"' }]);
    expect(await store.head(job.rawObjects[0])).toBeDefined();
    expect(await warehouse.describeTable('social.manual_posts')).toBeDefined();
    const [{ n }] = await warehouse.query('SELECT count(*) AS n FROM social.manual_posts');
    expect(Number(n)).toBe(0);
    expect(changed).toEqual([]);
  });

  it('records a malformed file as INPUT_INVALID with its line', async () => {
    await store.put('raw/social_manual_posts/manual/ragged.csv', 'platform,Post ID,Date,impressions\nfacebook,p1,2026-01-01,1,2\n');
    const job = await service.ingestObject({ target: 'social_manual_posts', key: 'raw/social_manual_posts/manual/ragged.csv', principal: SOCIAL_INGEST });
    await queue.start({ concurrency: 1 });
    const done = await finished(jobs, job.id);
    expect(done).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(done.errors).toHaveLength(1);
    expect(done.errors[0]).toMatchObject({ line: 2 });
    expect(done.errors[0].message).toMatch(/ragged\.csv: the row has 5 fields but the header has 4/);
  });

  it('with on_error: skip the job succeeds and lists the bad rows', async () => {
    await store.put('raw/social_lenient/x/bad.csv', BAD_CSV);
    const job = await service.ingestObject({ target: 'social_lenient', key: 'raw/social_lenient/x/bad.csv' });
    await queue.start({ concurrency: 1 });
    const done = await finished(jobs, job.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', rowsRead: 2, rowsLoaded: 1, rowsRejected: 1 });
    expect(done.errors).toEqual([{ line: 3, column: 'impressions', message: 'expected integer, got "lots"' }]);
    expect(changed).toEqual([['social.lenient_posts']]);
  });

  it('ingestObject checks the target, the object and the principal', async () => {
    expect((await failure(service.ingestObject({ target: 'nope', key: 'raw/a.csv' }))).code).toBe('UNKNOWN_TARGET');
    expect((await failure(service.ingestObject({ target: 'social_manual_posts', key: 'raw/missing.csv' }))).code).toBe('NOT_FOUND');
    expect((await failure(service.ingestObject({ target: 'social_manual_posts', key: '../etc/passwd' }))).code).toBe('BAD_USER_INPUT');
    await store.put('raw/social_manual_posts/x/a.csv', CSV);
    expect((await failure(service.ingestObject({ target: 'social_manual_posts', key: 'raw/social_manual_posts/x/a.csv', principal: WEB_INGEST }))).code).toBe('FORBIDDEN');
    expect((await service.ingestObject({ target: 'social_manual_posts', key: 'raw/social_manual_posts/x/a.csv', principal: SOCIAL_INGEST })).status).toBe('QUEUED');
    // A social key cannot pull another team's raw file (or one outside raw/ and inbox/) into its table.
    await store.put('raw/web_sessions/x/secret.csv', CSV);
    await store.put('exports/x.csv', CSV);
    const web = make([target('social_manual_posts', POSTS_YAML()), target('web_sessions', POSTS_YAML().replace('social.manual_posts', 'web.sessions'))]);
    expect((await failure(web.ingestObject({ target: 'social_manual_posts', key: 'raw/web_sessions/x/secret.csv', principal: SOCIAL_INGEST }))).code).toBe('FORBIDDEN');
    expect((await failure(web.ingestObject({ target: 'social_manual_posts', key: 'exports/x.csv', principal: SOCIAL_INGEST }))).code).toBe('FORBIDDEN');
    const admin: Principal = { keyId: 'admin', role: 'admin', teams: '*' };
    expect((await web.ingestObject({ target: 'social_manual_posts', key: 'exports/x.csv', principal: admin })).status).toBe('QUEUED');
  });

  it('ingests a local file in-process, keeping it in the store first', async () => {
    const path = join(dir, 'local posts.csv');
    await writeFile(path, CSV);
    const progress: number[] = [];
    const job = await service.ingestLocalFile({ path, target: 'social_manual_posts', onProgress: (rows) => progress.push(rows) });
    expect(job).toMatchObject({ status: 'SUCCEEDED', rowsRead: 3, rowsLoaded: 3, target: 'social_manual_posts', team: 'social' });
    expect(job.rawObjects[0]).toMatch(/^raw\/social_manual_posts\/dt=[\d-]+\/[\w-]+\/local_posts\.csv$/);
    expect(await store.head(job.rawObjects[0])).toMatchObject({ size: CSV.length });
    expect(progress.at(-1)).toBe(3);

    const badPath = join(dir, 'bad.csv');
    await writeFile(badPath, BAD_CSV);
    const failed = await service.ingestLocalFile({ path: badPath, target: 'social_manual_posts' });
    expect(failed.status).toBe('FAILED');
    expect(failed.errors).toEqual([{ line: 3, column: 'impressions', message: 'expected integer, got "lots"' }]);
    expect(await store.head(failed.rawObjects[0])).toBeDefined();
    expect((await failure(service.ingestLocalFile({ path: join(dir, 'none.csv'), target: 'social_manual_posts' }))).code).toBe('BAD_USER_INPUT');
  });

  it('picks up inbox files of known targets and leaves the others', async () => {
    await store.put('inbox/social_manual_posts/drop.csv', CSV);
    await store.put('inbox/unknown_target/other.csv', CSV);
    const picked = await service.scanInbox();
    expect(picked).toHaveLength(1);
    expect(picked[0]).toMatchObject({ type: 'INGEST_FILE', target: 'social_manual_posts', status: 'QUEUED' });
    expect(await keys(store, 'inbox/')).toEqual(['inbox/unknown_target/other.csv']);
    expect(await store.head(picked[0].rawObjects[0])).toBeDefined();
    warnings.length = 0;
    expect(await service.scanInbox()).toEqual([]);
    expect(await service.scanInbox()).toEqual([]);
    // The file that names no target was reported once (at the first scan), naming the known targets.
    expect(warnings).toEqual([]);
    await store.put('inbox/unknown_target/another.csv', CSV);
    await service.scanInbox();
    await service.scanInbox();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/inbox\/unknown_target\/another\.csv left in place: "unknown_target" is not a target; put it under inbox\/<target>\/ with one of: .*social_manual_posts/);
    await queue.start({ concurrency: 1 });
    expect(await finished(jobs, picked[0].id)).toMatchObject({ status: 'SUCCEEDED', rowsLoaded: 3 });
  });
});

describe('IngestService with an S3 store', () => {
  it('answers a pre-signed S3 URL; the PUT bytes are ingested', async () => {
    const { endpoint, bucket } = testS3();
    const store = await openS3ObjectStore({ bucket, prefix: `ingest-test/${randomUUID()}`, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
    const warehouse = await freshWarehouse('duckdb');
    const jobs = new JobStore(warehouse);
    await jobs.init();
    const queue = new LocalJobQueue({ store: jobs });
    try {
      const service = new IngestService({
        warehouse,
        store,
        jobs,
        queue,
        targets: new Map([['social_manual_posts', target('social_manual_posts', POSTS_YAML())]]),
        maxUploadBytes: 100,
        publicBaseUrl: 'http://unused.test',
      });
      queue.handle('INGEST_FILE', service.handleIngestJob);
      const ticket = await service.createUpload({ target: 'social_manual_posts', filename: 'posts.csv', contentType: 'text/csv' });
      expect(ticket.uploadUrl.startsWith(endpoint)).toBe(true);
      const small = 'platform,Post ID,Date\nfacebook,p1,2026-01-01\n';
      const put = await fetch(ticket.uploadUrl, { method: 'PUT', body: small, headers: { 'content-type': 'text/csv' } });
      expect(put.status).toBe(200);
      const job = await service.completeUpload(ticket.id);
      await queue.start({ concurrency: 1 });
      expect(await finished(jobs, job.id)).toMatchObject({ status: 'SUCCEEDED', rowsLoaded: 1 });

      // A pre-signed URL cannot cap the size: completeUpload does, and drops the oversize object.
      const big = await service.createUpload({ target: 'social_manual_posts', filename: 'big.csv', contentType: 'text/csv' });
      await fetch(big.uploadUrl, { method: 'PUT', body: `${small}${'facebook,p2,2026-01-02\n'.repeat(10)}`, headers: { 'content-type': 'text/csv' } });
      expect((await failure(service.completeUpload(big.id))).code).toBe('PAYLOAD_TOO_LARGE');
      expect(await keys(store, 'raw/')).toHaveLength(1);
    } finally {
      await queue.close(1000);
      await warehouse.close();
      await store.close();
    }
  });
});

describe('IngestService with the BullMQ queue (Redis) and PostgreSQL', () => {
  it('runs uploads as BullMQ jobs: a good file succeeds, a bad row fails once with line and column', async () => {
    const warehouse = await freshWarehouse('postgres');
    const dir = await mkdtemp(join(tmpdir(), 'sextant-ingest-bull-'));
    const store = await openFileObjectStore(dir);
    const jobs = new JobStore(warehouse);
    await jobs.init();
    const queue = new BullMqJobQueue({ connection: testRedisUrl(), queueName: `ingest-${randomUUID()}`, prefix: 'sxt-ingest-test', store: jobs });
    try {
      const service = new IngestService({
        warehouse,
        store,
        jobs,
        queue,
        targets: new Map([['social_manual_posts', target('social_manual_posts', POSTS_YAML())]]),
        maxUploadBytes: 1024 * 1024,
        publicBaseUrl: 'http://sextant.test',
      });
      queue.handle('INGEST_FILE', service.handleIngestJob);
      await queue.start({ concurrency: 2 });
      const upload = async (body: string): Promise<JobRecord> => {
        const ticket = await service.createUpload({ target: 'social_manual_posts', filename: 'posts.csv' });
        await service.receiveUpload({ ...urlParts(ticket.uploadUrl), body: Readable.from([Buffer.from(body)]) });
        return service.completeUpload(ticket.id);
      };
      const good = await upload(CSV);
      const bad = await upload(BAD_CSV);
      expect(await finished(jobs, good.id)).toMatchObject({ status: 'SUCCEEDED', rowsRead: 3, rowsLoaded: 3 });
      const failed = await finished(jobs, bad.id);
      expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(failed.errors).toEqual([{ line: 3, column: 'impressions', message: 'expected integer, got "lots"' }]);
      const [{ n }] = await warehouse.query('SELECT count(*) AS n FROM social.manual_posts');
      expect(Number(n)).toBe(3);
    } finally {
      await queue.close(2000);
      await warehouse.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
