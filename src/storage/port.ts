/**
 * The object store port: where every raw input is kept. Adapters: file/ (a folder, the default)
 * and s3/ (Amazon S3 or any S3-compatible store). Keys are `/`-separated and never start with `/`.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
  contentType?: string;
}

export interface PutOptions {
  contentType?: string;
  /** Aborts the upload; nothing is left under the key. */
  signal?: AbortSignal;
  /**
   * `false`: the object is visible when `put` resolves but may not survive a power cut until
   * {@link ObjectStore.flush} of its key resolves (a connector's pages, made durable once per window,
   * before the window's commit). Default `true`: durable when `put` resolves. Stores whose writes are
   * always durable (S3) ignore it.
   */
  sync?: boolean;
}

export interface SignedUrlOptions {
  /** Seconds until the URL expires. */
  expiresIn: number;
  contentType?: string;
}

export interface ObjectStore {
  /** A short description for logs and health checks, e.g. `file:data/objects` or `s3://bucket/prefix`. */
  readonly description: string;
  /** Writes an object from bytes or a stream (large streams go up in parts); visible only once complete. */
  put(key: string, body: Buffer | string | Readable, options?: PutOptions): Promise<ObjectInfo>;
  /**
   * Optional: makes objects written with `sync: false` durable (the folder store: an fsync of each file,
   * then one of each folder). A store without it writes durably on every put.
   */
  flush?(keys: readonly string[]): Promise<void>;
  /** Reads an object as a stream; throws UserError NOT_FOUND when missing. */
  get(key: string): Promise<Readable>;
  /** Metadata of an object, or undefined when missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Moves an object (copy then delete); used to move inbox files once they are picked up. */
  move(fromKey: string, toKey: string): Promise<void>;
  /**
   * A URL a client can PUT the bytes to, or undefined when the store cannot sign URLs itself
   * (the folder store: the service then offers its own signed `PUT /uploads/<id>`).
   */
  signedPutUrl(key: string, options: SignedUrlOptions): Promise<string | undefined>;
  /** A URL a client can GET the object from, or undefined when the service must serve it itself. */
  signedGetUrl(key: string, options: SignedUrlOptions): Promise<string | undefined>;
  /**
   * Optional: the object's file on this machine's disk (the folder store), so that an embedded reader
   * (DuckDB's `read_csv`) can open it itself; undefined when the store keeps objects elsewhere.
   */
  localPath?(key: string): string | undefined;
  /** Checks that the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
