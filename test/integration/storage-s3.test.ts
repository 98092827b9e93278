/**
 * What only the S3 store does: pre-signed URLs, the key prefix, error translation against a real
 * S3-compatible server (the s3rver of the global setup).
 *
 * s3rver checks the access key id and the expiry of a request but no SigV4 signature
 * (lib/middleware/authentication.js: "Signature version 4 calculation is unimplemented"), so these
 * tests cannot show that a tampered URL is refused; they show that a URL works and that it expires.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { ObjectStore } from '../../src/storage/port.js';
import { openS3ObjectStore } from '../../src/storage/s3/s3-object-store.js';
import type { S3ObjectStoreOptions } from '../../src/storage/s3/s3-object-store.js';
import { testS3 } from '../support/env.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function options(prefix: string, overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  const { endpoint, bucket } = testS3();
  return { bucket, prefix, endpoint, region: 'us-east-1', credentials, forcePathStyle: true, ...overrides };
}

function rawClient(): S3Client {
  return new S3Client({
    endpoint: testS3().endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A client that records each command it sends, with the byte size of UploadPart bodies. */
function recordingClient(): { client: S3Client; sent: Array<{ command: string; bytes?: number }> } {
  const client = rawClient();
  const sent: Array<{ command: string; bytes?: number }> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const body = (args.input as { Body?: unknown }).Body;
      sent.push({ command: context.commandName ?? '?', ...(context.commandName === 'UploadPartCommand' && body instanceof Uint8Array ? { bytes: body.byteLength } : {}) });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, sent };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

