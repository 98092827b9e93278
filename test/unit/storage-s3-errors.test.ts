/**
 * The S3 error translation, on errors shaped as the SDK raises them (name = S3 code, `$metadata`
 * with the status). The same translation runs against a real server in storage-s3.test.ts.
 */
import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { isS3NotFound, translateS3Error } from '../../src/storage/s3/errors.js';

function sdkError(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

const ctx = { operation: 'get', bucket: 'data', key: 'raw/a.csv' };

describe('translateS3Error', () => {
  it('turns a missing object into NOT_FOUND naming the key', () => {
    for (const err of [new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'nope' }), sdkError('NotFound', 404), sdkError('404', 404)]) {
      const out = translateS3Error(err, ctx);
      expect(out).toBeInstanceOf(UserError);
      expect((out as UserError).code).toBe('NOT_FOUND');
      expect(out.message).toBe('Object "raw/a.csv" does not exist in the object store.');
      expect(out.cause).toBe(err);
    }
  });

  it('names the bucket when the bucket is missing, whether S3 says NoSuchBucket or HEAD answers a bare 404', () => {
    expect(translateS3Error(sdkError('NoSuchBucket', 404), ctx).message).toMatch(/^S3 bucket "data" does not exist \(get\)/);
    expect(translateS3Error(sdkError('NotFound', 404), { operation: 'ping', bucket: 'data' }).message).toMatch(/^S3 bucket "data" does not exist/);
    expect(isS3NotFound(sdkError('NoSuchBucket', 404))).toBe(false);
  });

  it('points at the credentials when S3 refuses', () => {
    for (const code of ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', '403']) {
      const out = translateS3Error(sdkError(code, 403), ctx);
      expect(out).not.toBeInstanceOf(UserError);
      expect(out.message).toMatch(/^S3 refused get of "raw\/a.csv" in bucket "data" .*check the AWS_\* credentials/);
    }
  });

  it('keeps aborts recognisable as AbortError', () => {
    const abort = Object.assign(new Error('Upload aborted.'), { name: 'AbortError' });
    expect(translateS3Error(abort, ctx).name).toBe('AbortError');
  });

  it('wraps anything else with the operation, the key and the S3 code, keeping the cause', () => {
    const err = sdkError('SlowDown', 503, 'Please reduce your request rate.');
    const out = translateS3Error(err, ctx);
    expect(out.message).toBe('S3 get of "raw/a.csv" in bucket "data" failed (SlowDown): Please reduce your request rate.');
    expect(out.cause).toBe(err);
    const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(translateS3Error(net, { operation: 'list', bucket: 'data' }).message).toBe('S3 list of bucket "data" failed (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:9');
  });

  it('passes our own errors through', () => {
    const own = new UserError('BAD_USER_INPUT', 'bad key');
    expect(translateS3Error(own, ctx)).toBe(own);
  });
});
