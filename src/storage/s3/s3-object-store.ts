/**
 * The S3 object store: Amazon S3 or any S3-compatible store (MinIO, R2, s3rver in tests). Every key
 * lives under an optional prefix, so one bucket can serve several deployments; callers never see it.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, Transform, addAbortSignal, pipeline } from 'node:stream';
import { UserError } from '../../errors.js';
import { assertListPrefix, assertObjectKey, objectKeyProblem } from '../keys.js';
import type { ObjectInfo, ObjectStore, PutOptions, SignedUrlOptions } from '../port.js';
import { isS3NotFound, translateS3Error } from './errors.js';

/** Options of {@link openS3ObjectStore}. */
export interface S3ObjectStoreOptions {
  bucket: string;
  /** Keys live under `<prefix>/`; list() returns them without it. */
  prefix?: string;
  /** For S3-compatible stores (`AWS_ENDPOINT_URL`); unset for Amazon S3. */
  endpoint?: string;
  region: string;
  /** Defaults to the SDK's provider chain (AWS_* variables, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; most S3-compatible stores need it. */
  forcePathStyle?: boolean;
  /**
   * A client to use instead of creating one (endpoint, region, credentials and forcePathStyle are then
   * the client's own). The caller keeps it: close() leaves it open.
   */
  client?: S3Client;
}

/**
 * Multipart part size. S3 requires ≥ 5 MiB for every part but the last and allows 10,000 parts, so
 * 8 MiB parts carry objects up to ~78 GiB; memory per upload is PART_SIZE × QUEUE_SIZE.
 */
export const S3_PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;

/** S3's longest pre-signed URL lifetime (SigV4): 7 days. */
const MAX_EXPIRES_IN = 7 * 24 * 60 * 60;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** S3 quotes ETags (`"abc…"`); the port's etag is an opaque version id, the same bare hex as the folder store's. */
function bareEtag(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^"|"$/g, '');
}

/** Normalises the configured prefix to `""` or `"a/b/"`. */
function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const problem = objectKeyProblem(trimmed);
  if (problem !== undefined) {
    throw new UserError('CONFIG_INVALID', `The S3 key prefix ${JSON.stringify(prefix)} is invalid: ${problem}. Expected "/"-separated segments, e.g. s3://bucket/sextant/prod.`);
  }
  return `${trimmed}/`;
}

