/**
 * Opens the object store the environment names (docs/environment.md: `SEXTANT_OBJECT_STORE`).
 */
import type { ObjectStoreUrl } from '../config/env.js';
import { openFileObjectStore } from './file/file-object-store.js';
import type { ObjectStore } from './port.js';

/**
 * Opens the folder store for `file:<dir>` or the S3 store for `s3://bucket/prefix`. S3 credentials
 * come from the SDK's chain (AWS_* variables); a custom endpoint (`AWS_ENDPOINT_URL`, i.e. an
 * S3-compatible store) is addressed path-style, which such stores generally require.
 */
export async function openObjectStore(target: ObjectStoreUrl): Promise<ObjectStore> {
  switch (target.kind) {
    case 'file':
      return openFileObjectStore(target.dir);
    case 's3': {
      // Loaded on demand: the embedded default never pays for loading the AWS SDK.
      const { openS3ObjectStore } = await import('./s3/s3-object-store.js');
      return openS3ObjectStore({
        bucket: target.bucket,
        prefix: target.prefix,
        region: target.region,
        ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint, forcePathStyle: true }),
      });
    }
  }
}
