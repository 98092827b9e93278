/**
 * The processes of one deployment on its Redis: each keeps a small entry (`<prefix>:<queue>:sextant-peer:<id>`,
 * expiring unless renewed) saying what it is, so that a starting process can see the others
 * (src/jobs/peers.ts). With the BullMQ adapter, the only module besides the change feed
 * that imports ioredis.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { PeerInfo } from '../peers.js';

export interface RedisPeersOptions {
  /** `redis://…` or `rediss://…`. */
  connection: string;
  /** The deployment's names, as for the queue (BullMQ's defaults: prefix `bull`, queue `sextant`). */
  queueName?: string;
  prefix?: string;
  /** How long an entry lives without renewal (default 15 s); it is renewed every third of that. */
  ttlSeconds?: number;
  logger?: Logger;
}

/** Longest entry read: a real one is a few hundred bytes; anything else on those keys is ignored. */
const MAX_ENTRY_CHARS = 4096;

function parseEntry(text: string | null): PeerInfo | undefined {
  if (!text || text.length > MAX_ENTRY_CHARS) return undefined;
  try {
    const v = JSON.parse(text) as Partial<PeerInfo>;
    if (typeof v.id !== 'string' || typeof v.role !== 'string' || typeof v.host !== 'string' || typeof v.pid !== 'number') return undefined;
    if (typeof v.startedAt !== 'string' || typeof v.secret !== 'string') return undefined;
    return v as PeerInfo;
  } catch {
    return undefined;
  }
}

export class RedisPeers {
  private readonly redis: Redis;
  private readonly base: string;
  private readonly ttlSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private key: string | undefined;

  constructor(private readonly options: RedisPeersOptions) {
    this.redis = new Redis(options.connection, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: `sextant:${options.queueName ?? 'sextant'}:peers` });
    this.base = `${options.prefix ?? 'bull'}:${options.queueName ?? 'sextant'}:sextant-peer:`;
    this.ttlSeconds = options.ttlSeconds ?? 15;
  }

  /** Writes this process's entry and keeps renewing it until {@link leave}. */
  async join(self: PeerInfo): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const key = this.base + self.id;
    const value = JSON.stringify(self);
    await this.redis.set(key, value, 'EX', this.ttlSeconds);
    this.key = key;
    this.timer = setInterval(() => {
      this.redis.set(key, value, 'EX', this.ttlSeconds).catch((err: unknown) => this.options.logger?.warn('could not renew this process\'s entry on Redis', { err }));
    }, (this.ttlSeconds * 1000) / 3);
    this.timer.unref();
  }

  /** Every process's entry (this one's included, once joined). */
  async list(): Promise<PeerInfo[]> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.base}*`, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys);
    return values.map(parseEntry).filter((p): p is PeerInfo => p !== undefined);
  }

  /** Removes this process's entry and closes the connection. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      if (this.key && this.redis.status === 'ready') await this.redis.del(this.key);
      if (this.redis.status !== 'wait' && this.redis.status !== 'end') await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
