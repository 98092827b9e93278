/**
 * The object store conformance suite: every adapter passes the same tests. The folder store runs in
 * a fresh temp dir per test; the S3 store against the real s3rver of the global setup, under a fresh
 * random key prefix per test.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectInfo, ObjectStore } from '../../src/storage/port.js';
import { openS3ObjectStore } from '../../src/storage/s3/s3-object-store.js';
import { testS3 } from '../support/env.js';

interface Harness {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

/**
 * byteOrder: whether the server under test lists in UTF-8 byte order of the whole key, as Amazon S3
 * documents for ListObjectsV2. s3rver 3.7.1 does not: it walks its folders on disk (lib/utils.js
 * `walk`), so "a/1" comes before "a-b". The S3 adapter passes the server's order through, so against
 * s3rver the tests below can only check which keys are listed, not their order across a "/".
 */
const adapters: Array<{ name: string; byteOrder: boolean; open: () => Promise<Harness> }> = [
  {
    name: 'file',
    byteOrder: true,
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'sextant-objects-'));
      const store = await openFileObjectStore(dir);
      return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    byteOrder: false,
    open: async () => {
      const { endpoint, bucket } = testS3();
      const store = await openS3ObjectStore({
        bucket,
        prefix: `conformance/${randomUUID()}`,
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        forcePathStyle: true,
      });
      return { store, cleanup: () => store.close() };
    },
  },
];

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

