/** Start-up rules of a deployment split into roles (docs/deploy.md): Redis and one shared signing secret. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/tmp');
  } catch (err) {
    if (err instanceof UserError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('roles', () => {
  it('runs everything in one process without Redis or a signing secret', () => {
    expect(problems({})).toEqual([]);
    expect(loadConfig({}, '/tmp').role).toBe('all');
  });

  it('refuses an api or worker process without one shared signing secret, saying how to make one', () => {
    for (const role of ['api', 'worker']) {
      const found = problems({ SEXTANT_ROLE: role, SEXTANT_REDIS_URL: 'redis://127.0.0.1:6379' });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^SEXTANT_SIGNING_SECRET: SEXTANT_ROLE=(api|worker) runs one of several processes/);
      expect(found[0]).toContain('openssl rand -hex 32');
    }
    expect(problems({ SEXTANT_ROLE: 'api', SEXTANT_REDIS_URL: 'redis://127.0.0.1:6379', SEXTANT_SIGNING_SECRET: 's3cret' })).toEqual([]);
  });

  it('lists every problem of a split role together: Redis and the secret', () => {
    expect(problems({ SEXTANT_ROLE: 'worker' }).map((p) => p.split(':')[0]).sort()).toEqual(['SEXTANT_ROLE', 'SEXTANT_SIGNING_SECRET']);
  });
});

describe('SEXTANT_PREPARED_STATEMENTS', () => {
  it('defaults to 100 per connection, accepts 0 (none) and refuses what is not a whole number ≥ 0', () => {
    expect(loadConfig({}, '/tmp').preparedStatements).toBe(100);
    expect(loadConfig({ SEXTANT_PREPARED_STATEMENTS: '0' }, '/tmp').preparedStatements).toBe(0);
    expect(loadConfig({ SEXTANT_PREPARED_STATEMENTS: '250' }, '/tmp').preparedStatements).toBe(250);
    for (const bad of ['-1', '1.5', 'many']) {
      expect(problems({ SEXTANT_PREPARED_STATEMENTS: bad })).toEqual([`SEXTANT_PREPARED_STATEMENTS: expected an integer ≥ 0, got "${bad}"`]);
    }
  });
});
