/**
 * What only the folder store does: its layout on disk, its bookkeeping folder, and what a folder
 * cannot hold that S3 can. Each test works in a fresh temp dir.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { FILE_STORE_RESERVED, openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';

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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return err instanceof UserError ? err.code : `not a UserError: ${String(err)}`;
  }
}

describe('folder object store', () => {
  let root: string;
  let dir: string;
  let store: ObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-file-store-'));
    dir = join(root, 'objects');
    store = await openFileObjectStore(dir);
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('creates its folder and keeps each object as a plain file at its key', async () => {
    await store.put('raw/social/dt=2026-01-01/job-1/posts.csv', 'a,b\n');
    expect(store.description).toBe(`file:${dir}`);
    expect(await readdir(join(dir, 'raw', 'social', 'dt=2026-01-01', 'job-1'))).toEqual(['posts.csv']);
  });

  it('a put with sync: false is visible at once with its metadata; flush() of its keys makes it durable and names a missing key', async () => {
    const keysPut = ['raw/fb/dt=2026-01-01/job-1/pages/page-1.json', 'raw/fb/dt=2026-01-01/job-1/pages/page-2.json', 'raw/fb/dt=2026-01-01/job-1/posts/page-1.json'];
    for (const [i, key] of keysPut.entries()) await store.put(key, `{"n":${i}}`, { sync: false, contentType: 'application/json' });
    expect(await keys(store, 'raw/fb/')).toEqual([...keysPut].sort());
    expect((await readAll(await store.get(keysPut[1]))).toString()).toBe('{"n":1}');
    expect(await store.head(keysPut[2])).toMatchObject({ size: 7, contentType: 'application/json' });
    await expect(store.flush!(keysPut)).resolves.toBeUndefined();
    expect((await readAll(await store.get(keysPut[0]))).toString()).toBe('{"n":0}');
    await expect(store.flush!([keysPut[0], 'raw/fb/missing.json'])).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('raw/fb/missing.json') });
  });

  it("unsynced puts (the page writer's thread): many at once all land with their metadata, a clash fails as a put does and leaves no temp file, close() waits for the pending ones", async () => {
    const pages = await openFileObjectStore(dir);
    const many = Array.from({ length: 40 }, (_, i) => `raw/fb/dt=2026-01-01/job-2/posts/page-${i + 1}.json`);
    const infos = await Promise.all(many.map((key, i) => pages.put(key, Buffer.from(`{"n":${String(i).padStart(2, '0')}}`), { sync: false, contentType: 'application/json' })));
    expect(await keys(pages, 'raw/fb/dt=2026-01-01/job-2/')).toEqual([...many].sort());
    expect((await readAll(await pages.get(many[7]))).toString()).toBe('{"n":07}');
    const etag = createHash('sha256').update('{"n":07}').digest('hex').slice(0, 32);
    expect(infos[7]).toMatchObject({ key: many[7], size: 8, etag, contentType: 'application/json' });
    expect(await pages.head(many[7])).toMatchObject({ size: 8, etag, contentType: 'application/json' });

    await pages.put('raw/fb/clash', 'x', { sync: false });
    expect(await codeOf(pages.put('raw/fb/clash/page-1.json', 'y', { sync: false }))).toBe('BAD_USER_INPUT');
    expect(await readdir(join(dir, FILE_STORE_RESERVED, 'tmp'))).toEqual([]);

    const last = pages.put('raw/fb/last.json', '{}', { sync: false });
    await pages.close();
    await expect(last).resolves.toMatchObject({ key: 'raw/fb/last.json', size: 2 });
    expect((await readAll(await store.get('raw/fb/last.json'))).toString()).toBe('{}');
  });

  it('flush() of 64 keys or more is one sync of the file system (sync -f), names a missing key, and fsyncs each file when that sync cannot run', async () => {
    const calls = join(root, 'sync-calls.txt');
    const recorder = join(root, 'sync-recorder.sh');
    await writeFile(recorder, `#!/bin/sh\necho "$@" >> '${calls}'\nexec sync "$@"\n`, { mode: 0o755 });
    const many = Array.from({ length: 70 }, (_, i) => `raw/fb/dt=2026-01-01/job-1/pages/page-${i + 1}.json`);
    const recorded = await openFileObjectStore(dir, { syncCommand: recorder });
    for (const [i, key] of many.entries()) await recorded.put(key, `{"n":${i}}`, { sync: false });
    await expect(recorded.flush!(many.slice(0, 63))).resolves.toBeUndefined();
    expect(await exists(calls)).toBe(false);
    await expect(recorded.flush!(many)).resolves.toBeUndefined();
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([`-f ${dir}`]);
    await expect(recorded.flush!([...many, 'raw/fb/missing.json'])).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('raw/fb/missing.json') });
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toHaveLength(1);
    const noSync = await openFileObjectStore(dir, { syncCommand: join(root, 'no-such-program') });
    await expect(noSync.flush!(many)).resolves.toBeUndefined();
    await expect(noSync.flush!([...many, 'raw/fb/missing.json'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await readAll(await noSync.get(many[69]))).toString()).toBe('{"n":69}');
  });

  it('lists files dropped into the folder by hand, as the inbox pick-up needs', async () => {
    await mkdir(join(dir, 'inbox', 'social'), { recursive: true });
    await writeFile(join(dir, 'inbox', 'social', 'manual.csv'), 'x,y\n');
    await writeFile(join(dir, 'inbox', 'social', 'bad\u0001name.csv'), 'not a key');
    expect(await keys(store, 'inbox/')).toEqual(['inbox/social/manual.csv']);
    expect((await readAll(await store.get('inbox/social/manual.csv'))).toString()).toBe('x,y\n');
    const head = await store.head('inbox/social/manual.csv');
    expect(head).toMatchObject({ size: 4 });
    expect(head?.contentType).toBeUndefined();
  });

  it('never lists or accepts its bookkeeping folder', async () => {
    await store.put('a.txt', 'a', { contentType: 'text/plain' });
    expect(await readdir(dir)).toEqual(expect.arrayContaining([FILE_STORE_RESERVED, 'a.txt']));
    expect(await keys(store, '')).toEqual(['a.txt']);
    expect(await keys(store, FILE_STORE_RESERVED)).toEqual([]);
    expect(await codeOf(store.put(`${FILE_STORE_RESERVED}/meta/x`, 'x'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.get(`${FILE_STORE_RESERVED}/tmp/x`))).toBe('BAD_USER_INPUT');
  });

  it('lists in UTF-8 byte order, as S3 does, not in UTF-16 order', async () => {
    // U+FF01 is EF BC 81 in UTF-8 and sorts before U+1F600 (F0 9F 98 80); in UTF-16 (JS `<`) it sorts after.
    await store.put('u/\u{1F600}', '1');
    await store.put('u/\uFF01', '2');
    await store.put('u/z', '3');
    expect(await keys(store, 'u/')).toEqual(['u/z', 'u/\uFF01', 'u/\u{1F600}']);
  });

  it('leaves no temp file behind after an aborted or failed put', async () => {
    const controller = new AbortController();
    const body = new PassThrough();
    const pending = store.put('t/aborted.bin', body, { signal: controller.signal });
    body.write(Buffer.alloc(64 * 1024));
    // Abort once the store has consumed the chunk (the write callback fires when it is taken).
    await new Promise<void>((resolve) => body.write(Buffer.alloc(1), () => resolve()));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(join(dir, FILE_STORE_RESERVED, 'tmp'))).toEqual([]);

    const failing = new PassThrough();
    const failed = store.put('t/failed.bin', failing);
    await new Promise<void>((resolve) => failing.write(Buffer.alloc(64 * 1024), () => resolve()));
    failing.destroy(new Error('connection reset'));
    await expect(failed).rejects.toThrow(/^connection reset$/);
    expect(await readdir(join(dir, FILE_STORE_RESERVED, 'tmp'))).toEqual([]);
    expect(await exists(join(dir, 't'))).toBe(false);
  });

  it('keeps traversal inside the folder: nothing is written outside it', async () => {
    expect(await codeOf(store.put('../outside.txt', 'x'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.put('a/../../outside.txt', 'x'))).toBe('BAD_USER_INPUT');
    expect(await readdir(root)).toEqual(['objects']);
  });

  it('refuses, with BAD_USER_INPUT, keys a folder cannot hold: "a" and "a/b" together, segments over 255 bytes', async () => {
    await store.put('clash', 'file');
    expect(await codeOf(store.put('clash/child', 'x'))).toBe('BAD_USER_INPUT');
    await store.put('folder/child', 'x');
    expect(await codeOf(store.put('folder', 'x'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(store.move('clash', 'folder'))).toBe('BAD_USER_INPUT');
    expect((await readAll(await store.get('clash'))).toString()).toBe('file');
    expect(await codeOf(store.put(`long/${'x'.repeat(256)}`, 'x'))).toBe('BAD_USER_INPUT');
    expect(await keys(store, '')).toEqual(['clash', 'folder/child']);
    expect(await readdir(join(dir, FILE_STORE_RESERVED, 'tmp'))).toEqual([]);
  });

  it('removes folders that a delete or a move leaves empty, and keeps the others', async () => {
    await store.put('inbox/social/a.csv', 'a');
    await store.put('inbox/web/b.csv', 'b');
    await store.move('inbox/social/a.csv', 'done/a.csv');
    expect(await exists(join(dir, 'inbox', 'social'))).toBe(false);
    await store.delete('inbox/web/b.csv');
    expect(await exists(join(dir, 'inbox'))).toBe(false);
    expect(await exists(dir)).toBe(true);
    expect(await keys(store, '')).toEqual(['done/a.csv']);
    // Writing into a folder that was just pruned works.
    await store.put('inbox/social/c.csv', 'c');
    expect(await keys(store, 'inbox/')).toEqual(['inbox/social/c.csv']);
  });

  it('ends concurrent puts to one key with one of them, whole', async () => {
    // Folder store only: s3rver writes objects in place (lib/stores/filesystem.js putObject), so
    // concurrent PUTs of one key interleave there; Amazon S3 documents them as last-writer-wins.
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024 + i, i + 1));
    await Promise.all(bodies.map((body) => store.put('race/same.bin', body)));
    const got = await readAll(await store.get('race/same.bin'));
    const winner = bodies.find((b) => b.equals(got));
    expect(winner).toBeDefined();
    expect((await store.head('race/same.bin'))?.size).toBe(winner?.length);
    expect(await keys(store, 'race/')).toEqual(['race/same.bin']);
  });

  it('lets a reader that opened before an overwrite read the old object whole', async () => {
    const old = Buffer.alloc(1024 * 1024, 1);
    await store.put('r/data.bin', old);
    const reader = await store.get('r/data.bin');
    await store.put('r/data.bin', Buffer.alloc(2 * 1024 * 1024, 2));
    expect((await readAll(reader)).equals(old)).toBe(true);
    expect((await store.head('r/data.bin'))?.size).toBe(2 * 1024 * 1024);
  });

  it('never loses a put into a folder that a concurrent delete empties', async () => {
    // delete() prunes folders it leaves empty; a put racing into the same folder must still land. (Whether
    // a run hits the narrow windows inside put's mkdir or between it and the rename, both of which put retries, is up to timing.)
    for (let i = 0; i < 100; i++) {
      await store.put(`p/${i}/old`, 'o');
      await Promise.all([store.delete(`p/${i}/old`), store.put(`p/${i}/new`, 'n')]);
    }
    const listed = await keys(store, 'p/');
    expect(listed).toHaveLength(100);
    expect(listed.every((k) => k.endsWith('/new'))).toBe(true);
  });

  it('ignores metadata that belongs to a file replaced behind its back', async () => {
    await store.put('m/report.csv', 'old', { contentType: 'text/csv' });
    // A new file (new inode) written by hand over the object: the sidecar no longer describes it.
    await rm(join(dir, 'm', 'report.csv'));
    await writeFile(join(dir, 'm', 'report.csv'), 'new content');
    const head = await store.head('m/report.csv');
    expect(head).toMatchObject({ size: 11 });
    expect(head?.contentType).toBeUndefined();
    expect(head?.etag).toBeUndefined();
  });

  it('cannot sign URLs: the service signs its own', async () => {
    expect(await store.signedPutUrl('uploads/x.csv', { expiresIn: 60 })).toBeUndefined();
    expect(await store.signedGetUrl('exports/x.csv', { expiresIn: 60 })).toBeUndefined();
  });

  it('removes stale temp files of a crashed process on open, and keeps recent ones', async () => {
    const tmp = join(dir, FILE_STORE_RESERVED, 'tmp');
    await writeFile(join(tmp, 'stale'), 'left by a crash');
    await writeFile(join(tmp, 'recent'), 'a live writer');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(tmp, 'stale'), twoDaysAgo, twoDaysAgo);
    await openFileObjectStore(dir);
    expect(await readdir(tmp)).toEqual(['recent']);
  });

  it('refuses to open on a path that is a file, and fails ping when the folder is gone', async () => {
    const file = join(root, 'not-a-folder');
    await writeFile(file, 'x');
    expect(await codeOf(openFileObjectStore(file))).toBe('CONFIG_INVALID');
    await rm(dir, { recursive: true });
    await expect(store.ping()).rejects.toThrow(/is not a readable and writable folder/);
  });
});
