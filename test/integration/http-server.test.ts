/**
 * The HTTP server's own plugins, in-process: health, Prometheus metrics, the query and landing pages,
 * CSRF prevention and batching on /graphql, the body limit, signed uploads, and the error shape.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { UploadReceiver } from '../../src/http/http-deps.js';
import { startHarness, type Harness } from './graphql-harness.js';

async function drain(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('HTTP server', () => {
  let h: Harness;
  let queueUp = true;
  const received: Array<{ id: string; bytes: Buffer; contentType: string | undefined }> = [];
  const uploads: UploadReceiver = {
    receiveUpload: async ({ id, sig, exp, body, contentType }) => {
      if (sig !== 'good' || exp !== '9999999999') {
        await drain(body).catch(() => undefined);
        throw new UserError('FORBIDDEN', 'the upload URL is not valid');
      }
      received.push({ id, bytes: await drain(body), contentType });
      return { stored: true };
    },
  };

  beforeAll(async () => {
    h = await startHarness('duckdb', {
      env: { SEXTANT_MAX_BODY_BYTES: '4096', SEXTANT_MAX_UPLOAD_BYTES: '1000' },
      deps: {
        uploads,
        checks: {
          warehouse: async () => undefined,
          // A back end that takes a while: its latency is reported.
          objectStore: () => new Promise((r) => setTimeout(r, 40)),
          queue: async () => {
            if (!queueUp) throw new Error('redis is down');
          },
        },
      },
    });
  });
  afterAll(async () => h?.close());

  it('answers liveness and readiness, and 503 naming the back end that is down', async () => {
    expect((await h.app.inject({ url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    const latency = expect.any(Number);
    expect(ready.json()).toEqual({
      status: 'ok',
      checks: { warehouse: { status: 'ok', latencyMs: latency }, objectStore: { status: 'ok', latencyMs: latency }, queue: { status: 'ok', latencyMs: latency } },
    });
    expect(ready.json().checks.objectStore.latencyMs).toBeGreaterThanOrEqual(35);
    expect(ready.json().checks.warehouse.latencyMs).toBeLessThan(ready.json().checks.objectStore.latencyMs);
    queueUp = false;
    const down = await h.app.inject({ url: '/health/ready' });
    queueUp = true;
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({
      status: 'unavailable',
      checks: { warehouse: { status: 'ok', latencyMs: latency }, objectStore: { status: 'ok', latencyMs: latency }, queue: { status: 'unavailable' } },
    });
    expect(down.body).not.toMatch(/redis is down/);
  });

  it('exposes request and warehouse metrics in the Prometheus text format', async () => {
    await h.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json' }, payload: { query: '{ social { postPerformance { impressions } } }' } });
    const res = await h.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^# TYPE sextant_http_requests_total counter$/m);
    expect(res.body).toMatch(/^sextant_http_requests_total\{route="\/graphql",operation="anonymous",method="POST",status="200"\} \d+$/m);
    expect(res.body).toMatch(/^sextant_http_request_duration_seconds_bucket\{le="\+Inf",route="\/health\/ready",operation="\/health\/ready",method="GET",status="200"\} \d+$/m);
    expect(res.body).toMatch(/^sextant_warehouse_query_duration_seconds_count\{model="social\.post_performance",outcome="ok"\} [1-9]\d*$/m);
  });

  it('serves a self-contained query page to browsers and a landing page at /', async () => {
    const page = await h.app.inject({ url: '/graphql', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'.*connect-src 'self'/);
    expect(page.body).toMatch(/<textarea id="query"/);
    // Nothing may load from elsewhere: no absolute URLs in src/href, no CDN.
    expect(page.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    const landing = await h.app.inject({ url: '/' });
    expect(landing.statusCode).toBe(200);
    expect(landing.body).toMatch(/href="\/graphql"/);
    expect(landing.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
  });

  it('keeps CSRF prevention on for GET and batching off', async () => {
    const q = encodeURIComponent('{ catalog { teams { name } } }');
    const blocked = await h.app.inject({ url: `/graphql?query=${q}` });
    expect(blocked.statusCode).toBe(400);
    expect(blocked.body).toMatch(/Cross-Site Request Forgery/);
    const allowed = await h.app.inject({ url: `/graphql?query=${q}`, headers: { 'apollo-require-preflight': 'true' } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().data.catalog.teams.length).toBeGreaterThan(0);
    const mutationOnGet = await h.app.inject({ url: `/graphql?query=${encodeURIComponent('mutation { cancelJob(id: "x") { id } }')}`, headers: { 'apollo-require-preflight': 'true' } });
    expect(mutationOnGet.statusCode).toBe(405);
    const batch = await h.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([{ query: '{ catalog { teams { name } } }' }, { query: '{ catalog { teams { name } } }' }]),
    });
    expect(batch.statusCode).toBe(400);
    expect(batch.body).toMatch(/batching/i);
  });

  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE, and unknown routes with 404', async () => {
    const big = await h.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ query: `{ catalog { teams { name } } }${' '.repeat(5000)}` }),
    });
    expect(big.statusCode).toBe(413);
    // GraphQL clients read errors[].extensions.code, even for errors raised before GraphQL runs.
    expect(big.json()).toEqual({ errors: [{ message: 'the request body is larger than the limit of 4096 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const missing = await h.app.inject({ url: '/nope?x=1' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
  });

  it('streams a signed upload of any content type to the receiver, within the upload limit', async () => {
    const bytes = Buffer.from('Post ID,Date\n1,2026-01-01\n');
    const ok = await h.app.inject({ method: 'PUT', url: '/uploads/u1?sig=good&exp=9999999999', headers: { 'content-type': 'text/csv' }, payload: bytes });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: 'u1', bytes: bytes.length });
    expect(received.at(-1)).toEqual({ id: 'u1', bytes, contentType: 'text/csv' });

    const binary = await h.app.inject({ method: 'PUT', url: '/uploads/u2?sig=good&exp=9999999999', headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }, payload: Buffer.alloc(900, 7) });
    expect(binary.statusCode).toBe(200);
    expect(received.at(-1)?.bytes.length).toBe(900);

    const bad = await h.app.inject({ method: 'PUT', url: '/uploads/u3?sig=bad&exp=9999999999', payload: 'x' });
    expect(bad.statusCode).toBe(403);
    expect(bad.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'the upload URL is not valid' } });

    const unsigned = await h.app.inject({ method: 'PUT', url: '/uploads/u4', payload: 'x' });
    expect(unsigned.statusCode).toBe(400);
    expect(unsigned.json().error.message).toMatch(/sig and exp/);

    const tooBig = await h.app.inject({ method: 'PUT', url: '/uploads/u5?sig=good&exp=9999999999', headers: { 'content-type': 'text/csv' }, payload: Buffer.alloc(1001, 65) });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(received.map((r) => r.id)).not.toContain('u5');
  });

  it('cuts off an upload that exceeds the limit without declaring its length', async () => {
    const chunked = Readable.from([Buffer.alloc(600, 65), Buffer.alloc(600, 66)]);
    const res = await h.app.inject({ method: 'PUT', url: '/uploads/u6?sig=good&exp=9999999999', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked' }, payload: chunked });
    expect(res.statusCode).toBe(413);
    expect(received.map((r) => r.id)).not.toContain('u6');
  });
});
