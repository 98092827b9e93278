/**
 * The one place where S3 errors become errors a caller can act on. The SDK names an error after its
 * S3 code (`NoSuchKey`, `AccessDenied`, …), except on HEAD, whose responses have no body: there only
 * the status survives (`NotFound`, or the bare number as the name).
 */
import { UserError } from '../../errors.js';

interface S3ErrorShape {
  name?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The S3 error code and HTTP status of an SDK error, when it is one. */
export function s3ErrorCode(err: unknown): { code: string | undefined; status: number | undefined } {
  if (typeof err !== 'object' || err === null) return { code: undefined, status: undefined };
  const e = err as S3ErrorShape;
  // Only an S3 answer (one with $metadata) is named after its code; a network error carries an errno code.
  const errno = (err as { code?: unknown }).code;
  const code =
    typeof e.Code === 'string'
      ? e.Code
      : e.$metadata !== undefined && typeof e.name === 'string'
        ? e.name
        : typeof errno === 'string'
          ? errno
          : typeof e.name === 'string' && e.name !== 'Error'
            ? e.name
            : undefined;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return { code, status };
}

/** True when the error says that the object does not exist. */
export function isS3NotFound(err: unknown): boolean {
  const { code, status } = s3ErrorCode(err);
  return code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket');
}

/** True for an aborted request or upload (the caller's signal, or lib-storage's `Upload.abort()`). */
export function isS3Abort(err: unknown): boolean {
  const { code } = s3ErrorCode(err);
  return code === 'AbortError' || code === 'RequestAbortedError';
}

/** What the operation was doing, for the message. */
export interface S3ErrorContext {
  operation: string;
  bucket: string;
  /** The key as the caller named it (without the store's prefix). */
  key?: string;
}

/**
 * Translates an SDK error. Missing objects become `UserError('NOT_FOUND')`; configuration problems
 * (no bucket, refused credentials) become errors that name the bucket and what to check; anything
 * else keeps the SDK error as its cause. Errors that are already ours pass through.
 */
export function translateS3Error(err: unknown, context: S3ErrorContext): Error {
  if (err instanceof UserError) return err;
  const { code, status } = s3ErrorCode(err);
  const where = context.key === undefined ? `bucket ${JSON.stringify(context.bucket)}` : `${JSON.stringify(context.key)} in bucket ${JSON.stringify(context.bucket)}`;
  const vendorMessage = typeof (err as S3ErrorShape | null)?.message === 'string' ? String((err as S3ErrorShape).message) : String(err);

  // HeadBucket answers a bare 404 (HEAD responses have no body to carry "NoSuchBucket").
  if (code === 'NoSuchBucket' || (context.key === undefined && isS3NotFound(err))) {
    return new Error(`S3 bucket ${JSON.stringify(context.bucket)} does not exist (${context.operation}): create it or correct SEXTANT_OBJECT_STORE.`, { cause: err });
  }
  if (isS3NotFound(err) && context.key !== undefined) {
    return new UserError('NOT_FOUND', `Object ${JSON.stringify(context.key)} does not exist in the object store.`, { details: { key: context.key }, cause: err });
  }
  if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'ExpiredToken' || status === 403) {
    return new Error(`S3 refused ${context.operation} of ${where} (${code ?? status}): check the AWS_* credentials and the bucket policy. ${vendorMessage}`, { cause: err });
  }
  if (isS3Abort(err)) {
    return Object.assign(new Error(`S3 ${context.operation} of ${where} was aborted`, { cause: err }), { name: 'AbortError' });
  }
  return new Error(`S3 ${context.operation} of ${where} failed${code ? ` (${code})` : ''}: ${vendorMessage}`, { cause: err });
}
