import { describe, it, expect } from 'vitest';
import pg from 'pg';
import { testPgUrl, testRedisUrl, testS3 } from '../support/env.js';

describe('test services', () => {
  it('postgres answers', async () => {
    const c = new pg.Client(testPgUrl());
    await c.connect();
    const r = await c.query('select 1 + 1 as two');
    expect(r.rows[0].two).toBe(2);
    await c.end();
  });
  it('redis and s3 are set', async () => {
    expect(testRedisUrl()).toMatch(/^redis:/);
    const res = await fetch(`${testS3().endpoint}/${testS3().bucket}?list-type=2`);
    expect(res.status).toBe(200);
  });
});
