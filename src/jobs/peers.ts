/**
 * Processes of one deployment find each other (on the Redis they share) and compare their signing
 * secrets at start-up: a URL one process signs (an upload, a download) is checked by whichever process
 * the client reaches next, so every process must hold the same SEXTANT_SIGNING_SECRET. Roles `api` and
 * `worker` already refuse to start without one; this catches several `all` processes on one Redis
 * without it, and processes whose secrets differ (docs/deploy.md).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';

/** What a process says of itself on the shared Redis. No secret: only a fingerprint of it. */
export interface PeerInfo {
  id: string;
  role: string;
  host: string;
  pid: number;
  startedAt: string;
  /** {@link secretFingerprint} of its signing secret, or `unset` (a random secret of its own). */
  secret: string;
}

/** A short HMAC of the secret: equal secrets give equal fingerprints; the secret cannot be read back. */
export function secretFingerprint(secret: string | undefined): string {
  if (!secret) return 'unset';
  return createHmac('sha256', secret).update('sextant signing-secret fingerprint v1').digest('hex').slice(0, 16);
}

function describe(peer: PeerInfo): string {
  return `${peer.role} process ${peer.pid} on ${peer.host}, started ${peer.startedAt}`;
}

const FIX = 'set SEXTANT_SIGNING_SECRET to the same random value (e.g. `openssl rand -hex 32`) in every process';

/**
 * Why this process must not run beside `others` (live processes on the same Redis and queue), or
 * undefined when all share its signing secret.
 */
export function signingSecretConflict(self: PeerInfo, others: readonly PeerInfo[]): string | undefined {
  for (const other of others) {
    if (self.secret === 'unset') {
      return `another Sextant process shares this Redis and queue (${describe(other)}), and SEXTANT_SIGNING_SECRET is not set in this one: a URL one process signs would be refused by the other; ${FIX}`;
    }
    if (other.secret === 'unset') {
      return `another Sextant process on this Redis and queue (${describe(other)}) runs without SEXTANT_SIGNING_SECRET: a URL one process signs would be refused by the other; ${FIX}, and restart that one`;
    }
    if (other.secret !== self.secret) {
      return `another Sextant process on this Redis and queue (${describe(other)}) has a different SEXTANT_SIGNING_SECRET: a URL one process signs would be refused by the other; ${FIX}`;
    }
  }
  return undefined;
}

/**
 * Leaves out what is this process's own past: an entry of this host whose process is gone (a crash
 * leaves its entry until it expires) or has this process's pid (a container restarted as pid 1).
 */
export function livePeers(self: PeerInfo, entries: readonly PeerInfo[], isAlive: (pid: number) => boolean): PeerInfo[] {
  return entries.filter((e) => e.id !== self.id && !(e.host === self.host && (e.pid === self.pid || !isAlive(e.pid))));
}

/** Whether a process of this host with that pid exists (signal 0 checks without sending). */
export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process's entry on the shared Redis, for as long as it runs. */
export interface PeerMembership {
  leave(): Promise<void>;
}

/**
 * Joins the deployment's processes on Redis and refuses to go on (CONFIG_INVALID) when a live one holds
 * another signing secret, or either holds none. Joining before looking means that of two processes
 * starting at once, at least the second to look sees the first.
 */
export async function joinPeers(
  config: { redisUrl: string; signingSecret: string | undefined; role: string; queueName?: string; prefix?: string },
  options: { logger?: Logger; ttlSeconds?: number; isAlive?: (pid: number) => boolean; /** Tests: processes of other machines. */ host?: string } = {},
): Promise<PeerMembership> {
  // Imported here: only a deployment with Redis has peers (see openJobQueue).
  const { RedisPeers } = await import('./bullmq/redis-peers.js');
  const peers = new RedisPeers({ connection: config.redisUrl, queueName: config.queueName, prefix: config.prefix, ttlSeconds: options.ttlSeconds, logger: options.logger });
  const self: PeerInfo = {
    id: randomUUID(),
    role: config.role,
    host: options.host ?? hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    secret: secretFingerprint(config.signingSecret),
  };
  try {
    await peers.join(self);
    const conflict = signingSecretConflict(self, livePeers(self, await peers.list(), options.isAlive ?? pidIsAlive));
    if (conflict) throw new UserError('CONFIG_INVALID', `The environment is invalid: ${conflict}`, { details: { variable: 'SEXTANT_SIGNING_SECRET' } });
  } catch (err) {
    await peers.leave();
    throw err;
  }
  return { leave: () => peers.leave() };
}
