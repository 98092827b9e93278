/**
 * The folder store's writer of unsynced puts (`sync: false`, a connector's pages): a worker thread that
 * does a put's file system calls — a temp file written and renamed into place, then its sidecar — beside
 * the main thread rather than on it. On the main thread they were the largest part of a backfill's
 * main-thread time (creates stall behind the journal while the previous window's `sync -f` runs); through
 * the libuv pool they cost a turn of the event loop each. Here a put costs the main thread one message
 * each way: a 90-day facebook backfill took 26 s instead of 33 s, its main thread 1.7–2.2 ms per page
 * instead of 2.7 (bench/README.md, conn-cpu).
 *
 * The worker's code is plain JavaScript in a string (`eval`), so that it runs the same from the sources
 * (tsx, vitest) and from the build.
 */
import { Worker } from 'node:worker_threads';

/** A put for the worker: the body goes to `tmp`, then to `path`; the sidecar to `metaTmp`, then `metaPath`. */
export interface PageWrite {
  tmp: string;
  path: string;
  metaTmp: string;
  metaPath: string;
  body: Uint8Array;
  contentType?: string;
}

/** What a put did: the object's size, mtime and etag (the first 32 hex digits of the body's SHA-256). */
export interface PageWritten {
  size: number;
  mtimeMs: number;
  etag: string;
}

const WORKER_CODE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { dirname } = require('node:path');

// Renames into place: the parent usually exists (a connector's pages share a folder), so the rename is
// tried alone first; the parent is created when missing, and again when a prune removed it meanwhile.
function renameInto(from, to) {
  try {
    renameSync(from, to);
    return;
  } catch (err) {
    if (err.code !== 'ENOENT' || !existsSync(from)) throw err;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dirname(to), { recursive: true });
      renameSync(from, to);
      return;
    } catch (err) {
      if (err.code !== 'ENOENT' || attempt >= 20 || !existsSync(from)) throw err;
    }
  }
}

function rmQuiet(path) {
  try {
    rmSync(path, { force: true });
  } catch {
    // A temp file left behind is removed when the store next opens.
  }
}

parentPort.on('message', ({ id, tmp, path, metaTmp, metaPath, body, contentType }) => {
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    let st;
    try {
      for (let at = 0; at < body.length; ) at += writeSync(fd, body, at);
      st = fstatSync(fd, { bigint: true });
    } finally {
      closeSync(fd);
    }
    const etag = createHash('sha256').update(body).digest('hex').slice(0, 32);
    const sidecar = { file: st.ino + ':' + st.size + ':' + st.mtimeNs, etag };
    if (contentType !== undefined) sidecar.contentType = contentType;
    writeFileSync(metaTmp, JSON.stringify(sidecar));
    renameInto(tmp, path);
    // Committed: a sidecar that cannot be placed only costs the content type and etag.
    try {
      renameInto(metaTmp, metaPath);
    } catch {
      rmQuiet(metaTmp);
    }
    parentPort.postMessage({ id, size: body.length, mtimeMs: Number(st.mtimeMs), etag });
  } catch (err) {
    rmQuiet(tmp);
    rmQuiet(metaTmp);
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } });
  }
});
`;

/** Sends unsynced puts to the worker, started at the first one; it keeps the process alive only while a put is pending. */
export class PageWriter {
  #worker: Worker | undefined;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (w: PageWritten) => void; reject: (err: Error) => void }>();
  /** Called when the last pending put settled (close waits for it). */
  #drained: (() => void) | undefined;

  #settled(worker: Worker): void {
    if (this.#pending.size > 0) return;
    worker.unref();
    this.#drained?.();
  }

  #start(): Worker {
    const worker = new Worker(WORKER_CODE, { eval: true });
    worker.on('message', (m: { id: number; error?: { message: string; code?: string } } & PageWritten) => {
      const waiter = this.#pending.get(m.id);
      if (!waiter) return;
      this.#pending.delete(m.id);
      if (m.error) waiter.reject(Object.assign(new Error(m.error.message), m.error.code === undefined ? {} : { code: m.error.code }));
      else waiter.resolve({ size: m.size, mtimeMs: m.mtimeMs, etag: m.etag });
      this.#settled(worker);
    });
    // The worker failed as a whole (out of memory, say): its pending puts fail; the next put starts another.
    const fail = (err: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiter of this.#pending.values()) waiter.reject(err);
      this.#pending.clear();
      this.#settled(worker);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the folder store's page writer stopped (exit code ${code})`)));
    worker.unref();
    return worker;
  }

  write(page: PageWrite): Promise<PageWritten> {
    const worker = (this.#worker ??= this.#start());
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...page });
    });
  }

  /** Waits for the pending puts, then stops the worker. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    if (this.#pending.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    this.#drained = undefined;
    if (this.#worker === worker) this.#worker = undefined;
    await worker.terminate();
  }
}
