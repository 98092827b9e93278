/** Addresses of the real services started by global-setup.ts; a test that needs one fails loudly without it. */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the services`);
  return value;
}

export const testPgUrl = (): string => required('SEXTANT_TEST_PG_URL');
export const testRedisUrl = (): string => required('SEXTANT_TEST_REDIS_URL');
export const testS3 = (): { endpoint: string; bucket: string } => ({
  endpoint: required('SEXTANT_TEST_S3_ENDPOINT'),
  bucket: required('SEXTANT_TEST_S3_BUCKET'),
});