async function infos(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(info);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

async function expectUserError(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(UserError);
  expect((err as UserError).code).toBe(code);
}

/**
 * A body that hands out `chunks` chunks of random bytes and then calls `atEnd` instead of ending —
 * so a test can abort or fail a put exactly after the store has pulled that much, with no timers.
 */
function stalledBody(chunks: number, chunkSize: number, atEnd: (body: Readable) => void): Readable {
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent < chunks) {
        sent++;
        this.push(randomBytes(chunkSize));
        if (sent === chunks) queueMicrotask(() => atEnd(body));
      }
    },
  });
  return body;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe.each(adapters)('object store conformance: $name', ({ open, byteOrder: listsInByteOrder }) => {
  /** Asserts a listing: in exact order where the server keeps S3's order, else as a set (see `adapters`). */
  async function expectListing(prefix: string, expected: string[]): Promise<void> {
    const actual = await keys(store, prefix);
    if (listsInByteOrder) expect(actual).toEqual(expected);
    else expect([...actual].sort(byteOrder)).toEqual(expected);
  }

  let harness: Harness;
  let store: ObjectStore;

  beforeEach(async () => {
    harness = await open();
    store = harness.store;
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('answers ping and describes itself', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    expect(store.description).toMatch(/^(file|s3):/);
  });

  it('round-trips bytes, with metadata from put and head', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const put = await store.put('raw/bytes.bin', bytes, { contentType: 'application/octet-stream' });
    expect(put).toMatchObject({ key: 'raw/bytes.bin', size: 256 });
    expect(put.lastModified).toBeInstanceOf(Date);
    expect((await readAll(await store.get('raw/bytes.bin'))).equals(bytes)).toBe(true);
    const head = await store.head('raw/bytes.bin');
    expect(head).toMatchObject({ key: 'raw/bytes.bin', size: 256, contentType: 'application/octet-stream' });
    expect(head?.etag).toBeTruthy();
    expect(head?.etag).toBe(put.etag);
  });

  it('round-trips strings as UTF-8', async () => {
    const text = 'Résumé, naïve café — 東京 😀\nline 2';
    const put = await store.put('notes/é.txt', text, { contentType: 'text/plain; charset=utf-8' });
    expect(put.size).toBe(Buffer.byteLength(text, 'utf8'));
    expect((await readAll(await store.get('notes/é.txt'))).toString('utf8')).toBe(text);
    expect((await store.head('notes/é.txt'))?.contentType).toBe('text/plain; charset=utf-8');
    expect(await keys(store, 'notes/')).toEqual(['notes/é.txt']);
  });

  it('round-trips a 30 MB stream byte-identically (multipart on S3)', async () => {
    const chunkSize = 1024 * 1024;
    const sent = createHash('sha256');
    let i = 0;
    const body = new Readable({
      read() {
        if (i === 30) return void this.push(null);
        i++;
        const chunk = randomBytes(chunkSize);
        sent.update(chunk);
        this.push(chunk);
      },
    });
    const put = await store.put('big/thirty.bin', body);
    expect(put.size).toBe(30 * chunkSize);
    const received = createHash('sha256');
    let size = 0;
    for await (const chunk of await store.get('big/thirty.bin')) {
      received.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect(size).toBe(30 * chunkSize);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    expect((await store.head('big/thirty.bin'))?.size).toBe(30 * chunkSize);
  });

  it('answers undefined from head and NOT_FOUND from get for a missing object', async () => {
    expect(await store.head('missing/object.csv')).toBeUndefined();
    await expectUserError(store.get('missing/object.csv'), 'NOT_FOUND');
    // A "folder" of other keys is not an object either.
    await store.put('folder/child.txt', 'x');
    expect(await store.head('folder')).toBeUndefined();
    await expectUserError(store.get('folder'), 'NOT_FOUND');
  });

  it('lists in key order by string prefix, not only by folder', async () => {
    const all = ['a/sub/3', 'b', 'ab/x', 'a-b', 'a/2', 'a/1', 'a.txt'];
    await Promise.all(all.map((k) => store.put(k, `body of ${k}`)));
    // UTF-8 byte order, as S3 lists: "-" (0x2d) < "." (0x2e) < "/" (0x2f) < "b" (0x62).
    await expectListing('', ['a-b', 'a.txt', 'a/1', 'a/2', 'a/sub/3', 'ab/x', 'b']);
    await expectListing('a', ['a-b', 'a.txt', 'a/1', 'a/2', 'a/sub/3', 'ab/x']);
    // Within one folder every server keeps the order.
    expect(await keys(store, 'a/')).toEqual(['a/1', 'a/2', 'a/sub/3']);
    expect(await keys(store, 'a/s')).toEqual(['a/sub/3']);
    expect(await keys(store, 'ab')).toEqual(['ab/x']);
    expect(await keys(store, 'a/sub/3')).toEqual(['a/sub/3']);
    expect(await keys(store, 'zzz')).toEqual([]);
    const [first] = await infos(store, 'a/1');
    expect(first).toMatchObject({ key: 'a/1', size: Buffer.byteLength('body of a/1') });
    expect(first?.lastModified).toBeInstanceOf(Date);
  });

  it('lists more than 1000 objects (pagination on S3) completely and in order', async () => {
    const n = 1005;
    const expected = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, '0')}.json`);
    // Neighbours on both sides of the prefix. (Not "many-x/": s3rver, which walks folders, would list it
    // after "many/…" and then drop it from the second page, comparing its key with the continuation key.)
    await store.put('man', 'before many/');
    await store.put('many0/outside.json', 'after many/');
    // Put in a shuffled order so that the order of list() cannot come from the order of writes.
    const shuffled = [...expected].sort(() => Math.random() - 0.5);
    for (let i = 0; i < shuffled.length; i += 100) {
      await Promise.all(shuffled.slice(i, i + 100).map((k) => store.put(k, '{}')));
    }
    expect(await keys(store, 'many/')).toEqual(expected);
    expect(await keys(store, 'many')).toEqual([...expected, 'many0/outside.json']);
    expect(await keys(store, 'man')).toEqual(['man', ...expected, 'many0/outside.json']);
    // s3rver takes ~10 ms a PUT; room for a machine busy with other suites.
  }, 120_000);

  it('moves an object, keeping its content type', async () => {
    await store.put('inbox/social/posts.csv', 'a,b\n1,2\n', { contentType: 'text/csv' });
    await store.move('inbox/social/posts.csv', 'raw/social/dt=2026-01-01/job-1/posts.csv');
    expect(await store.head('inbox/social/posts.csv')).toBeUndefined();
    expect((await readAll(await store.get('raw/social/dt=2026-01-01/job-1/posts.csv'))).toString()).toBe('a,b\n1,2\n');
    expect((await store.head('raw/social/dt=2026-01-01/job-1/posts.csv'))?.contentType).toBe('text/csv');
    expect(await keys(store, 'inbox/')).toEqual([]);
  });

  it('moves onto an existing object by replacing it, moves in place as a no-op, and refuses a missing source', async () => {
    await store.put('m/from', 'new');
    await store.put('m/to', 'old');
    await store.move('m/from', 'm/to');
    expect((await readAll(await store.get('m/to'))).toString()).toBe('new');
    expect(await keys(store, 'm/')).toEqual(['m/to']);
    await store.move('m/to', 'm/to');
    expect((await readAll(await store.get('m/to'))).toString()).toBe('new');
    await expectUserError(store.move('m/missing', 'm/elsewhere'), 'NOT_FOUND');
    await expectUserError(store.move('m/missing', 'm/missing'), 'NOT_FOUND');
    expect(await store.head('m/elsewhere')).toBeUndefined();
  });

  it('deletes an object, and deleting a missing one is not an error', async () => {
    await store.put('d/one.txt', '1');
    await store.put('d/two.txt', '2');
    await store.delete('d/one.txt');
    expect(await store.head('d/one.txt')).toBeUndefined();
    await expectUserError(store.get('d/one.txt'), 'NOT_FOUND');
    expect(await keys(store, 'd/')).toEqual(['d/two.txt']);
    await expect(store.delete('d/one.txt')).resolves.toBeUndefined();
    await expect(store.delete('never/was.txt')).resolves.toBeUndefined();
  });

  it('overwrites an object and its metadata', async () => {
    await store.put('o/file.csv', 'first version, longer', { contentType: 'text/csv' });
    const second = await store.put('o/file.csv', 'second', { contentType: 'text/plain' });
    expect((await readAll(await store.get('o/file.csv'))).toString()).toBe('second');
    const head = await store.head('o/file.csv');
    expect(head).toMatchObject({ size: 6, contentType: 'text/plain', etag: second.etag });
    expect((await infos(store, 'o/')).map((i) => [i.key, i.size])).toEqual([['o/file.csv', 6]]);
  });

  it('shows a streamed object only once the put completes', async () => {
    const body = new PassThrough();
    const pending = store.put('s/streamed.bin', body);
    body.write(randomBytes(1024 * 1024));
    expect(await store.head('s/streamed.bin')).toBeUndefined();
    expect(await keys(store, 's/')).toEqual([]);
    body.end(randomBytes(1024));
    expect((await pending).size).toBe(1024 * 1024 + 1024);
    expect((await store.head('s/streamed.bin'))?.size).toBe(1024 * 1024 + 1024);
  });

  it('leaves nothing visible after an aborted stream put, and keeps the object it would have replaced', async () => {
    await store.put('ab/kept.bin', 'old');
    const controller = new AbortController();
    // 10 MB: past the first S3 part, so a multipart upload is under way when the abort comes.
    const body = stalledBody(10, 1024 * 1024, () => controller.abort());
    const err = await rejection(store.put('ab/kept.bin', body, { signal: controller.signal }));
    expect((err as Error).name).toBe('AbortError');
    const controller2 = new AbortController();
    const err2 = await rejection(store.put('ab/new.bin', stalledBody(10, 1024 * 1024, () => controller2.abort()), { signal: controller2.signal }));
    expect((err2 as Error).name).toBe('AbortError');
    expect(await store.head('ab/new.bin')).toBeUndefined();
    expect(await keys(store, 'ab/')).toEqual(['ab/kept.bin']);
    expect((await readAll(await store.get('ab/kept.bin'))).toString()).toBe('old');
  });

  it('rejects a put whose signal is already aborted, writing nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(store.put('pre/aborted.txt', 'never', { signal: controller.signal }));
    expect((err as Error).name).toBe('AbortError');
    expect(await keys(store, 'pre/')).toEqual([]);
  });

  it('leaves nothing visible when the body stream fails', async () => {
    const body = stalledBody(2, 1024 * 1024, (b) => b.destroy(new Error('client went away')));
    const err = await rejection(store.put('fail/broken.bin', body));
    // The caller's own error comes back, not a storage error wrapped around it.
    expect((err as Error).message).toBe('client went away');
    expect(await store.head('fail/broken.bin')).toBeUndefined();
    expect(await keys(store, 'fail/')).toEqual([]);
  });

  it('rejects keys that could escape or that no store can hold, with BAD_USER_INPUT', async () => {
    const bad = ['../escape.txt', 'a/../../b', '/etc/passwd', 'a//b', 'a/', '', '.', 'a/./b', 'nul\u0000byte', 'line\nbreak', 'back\\slash', 'x'.repeat(1025)];
    for (const key of bad) {
      await expectUserError(store.put(key, 'x'), 'BAD_USER_INPUT');
      await expectUserError(store.get(key), 'BAD_USER_INPUT');
      await expectUserError(store.head(key), 'BAD_USER_INPUT');
      await expectUserError(store.delete(key), 'BAD_USER_INPUT');
    }
    await expectUserError(store.move('ok.txt', '../out.txt'), 'BAD_USER_INPUT');
    await expectUserError(store.move('../in.txt', 'ok.txt'), 'BAD_USER_INPUT');
    await expectUserError(store.signedPutUrl('../x', { expiresIn: 60 }), 'BAD_USER_INPUT');
    await expect(keys(store, '/abs')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await keys(store, '')).toEqual([]);
    // 1024 bytes exactly is still a key (S3's limit), written in 2-byte characters to count bytes, not
    // characters, in segments of at most 255 bytes (the longest file name a folder can hold).
    const longest = ['é'.repeat(127), 'é'.repeat(127), 'é'.repeat(127), 'é'.repeat(127), 'éé'].join('/');
    expect(Buffer.byteLength(longest)).toBe(1024);
    await store.put(longest, 'ok');
    expect(await keys(store, '')).toEqual([longest]);
  });
});
