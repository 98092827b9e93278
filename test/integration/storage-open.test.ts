/**
 * openObjectStore from the environment as docs/environment.md describes it: `file:<dir>` and `s3://bucket/prefix`
 * with the standard AWS_* variables (AWS_ENDPOINT_URL for an S3-compatible store).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { openObjectStore } from '../../src/storage/open.js';
import type { ObjectStore } from '../../src/storage/port.js';
import { testS3 } from '../support/env.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('openObjectStore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  const savedEnv = { ...process.env };

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    // The SDK reads credentials from the environment: restore it exactly.
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
  });

  it('opens the folder store for file:<dir>, relative to the working directory', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sextant-open-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    const config = loadConfig({ SEXTANT_OBJECT_STORE: 'file:data/objects' }, cwd);
    const store: ObjectStore = await openObjectStore(config.objectStore);
    cleanups.push(() => store.close());
    expect(store.description).toBe(`file:${join(cwd, 'data', 'objects')}`);
    await store.put('raw/x.txt', 'hello');
    expect(await text(await store.get('raw/x.txt'))).toBe('hello');
    await store.ping();
  });

  it('opens the S3 store for s3://bucket/prefix with credentials and endpoint from AWS_* variables', async () => {
    const { endpoint, bucket } = testS3();
    const prefix = `open-test/${randomUUID()}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const config = loadConfig({ SEXTANT_OBJECT_STORE: `s3://${bucket}/${prefix}`, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' });
    const store = await openObjectStore(config.objectStore);
    cleanups.push(() => store.close());
    expect(store.description).toBe(`s3://${bucket}/${prefix}`);
    await store.ping();
    await store.put('raw/x.txt', 'hello');
    expect(await text(await store.get('raw/x.txt'))).toBe('hello');
    const listed: string[] = [];
    for await (const info of store.list('')) listed.push(info.key);
    expect(listed).toEqual(['raw/x.txt']);
  });
});