describe('S3 object store', () => {
  let prefix: string;
  let store: ObjectStore;
  const opened: ObjectStore[] = [];
  const clients: S3Client[] = [];

  beforeEach(async () => {
    prefix = `s3-only/${randomUUID()}`;
    store = await openS3ObjectStore(options(prefix));
    opened.push(store);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    for (const c of clients.splice(0)) c.destroy();
  });

  it('accepts a PUT of the bytes to a pre-signed URL, and the object then reads back', async () => {
    const url = await store.signedPutUrl('uploads/report.csv', { expiresIn: 300, contentType: 'text/csv' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    // The SDK's default flexible checksums would put a checksum of an empty body into the URL; they are off.
    expect(url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum-algorithm/i);
    const body = 'date,clicks\n2026-01-01,12\n';
    const res = await fetch(url!, { method: 'PUT', body, headers: { 'content-type': 'text/csv' } });
    expect(res.status).toBe(200);
    expect((await readAll(await store.get('uploads/report.csv'))).toString()).toBe(body);
    expect(await store.head('uploads/report.csv')).toMatchObject({ size: Buffer.byteLength(body), contentType: 'text/csv' });
  });

  it('serves the bytes from a pre-signed GET URL', async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    await store.put('exports/data.bin', bytes);
    const url = await store.signedGetUrl('exports/data.bin', { expiresIn: 300 });
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('refuses a pre-signed URL once it has expired', async () => {
    await store.put('exports/soon-gone.txt', 'x');
    const getUrl = await store.signedGetUrl('exports/soon-gone.txt', { expiresIn: 1 });
    const putUrl = await store.signedPutUrl('uploads/late.txt', { expiresIn: 1 });
    // Waiting is the only way to let a URL expire; the assertion is on the answer, not on timing.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const get = await fetch(getUrl!);
    expect(get.status).toBe(403);
    expect(await get.text()).toMatch(/expired/i);
    const put = await fetch(putUrl!, { method: 'PUT', body: 'late' });
    expect(put.status).toBe(403);
    expect(await store.head('uploads/late.txt')).toBeUndefined();
  });

  it('refuses an expiry outside what SigV4 allows', async () => {
    await expect(store.signedGetUrl('a.txt', { expiresIn: 0 })).rejects.toThrow(RangeError);
    await expect(store.signedPutUrl('a.txt', { expiresIn: 8 * 24 * 3600 })).rejects.toThrow(RangeError);
  });

  it('keeps every key under its prefix and lists them without it', async () => {
    const other = await openS3ObjectStore(options(`${prefix}-sibling`));
    opened.push(other);
    await store.put('inbox/a.csv', 'a');
    await other.put('inbox/b.csv', 'b');
    expect(await keys(store, '')).toEqual(['inbox/a.csv']);
    expect(await keys(other, 'inbox/')).toEqual(['inbox/b.csv']);
    expect(store.description).toBe(`s3://${testS3().bucket}/${prefix}`);

    const client = rawClient();
    clients.push(client);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: testS3().bucket, Prefix: `${prefix}/` }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual([`${prefix}/inbox/a.csv`]);
  });

  it('normalises the prefix and refuses one that is not a key', async () => {
    const slashed = await openS3ObjectStore(options(`/${prefix}/`));
    opened.push(slashed);
    await slashed.put('x.txt', 'x');
    expect(await keys(store, '')).toEqual(['x.txt']);
    await expect(openS3ObjectStore(options('a/../b'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('leaves out of list() keys that no put() could have written, such as console folder markers', async () => {
    const client = rawClient();
    clients.push(client);
    const { bucket } = testS3();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/inbox/social/`, Body: Buffer.alloc(0), ContentLength: 0 }));
    await store.put('inbox/social/posts.csv', 'p');
    expect(await keys(store, 'inbox/')).toEqual(['inbox/social/posts.csv']);
  });

  it('translates a missing bucket and refused credentials into errors that say what to check', async () => {
    const noBucket = await openS3ObjectStore(options(prefix, { bucket: `missing-${randomUUID().slice(0, 8)}` }));
    opened.push(noBucket);
    const err = await noBucket.ping().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/bucket "missing-.*" does not exist/);
    await expect(noBucket.put('a.txt', 'a')).rejects.toThrow(/does not exist/);

    // s3rver does check the access key id, though not the signature.
    const badKey = await openS3ObjectStore(options(prefix, { credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x' } }));
    opened.push(badKey);
    // HEAD (ping) answers a bare 403; GET carries the S3 code.
    await expect(badKey.ping()).rejects.toThrow(/S3 refused ping of bucket .*check the AWS_\* credentials/);
    await expect(badKey.get('a.txt')).rejects.toThrow(/S3 refused get of "a.txt" .*\(InvalidAccessKeyId\): check the AWS_\* credentials/);
  });

  it('answers NOT_FOUND for get and move of a missing key with the key as the caller named it', async () => {
    const err = await store.get('nope/missing.csv').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('NOT_FOUND');
    expect((err as UserError).message).toContain('"nope/missing.csv"');
    expect((err as UserError).message).not.toContain(prefix);
  });

  it('moves keys that need URL encoding in the copy source', async () => {
    // S3 percent-decodes x-amz-copy-source fully; s3rver runs decodeURI, which leaves %23 %2B %3F %26 %3D
    // encoded, so keys with "# + ? & =" cannot be moved on s3rver. Spaces, brackets and non-ASCII can.
    const from = 'inbox/social/Q1 report (final) – é.csv';
    await store.put(from, 'a,b\n', { contentType: 'text/csv' });
    await store.move(from, 'raw/social/q1.csv');
    expect((await readAll(await store.get('raw/social/q1.csv'))).toString()).toBe('a,b\n');
    expect(await store.head(from)).toBeUndefined();
  });

  it('sends a small buffer with one PutObject, and a stream in parts of at least 5 MiB', async () => {
    const { client, sent } = recordingClient();
    clients.push(client);
    const recorded = await openS3ObjectStore(options(prefix, { client }));
    await recorded.put('small.bin', randomBytes(1024));
    expect(sent.map((c) => c.command)).toEqual(['PutObjectCommand']);

    sent.length = 0;
    let i = 0;
    const body = new Readable({
      read() {
        this.push(i++ < 30 ? randomBytes(1024 * 1024) : null);
      },
    });
    await recorded.put('stream.bin', body);
    const commands = sent.map((c) => c.command);
    expect(commands[0]).toBe('CreateMultipartUploadCommand');
    expect(commands.at(-1)).toBe('CompleteMultipartUploadCommand');
    expect(commands).not.toContain('PutObjectCommand');
    const parts = sent.filter((c) => c.command === 'UploadPartCommand').map((c) => c.bytes ?? 0);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(30 * 1024 * 1024);
    expect(parts.length).toBeGreaterThan(1);
    for (const size of parts.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(5 * 1024 * 1024);

    // close() leaves a client it did not create open.
    await recorded.close();
    expect(await recorded.head('small.bin')).toMatchObject({ size: 1024 });
  });

  it('asks S3 to abort the multipart upload when a put is aborted', async () => {
    const { client, sent } = recordingClient();
    clients.push(client);
    const recorded = await openS3ObjectStore(options(prefix, { client }));
    const controller = new AbortController();
    let pushed = 0;
    // 20 MiB, then stall: the first part has gone up (or is going) when the abort arrives.
    const body = new Readable({
      read() {
        if (pushed < 20) {
          pushed++;
          this.push(randomBytes(1024 * 1024));
          if (pushed === 20) queueMicrotask(() => controller.abort());
        }
      },
    });
    await expect(recorded.put('aborted.bin', body, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const commands = sent.map((c) => c.command);
    expect(commands[0]).toBe('CreateMultipartUploadCommand');
    // s3rver answers AbortMultipartUpload with 405 (not implemented); Amazon S3 discards the parts.
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await recorded.head('aborted.bin')).toBeUndefined();
  });
});
