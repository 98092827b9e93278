/**
 * vitest globalSetup: starts real PostgreSQL, Redis and S3 servers once for the whole run and hands
 * their addresses to the test files through the environment. Every test isolates itself inside them
 * (a fresh schema, queue name or key prefix).
 */
import { startServices, type RunningServices } from './services.js';

let services: RunningServices | undefined;

export async function setup(): Promise<void> {
  const started = Date.now();
  services = await startServices({ postgres: true, redis: true, s3: true });
  process.env.SEXTANT_TEST_PG_URL = services.pgUrl;
  process.env.SEXTANT_TEST_REDIS_URL = services.redisUrl;
  process.env.SEXTANT_TEST_S3_ENDPOINT = services.s3Endpoint;
  process.env.SEXTANT_TEST_S3_BUCKET = services.s3Bucket;
  console.log(`test services up in ${Date.now() - started} ms: postgres ${services.pgUrl}, redis ${services.redisUrl}, s3 ${services.s3Endpoint}`);
}

export async function teardown(): Promise<void> {
  await services?.stop();
}
