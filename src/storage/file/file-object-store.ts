/**
 * The folder object store (the embedded default, `file:data/objects`): each object is a file at
 * `<dir>/<key>`. Bookkeeping lives under `<dir>/.sextant/`, which list() never shows:
 *
 * - `tmp/` — writes land here first and are renamed into place, so a reader sees either the old
 *   object or the complete new one, and an aborted or failed put leaves nothing (rename(2) is atomic
 *   within one file system, and tmp/ is inside dir so it is the same file system).
 * - `meta/<hh>/<sha256(key)>.json` — a sidecar with the content type and the etag (see {@link etagHash}). Hashing the key
 *   keeps sidecar names short and flat whatever the key. The sidecar records the identity of the file
 *   it describes (inode, size, mtime in ns): rename keeps all three, a new file changes them (inode
 *   numbers alone are reused at once on ext4 and tmpfs), so a sidecar left stale by a crash, a race or
 *   a hand-edited file is recognised and ignored: metadata may go missing but is never wrong.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { constants as fsConstants, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import { UserError } from '../../errors.js';
import { assertListPrefix, assertObjectKey, objectKeyProblem } from '../keys.js';
import type { ObjectInfo, ObjectStore, PutOptions, SignedUrlOptions } from '../port.js';
import { errnoCode, isMissing, translateFileError } from './errors.js';
import { PageWriter } from './page-writer.js';

/** The reserved top-level folder for temp files and sidecars; no key may start with it. */
export const FILE_STORE_RESERVED = '.sextant';

/** Temp files older than this are leftovers of a crashed process; younger ones may belong to a live writer. */
const STALE_TMP_MS = 24 * 60 * 60 * 1000;

/** Linux NAME_MAX: the longest file name, in bytes, most file systems accept. */
const NAME_MAX = 255;

interface Sidecar {
  /** `<ino>:<size>:<mtimeNs>` of the file the sidecar describes. */
  file: string;
  etag?: string;
  contentType?: string;
}

/** Files `flush` syncs at once. */
const FLUSH_PARALLEL = 16;
/**
 * A streamed body is written in writes of about this many bytes (its chunks gathered, one write in flight
 * while the next are read): an HTTP upload arrives in chunks of 16–64 KB, and awaiting a write of each made
 * a 36.6 MB upload take 0.34–0.52 s here against 0.20–0.36 s in 1 MB writes (bench/README.md, duck-ingest).
 */
const WRITE_BYTES = 1 << 20;

/**
 * The etag's hash: the first 32 hex digits of the body's SHA-256, as long as an MD5 etag. An etag is opaque
 * (ObjectInfo.etag); SHA-256 runs on the CPU's SHA extensions where MD5 has none: 0.03 s against 0.20 s for a
 * 36.6 MB upload on this machine, the largest part of the PUT (bench/README.md, duck-ingest).
 */
function etagHash(): Hash {
  return createHash('sha256');
}

function etagOf(hash: Hash): string {
  return hash.digest('hex').slice(0, 32);
}

/**
 * From this many keys on, `flush` syncs the whole file system the store is on (syncfs(2), through
 * `sync -f`) instead of each file: one call, whatever the number of pages, where 16 fsyncs at a time of
 * a window's thousands of small files took seconds (bench/README.md, section conn).
 */
export const SYNCFS_FROM_KEYS = 64;

/**
 * syncfs(2) of the file system holding `dir`, through coreutils' `sync -f` (Node has no binding).
 * Resolves false when it could not run (no `sync`, or one without `-f`): the caller fsyncs each file.
 */
function syncFileSystem(dir: string, command: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, ['-f', dir], { timeout: 10 * 60_000 }, (err) => resolve(!err));
  });
}

