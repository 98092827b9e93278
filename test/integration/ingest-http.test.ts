/**
 * The upload flow through the whole service, as a client sees it: GraphQL `createUpload`, an HTTP PUT
 * of the bytes to the answered URL, `completeUpload`, and the job read back through GraphQL — on the
 * real app (DuckDB file, folder store, in-process queue), with the example project.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** A Job as the GraphQL API answers it (the fields these tests select). */
interface JobWire {
  id: string;
  type: string;
  status: string;
  target: string | null;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  errors: Array<{ line: number | null; column: string | null; message: string }>;
  rawObjects: string[];
}

describe('uploads through the HTTP service', () => {
  let s: SecurityServer;

  beforeAll(async () => {
    s = await startSecurityServer({ dialect: 'duckdb', demoRows: 500 });
    s.app.queue.handle('INGEST_FILE', s.app.ingest.handleIngestJob);
    await s.app.queue.start({ concurrency: 1 });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** The service answers URLs on its configured address; the test server listens on a random port. */
  const onTestServer = (uploadUrl: string): string => {
    const url = new URL(uploadUrl);
    return `${s.base}${url.pathname}${url.search}`;
  };

  async function job(id: string): Promise<JobWire> {
    for (let i = 0; i < 3000; i++) {
      const res = await s.gql('query($id: ID!) { job(id: $id) { id type status target rowsRead rowsLoaded rowsRejected errors { line column message } rawObjects } }', { variables: { id } });
      const j = res.body.data?.job as JobWire | undefined;
      if (j && FINAL.has(j.status)) return j;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`job ${id} did not finish`);
  }

  async function upload(filename: string, body: string | Buffer, target = 'social_manual_posts'): Promise<{ id: string; put: number; putBody: unknown }> {
    const created = await s.gql('mutation($t: String!, $f: String!) { createUpload(target: $t, filename: $f, contentType: "text/csv") { id uploadUrl expiresAt } }', { variables: { t: target, f: filename } });
    expect(created.body.errors).toBeUndefined();
    const { id, uploadUrl } = created.body.data.createUpload;
    const put = await fetch(onTestServer(uploadUrl), { method: 'PUT', body, headers: { 'content-type': 'text/csv' } });
    return { id, put: put.status, putBody: await put.json() };
  }

  it('ingests a sample file: createUpload → PUT → completeUpload → SUCCEEDED with counts', async () => {
    const csv = await readFile(join(EXAMPLE_PROJECT, 'samples', 'social_manual_posts.csv'));
    const rows = csv.toString('utf8').split('\n').filter((l) => l.trim()).length - 1;
    const { id, put } = await upload('posts.csv', csv);
    expect(put).toBe(200);
    const completed = await s.gql('mutation($id: ID!) { completeUpload(id: $id) { id status } }', { variables: { id } });
    expect(completed.body.errors).toBeUndefined();
    const done = await job(completed.body.data.completeUpload.id);
    expect(done).toMatchObject({ type: 'INGEST_FILE', status: 'SUCCEEDED', target: 'social_manual_posts', rowsRead: rows, rowsRejected: 0, errors: [] });
    expect(done.rawObjects).toHaveLength(1);
    const [{ n }] = await s.app.warehouse.query(`SELECT count(*) AS n FROM social.manual_posts WHERE _run_id = $1`, [done.id]);
    expect(Number(n)).toBe(done.rowsLoaded);
  });

  it('reports a bad row with its line and column through GraphQL', async () => {
    const { id } = await upload('bad.csv', 'platform,Post ID,Date,impressions\nx,p1,2026-01-01,1\nx,p2,01/02/2026,2\n');
    const completed = await s.gql('mutation($id: ID!) { completeUpload(id: $id) { id } }', { variables: { id } });
    const done = await job(completed.body.data.completeUpload.id);
    expect(done.status).toBe('FAILED');
    expect(done.errors).toEqual([{ line: 3, column: 'metric_date', message: 'expected date as YYYY-MM-DD, got "01/02/2026" (the file\'s column "Date")' }]);
  });

  it('refuses a tampered upload URL and completing an upload that has no bytes', async () => {
    const created = await s.gql('mutation { createUpload(target: "social_manual_posts", filename: "x.csv") { id uploadUrl } }');
    const { id, uploadUrl } = created.body.data.createUpload;
    const tampered = onTestServer(uploadUrl).replace(/exp=(\d+)/, (_, e: string) => `exp=${Number(e) + 1}`);
    const res = await fetch(tampered, { method: 'PUT', body: 'a,b\n1,2\n' });
    expect(res.status).toBe(403);
    const completed = await s.gql('mutation($id: ID!) { completeUpload(id: $id) { id } }', { variables: { id } });
    expect(completed.body.errors?.[0]?.extensions?.code).toBe('INPUT_INVALID');
    expect(completed.body.errors?.[0]?.message).toMatch(/nothing was uploaded/);
  });
});