class S3ObjectStore implements ObjectStore {
  readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly base: string,
    private readonly ownsClient: boolean,
  ) {
    this.description = `s3://${bucket}${base === '' ? '' : `/${base.slice(0, -1)}`}`;
  }

  private full(key: string): string {
    return this.base + assertObjectKey(key);
  }

  async put(key: string, body: Buffer | string | Readable, options: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.full(key);
    const { signal, contentType } = options;
    if (signal?.aborted) throw abortReason(signal);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      if (Buffer.isBuffer(bytes) && bytes.length <= S3_PART_SIZE) {
        // The signal is not passed to the request: a PUT cut off after S3 received the body may still
        // have stored it, and put() would then report an abort for an object that exists.
        const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.length, ContentType: contentType }));
        return this.info(key, bytes.length, out.ETag, contentType);
      }

      // Streams and large buffers go up in parts (lib-storage). The object appears only when
      // CompleteMultipartUpload succeeds; on any error or abort lib-storage aborts the multipart
      // upload before done() rejects. Aborting destroys the body rather than calling Upload.abort(),
      // which would reject at once and leave the cleanup racing in the background.
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      });
      if (signal) addAbortSignal(signal, counter);
      if (Buffer.isBuffer(bytes)) counter.end(bytes);
      else pipeline(bytes, counter, () => undefined); // errors surface through counter, which Upload reads
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: counter, ContentType: contentType },
        partSize: S3_PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      const out = await upload.done();
      return this.info(key, size, out.ETag, contentType);
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      // An error of the caller's stream (a client went away) is reported as it is, not as an S3 failure.
      if (bytes instanceof Readable && bytes.errored) throw bytes.errored;
      throw translateS3Error(err, { operation: 'put', bucket: this.bucket, key });
    }
  }

  /** put() reports the size it sent and the local time it finished: one HEAD less per raw page. */
  private info(key: string, size: number, etag: string | undefined, contentType: string | undefined): ObjectInfo {
    const info: ObjectInfo = { key, size, lastModified: new Date() };
    const bare = bareEtag(etag);
    if (bare !== undefined) info.etag = bare;
    if (contentType !== undefined) info.contentType = contentType;
    return info;
  }

  async get(key: string): Promise<Readable> {
    const Key = this.full(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      const body = out.Body;
      if (body instanceof Readable) return body;
      if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
        return Readable.fromWeb((body as { transformToWebStream(): import('node:stream/web').ReadableStream }).transformToWebStream());
      }
      throw new Error('GetObject returned no body');
    } catch (err) {
      throw translateS3Error(err, { operation: 'get', bucket: this.bucket, key });
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.full(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      const info: ObjectInfo = { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
      const etag = bareEtag(out.ETag);
      if (etag !== undefined) info.etag = etag;
      if (out.ContentType !== undefined) info.contentType = out.ContentType;
      return info;
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw translateS3Error(err, { operation: 'head', bucket: this.bucket, key });
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertListPrefix(prefix);
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.base + prefix, ContinuationToken: token }));
      } catch (err) {
        throw translateS3Error(err, { operation: 'list', bucket: this.bucket });
      }
      for (const item of out.Contents ?? []) {
        if (item.Key === undefined) continue;
        const key = item.Key.slice(this.base.length);
        // Keys no put() could have written (the console's "folder/" markers, "a//b") are not objects of this store.
        if (objectKeyProblem(key) !== undefined) continue;
        const info: ObjectInfo = { key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
        const etag = bareEtag(item.ETag);
        if (etag !== undefined) info.etag = etag;
        yield info;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const Key = this.full(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (isS3NotFound(err)) return;
      throw translateS3Error(err, { operation: 'delete', bucket: this.bucket, key });
    }
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    const from = this.full(fromKey);
    const to = this.full(toKey);
    if (from === to) {
      // S3 refuses to copy an object onto itself without new metadata; moving in place is a no-op.
      if ((await this.head(fromKey)) === undefined) throw translateS3Error({ name: 'NoSuchKey' }, { operation: 'move', bucket: this.bucket, key: fromKey });
      return;
    }
    try {
      // CopySource is "bucket/key", URL-encoded; "/" stays literal between segments.
      const source = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source, MetadataDirective: 'COPY' }));
    } catch (err) {
      throw translateS3Error(err, { operation: 'move', bucket: this.bucket, key: fromKey });
    }
    await this.delete(fromKey);
  }

  private checkExpiry(options: SignedUrlOptions): number {
    const { expiresIn } = options;
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
      throw new RangeError(`expiresIn must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN} (7 days, the SigV4 limit), got ${expiresIn}`);
    }
    return expiresIn;
  }

  async signedPutUrl(key: string, options: SignedUrlOptions): Promise<string> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: this.full(key), ContentType: options.contentType });
    // With a contentType the client must send that same Content-Type header: it is part of the signature.
    return getSignedUrl(this.client, command, { expiresIn: this.checkExpiry(options) });
  }

  async signedGetUrl(key: string, options: SignedUrlOptions): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key), ResponseContentType: options.contentType });
    return getSignedUrl(this.client, command, { expiresIn: this.checkExpiry(options) });
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw translateS3Error(err, { operation: 'ping', bucket: this.bucket });
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * Opens an S3 object store. It does not contact S3: call `ping()` (the readiness check does) to
 * find out whether the bucket answers.
 */
export async function openS3ObjectStore(options: S3ObjectStoreOptions): Promise<ObjectStore> {
  if (!options.bucket) throw new UserError('CONFIG_INVALID', 'The S3 object store needs a bucket: expected s3://bucket/prefix.');
  const base = normalisePrefix(options.prefix);
  if (options.client !== undefined) return new S3ObjectStore(options.client, options.bucket, base, false);
  const config: S3ClientConfig = {
    region: options.region,
    // The SDK's default CRC32 checksums (since 3.729) put checksum parameters into pre-signed URLs and
    // aws-chunked bodies that many S3-compatible stores reject; S3 itself does not require them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new S3ObjectStore(new S3Client(config), options.bucket, base, true);
}