/** The identity a sidecar is matched against (bigint stats: mtime to the nanosecond). */
function fileIdentity(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Flushes a folder's entries, so that a rename survives a power cut as the file's data does
 * (fsync(2): syncing a file does not persist its directory entry). Best effort: some file systems
 * refuse to sync a directory, and the object is already in place.
 */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Durability is lost only on a power cut; refusing the put would lose the data for sure.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Marks an error of the body stream, so that it is not mistaken for a file system error. */
class BodyError extends Error {
  constructor(override readonly cause: unknown) {
    super('body stream failed');
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`Unsupported chunk type in an object body: ${typeof chunk}`);
}

/** Tuning of the folder store (tests set them; the defaults suit every deployment). */
export interface FileObjectStoreOptions {
  /** Keys from which `flush` syncs the file system at once (default {@link SYNCFS_FROM_KEYS}). */
  syncfsFromKeys?: number;
  /** The program run as `<command> -f <dir>` for that (default `sync`); when it fails, each file is fsynced. */
  syncCommand?: string;
}

class FileObjectStore implements ObjectStore {
  readonly description: string;
  private readonly tmpDir: string;
  /**
   * Folder syncs per folder: the one running, and the one queued behind it. Concurrent puts into one
   * folder (a connector's pages, written while the next are fetched) share syncs — a group commit: a
   * put waits for a sync that *starts* after its rename, so its entry is covered, and all the puts that
   * renamed while a sync ran share the next one instead of each paying its own.
   */
  private readonly dirSyncs = new Map<string, { running?: Promise<void>; queued?: Promise<void> }>();
  private readonly metaDir: string;
  private readonly pageWriter = new PageWriter();

  constructor(
    private readonly root: string,
    private readonly options: FileObjectStoreOptions = {},
  ) {
    this.description = `file:${root}`;
    this.tmpDir = join(root, FILE_STORE_RESERVED, 'tmp');
    this.metaDir = join(root, FILE_STORE_RESERVED, 'meta');
  }

  /** Validates a key for this store: the shared rules plus what a folder cannot hold. */
  private pathOf(key: string): string {
    assertObjectKey(key);
    const segments = key.split('/');
    if (segments[0] === FILE_STORE_RESERVED) {
      throw new UserError('BAD_USER_INPUT', `Object key ${JSON.stringify(key)} is invalid: "${FILE_STORE_RESERVED}/" is reserved by the folder store. Expected any other key.`, {
        details: { key },
      });
    }
    if (segments.some((s) => Buffer.byteLength(s, 'utf8') > NAME_MAX)) {
      throw new UserError('BAD_USER_INPUT', `Object key ${JSON.stringify(key)} is too long for the folder store: expected each segment to be at most ${NAME_MAX} bytes.`, {
        details: { key },
      });
    }
    return join(this.root, ...segments);
  }

  private metaPathOf(key: string): string {
    const hash = createHash('sha256').update(key, 'utf8').digest('hex');
    return join(this.metaDir, hash.slice(0, 2), `${hash}.json`);
  }

  private async readSidecar(key: string, st: BigIntStats): Promise<Sidecar | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.metaPathOf(key), 'utf8')) as Sidecar;
      return parsed.file === fileIdentity(st) ? parsed : undefined;
    } catch {
      // A missing or unreadable sidecar only costs the content type and etag, never the object.
      return undefined;
    }
  }

  /** Renames into place, creating parents; retries when a concurrent delete pruned a parent meanwhile. */
  private async renameInto(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        // Inside the retry: a prune can remove a parent between mkdir's own steps, too.
        await mkdir(dirname(to), { recursive: true });
        await rename(from, to);
        return;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT' || attempt >= 20) throw err;
        // Only retry when the source is still there, i.e. it was the target's parent that vanished.
        await access(from).catch(() => {
          throw err;
        });
      }
    }
  }

  /** Removes folders left empty by a delete or a move, up to (not including) the root. */
  private async pruneEmptyParents(path: string, stopAt: string): Promise<void> {
    let dir = dirname(path);
    while (dir.length > stopAt.length && dir.startsWith(stopAt)) {
      try {
        await rmdir(dir);
      } catch {
        return; // ENOTEMPTY (the usual case) or already gone: either way nothing further up is empty.
      }
      dir = dirname(dir);
    }
  }

  /** A sync of `dir` that starts after this call (see {@link dirSyncs}). */
  private syncDirShared(dir: string): Promise<void> {
    let state = this.dirSyncs.get(dir);
    if (!state) {
      state = {};
      this.dirSyncs.set(dir, state);
    }
    const s = state;
    if (!s.running) {
      const running: Promise<void> = syncDir(dir).finally(() => {
        if (s.running === running) s.running = undefined;
        if (!s.running && !s.queued && this.dirSyncs.get(dir) === s) this.dirSyncs.delete(dir);
      });
      s.running = running;
      return running;
    }
    // A sync is running, maybe begun before this put's rename: wait for the next one.
    s.queued ??= s.running.then(() => {
      s.queued = undefined;
      return this.syncDirShared(dir);
    });
    return s.queued;
  }

  async put(key: string, body: Buffer | string | Readable, options: PutOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    const { signal, contentType } = options;
    const sync = options.sync !== false;
    if (signal?.aborted) throw abortReason(signal);
    if (!sync && !(body instanceof Readable)) return this.putUnsynced(key, path, typeof body === 'string' ? Buffer.from(body, 'utf8') : body, contentType);
    const tmp = join(this.tmpDir, randomUUID());
    const metaTmp = `${tmp}.json`;
    const contentHash = etagHash();
    let size = 0;
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'wx', 0o644);
      if (body instanceof Readable) {
        // Aborting destroys the body, which ends the loop below with the AbortError.
        if (signal) addAbortSignal(signal, body);
        const iterator = body[Symbol.asyncIterator]();
        const file = fh;
        let writing: Promise<unknown> = Promise.resolve();
        let gathered: Buffer[] = [];
        let gatheredBytes = 0;
        const writeGathered = async (): Promise<void> => {
          await writing;
          const buffers = gathered;
          gathered = [];
          gatheredBytes = 0;
          writing = file.writev(buffers);
          // Awaited at the next write or at the end; until then a failure must not count as unhandled.
          writing.catch(() => undefined);
        };
        for (;;) {
          let next: IteratorResult<unknown>;
          try {
            next = await iterator.next();
          } catch (err) {
            // The caller's stream failed (a client went away): its error is the one to report, as is.
            await writing.catch(() => undefined);
            throw new BodyError(err);
          }
          if (next.done) break;
          const buf = toBuffer(next.value);
          contentHash.update(buf);
          size += buf.length;
          gathered.push(buf);
          gatheredBytes += buf.length;
          if (gatheredBytes >= WRITE_BYTES) await writeGathered();
        }
        if (gatheredBytes > 0) await writeGathered();
        await writing;
      } else {
        const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        contentHash.update(buf);
        size = buf.length;
        await fh.writeFile(buf);
      }
      // Durable before visible: "nothing is lost" must survive a power cut right after put() returns
      // (with `sync: false`, once flush() of the key returned).
      if (sync) await fh.sync();
      const st = await fh.stat({ bigint: true });
      await fh.close();
      fh = undefined;
      if (signal?.aborted) throw abortReason(signal);

      const etag = etagOf(contentHash);
      const sidecar: Sidecar = { file: fileIdentity(st), etag, ...(contentType === undefined ? {} : { contentType }) };
      await writeFile(metaTmp, JSON.stringify(sidecar));
      await this.renameInto(tmp, path);
      // Committed: from here on nothing may fail the put.
      if (sync) await this.syncDirShared(dirname(path));
      await this.renameInto(metaTmp, this.metaPathOf(key)).catch(() => rm(metaTmp, { force: true }).catch(() => undefined));
      return { key, size, lastModified: new Date(Number(st.mtimeMs)), etag, ...(contentType === undefined ? {} : { contentType }) };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
      await rm(metaTmp, { force: true }).catch(() => undefined);
      if (signal?.aborted) throw abortReason(signal);
      if (err instanceof BodyError) throw err.cause;
      throw translateFileError(err, 'put', key, true);
    }
  }

  /**
   * A put without syncs of bytes in memory, done on the page writer's thread ({@link PageWriter}): the
   * same steps and guarantees as `put` (a temp file renamed into place, then its sidecar), off the main
   * thread.
   */
  private async putUnsynced(key: string, path: string, buf: Buffer, contentType: string | undefined): Promise<ObjectInfo> {
    const tmp = join(this.tmpDir, randomUUID());
    try {
      const written = await this.pageWriter.write({ tmp, path, metaTmp: `${tmp}.json`, metaPath: this.metaPathOf(key), body: buf, ...(contentType === undefined ? {} : { contentType }) });
      return { key, size: written.size, lastModified: new Date(written.mtimeMs), etag: written.etag, ...(contentType === undefined ? {} : { contentType }) };
    } catch (err) {
      throw translateFileError(err, 'put', key, true);
    }
  }

  /**
   * Makes objects put with `sync: false` durable: an fsync of each file (a few at a time, so the file
   * system can commit them together), then one of each folder they are in. A key with no object fails.
   */
  async flush(keys: readonly string[]): Promise<void> {
    const paths = keys.map((k) => this.pathOf(k));
    if (paths.length >= (this.options.syncfsFromKeys ?? SYNCFS_FROM_KEYS)) {
      paths.forEach((p, i) => {
        try {
          if (!statSync(p).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
        } catch (err) {
          throw translateFileError(err, 'flush', keys[i]);
        }
      });
      // The files, their sidecars and every folder entry at once; else one by one, below.
      if (await syncFileSystem(this.root, this.options.syncCommand ?? 'sync')) return;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < paths.length) {
        const i = next++;
        let fh: FileHandle | undefined;
        try {
          fh = await open(paths[i], 'r');
          await fh.sync();
        } catch (err) {
          throw translateFileError(err, 'flush', keys[i]);
        } finally {
          await fh?.close().catch(() => undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FLUSH_PARALLEL, paths.length) }, worker));
    await Promise.all([...new Set(paths.map((p) => dirname(p)))].map((d) => this.syncDirShared(d)));
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      // A "folder" of other keys opens fine on Linux; it is not an object.
      if (!(await fh.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      return fh.createReadStream();
    } catch (err) {
      await fh?.close().catch(() => undefined);
      throw translateFileError(err, 'get', key);
    }
  }

  /** The object's file under the root (it may not exist); DuckDB's `read_csv` opens it in place. */
  localPath(key: string): string {
    return this.pathOf(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) return undefined;
      const meta = await this.readSidecar(key, st);
      const info: ObjectInfo = { key, size: Number(st.size), lastModified: new Date(Number(st.mtimeMs)) };
      if (meta?.etag !== undefined) info.etag = meta.etag;
      if (meta?.contentType !== undefined) info.contentType = meta.contentType;
      return info;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw translateFileError(err, 'head', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    yield* this.walk(this.root, '', prefix);
  }

  /**
   * Depth-first walk that yields keys in S3 order (UTF-8 byte order of the whole key). Sorting a
   * folder's entries with a `/` appended to sub-folder names gives exactly that order: every key below
   * folder `d` starts with `d/`, so it sorts against a sibling as `d/` does. Sub-folders that cannot
   * hold a key with the prefix are skipped, so a prefix like `raw/social/dt=2026-` reads little.
   */
  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return; // pruned by a concurrent delete
      throw translateFileError(err, 'list', keyPrefix);
    }
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !(keyPrefix === '' && e.name === FILE_STORE_RESERVED))
      .map((e) => {
        const rel = keyPrefix + e.name + (e.isDirectory() ? '/' : '');
        return { name: e.name, dir: e.isDirectory(), rel, sortKey: Buffer.from(rel, 'utf8') };
      })
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const item of items) {
      if (item.dir) {
        if (item.rel.startsWith(prefix) || prefix.startsWith(item.rel)) yield* this.walk(join(dir, item.name), item.rel, prefix);
        continue;
      }
      // Files dropped into the folder by hand with names no key may have are not objects of this store.
      if (!item.rel.startsWith(prefix) || objectKeyProblem(item.rel) !== undefined) continue;
      try {
        const st = await stat(join(dir, item.name));
        yield { key: item.rel, size: st.size, lastModified: st.mtime };
      } catch (err) {
        if (!isMissing(err)) throw translateFileError(err, 'list', item.rel);
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      // Missing, or a "folder" of other keys (EISDIR): no object under this key, which is what delete wants (as on S3).
      if (!isMissing(err)) throw translateFileError(err, 'delete', key);
      return;
    }
    await rm(this.metaPathOf(key), { force: true }).catch(() => undefined);
    await this.pruneEmptyParents(path, this.root);
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    try {
      if (!(await stat(from)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (err) {
      throw translateFileError(err, 'move', fromKey);
    }
    if (fromKey === toKey) return;
    try {
      // rename keeps the inode, so the sidecar moved after it stays valid for the moved object.
      await this.renameInto(from, to);
    } catch (err) {
      // ENOENT: the source went away meanwhile; anything else is about the target's place in the folder.
      throw errnoCode(err) === 'ENOENT' ? translateFileError(err, 'move', fromKey) : translateFileError(err, 'move', toKey, true);
    }
    try {
      await this.renameInto(this.metaPathOf(fromKey), this.metaPathOf(toKey));
    } catch {
      // No sidecar to move: make sure the target does not keep one from an object it replaced.
      await rm(this.metaPathOf(toKey), { force: true }).catch(() => undefined);
    }
    await this.pruneEmptyParents(from, this.root);
  }

  /** The folder store cannot sign URLs: the service offers its own signed `PUT /uploads/<id>`. */
  async signedPutUrl(key: string, _options: SignedUrlOptions): Promise<string | undefined> {
    this.pathOf(key);
    return undefined;
  }

  /** The folder store cannot sign URLs: the service serves downloads itself. */
  async signedGetUrl(key: string, _options: SignedUrlOptions): Promise<string | undefined> {
    this.pathOf(key);
    return undefined;
  }

  async ping(): Promise<void> {
    try {
      if (!(await stat(this.root)).isDirectory()) throw new Error('not a directory');
      await access(this.root, fsConstants.R_OK | fsConstants.W_OK);
      await access(this.tmpDir, fsConstants.R_OK | fsConstants.W_OK);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`Folder object store ${this.root} is not a readable and writable folder: ${message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    // Nothing else is held open between calls.
    await this.pageWriter.close();
  }

  /** Creates the bookkeeping folders and removes temp files a crashed process left behind. */
  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.metaDir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const st = await stat(path).catch(() => undefined);
      if (st && now - st.mtimeMs > STALE_TMP_MS) await rm(path, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * Opens (and creates when missing) a folder object store rooted at `dir`.
 * Every key is checked ({@link assertObjectKey}), so user-supplied names never leave the folder.
 */
export async function openFileObjectStore(dir: string, options: FileObjectStoreOptions = {}): Promise<ObjectStore> {
  const store = new FileObjectStore(resolve(dir), options);
  try {
    await store.init();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UserError('CONFIG_INVALID', `The object store folder ${JSON.stringify(dir)} cannot be used: ${message}. Expected a folder this process can create, read and write.`, {
      cause: err,
    });
  }
  return store;
}
