/**
 * Exports with an S3 object store (a real S3-compatible server): the file goes into the bucket and a
 * finished job's `downloadUrl` is the store's own pre-signed GET, which works without any API key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/main.js';
import { testS3 } from '../support/env.js';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

let s: SecurityServer;
let key: string;
let otherKey: string;

beforeAll(async () => {
  const { endpoint, bucket } = testS3();
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  s = await startSecurityServer({
    dialect: 'duckdb',
    demoRows: 1_000,
    env: { SEXTANT_OBJECT_STORE: `s3://${bucket}/exports-test/${randomUUID()}`, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' },
  });
  key = (await s.app.keys.create({ role: 'reader', teams: ['social'] })).key;
  otherKey = (await s.app.keys.create({ role: 'reader', teams: ['email'] })).key;
  await startWorker(s.app);
}, 300_000);

afterAll(async () => {
  await s?.close();
});

describe('exports on S3', () => {
  it('stores the file in the bucket and answers a pre-signed GET as the downloadUrl', async () => {
    const created = await s.gql('mutation { exportQuery(query: { model: "social.post_performance", measures: ["impressions"], dimensions: [{ name: "platform" }] }, format: CSV) { id } }', { key });
    const id = created.body.data.exportQuery.id as string;
    let job: { status: string; downloadUrl: string | null; errors: unknown[] } | undefined;
    for (let i = 0; i < 300; i++) {
      job = (await s.gql(`{ job(id: "${id}") { status downloadUrl errors { message } } }`, { key })).body.data.job;
      if (job!.status === 'SUCCEEDED' || job!.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job!.errors).toEqual([]);
    expect(job!.status).toBe('SUCCEEDED');
    const url = new URL(job!.downloadUrl!);
    expect(url.origin).toBe(new URL(testS3().endpoint).origin);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    expect(text.startsWith('\uFEFFplatform,impressions\r\n')).toBe(true);

    // Another team's key sees neither the job nor its link.
    expect((await s.gql(`{ job(id: "${id}") { downloadUrl } }`, { key: otherKey })).body.data.job).toBeNull();
  }, 120_000);
});
