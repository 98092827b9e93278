/**
 * Processes of one deployment see each other on a real Redis and refuse to run with different signing
 * secrets, or without one beside another process (src/jobs/peers.ts, docs/deploy.md).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { joinPeers, type PeerMembership } from '../../src/jobs/peers.js';
import { RedisPeers } from '../../src/jobs/bullmq/redis-peers.js';
import { testRedisUrl } from '../support/env.js';

describe('processes on one Redis', () => {
  const joined: PeerMembership[] = [];
  afterEach(async () => {
    await Promise.all(joined.splice(0).map((m) => m.leave()));
  });
  const deployment = () => `peers-${randomBytes(4).toString('hex')}`;
  let machine = 0;
  // Each as if on its own machine: on one host, an entry with this process's pid counts as its own past.
  const join = async (queueName: string, signingSecret: string | undefined, role = 'all') => {
    const m = await joinPeers({ redisUrl: testRedisUrl(), signingSecret, role, queueName }, { host: `machine-${++machine}` });
    joined.push(m);
    return m;
  };

  it('lets processes with one secret run together, and lists each of them', async () => {
    const queueName = deployment();
    await join(queueName, 's3cret', 'api');
    await join(queueName, 's3cret', 'worker');
    await join(queueName, 's3cret', 'all');
    const lister = new RedisPeers({ connection: testRedisUrl(), queueName });
    try {
      const listed = await lister.list();
      expect(listed.map((p) => p.role).sort()).toEqual(['all', 'api', 'worker']);
      // Only a fingerprint travels: the secret itself is nowhere in the entries.
      expect(JSON.stringify(listed)).not.toContain('s3cret');
    } finally {
      await lister.leave();
    }
  });

  it('refuses a second process without a secret, or with another one, and leaves no entry of the refused one', async () => {
    const queueName = deployment();
    await join(queueName, undefined);
    await expect(join(queueName, undefined)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/SEXTANT_SIGNING_SECRET is not set in this one/) });
    await expect(join(queueName, 'with-a-secret')).rejects.toThrow(/runs without SEXTANT_SIGNING_SECRET/);

    const other = deployment();
    await join(other, 'one');
    await expect(join(other, 'two')).rejects.toThrow(/different SEXTANT_SIGNING_SECRET/);
    const lister = new RedisPeers({ connection: testRedisUrl(), queueName: other });
    try {
      expect(await lister.list()).toHaveLength(1);
    } finally {
      await lister.leave();
    }
  });

  it('forgets a process once it leaves, and deployments on one Redis do not see each other', async () => {
    const queueName = deployment();
    const first = await join(queueName, undefined);
    await join(deployment(), undefined);
    await first.leave();
    await join(queueName, undefined);
  });
});
