/**
 * The change feed over Redis pub/sub, for deployments whose API and workers are separate processes
 * (SEXTANT_REDIS_URL set, SEXTANT_ROLE api/worker): a worker's load reaches the result cache of every
 * API process. With the BullMQ adapter, the only module that imports ioredis.
 *
 * Facts this relies on:
 * - PUBLISH answers only after Redis has queued the message for every subscriber connected at that
 *   moment; ingestion awaits `publish` before its job is recorded SUCCEEDED, so the message is on its
 *   way to every API process before any client can see SUCCEEDED.
 * - Pub/sub is fire-and-forget: a subscriber that is disconnected when a message is published never
 *   gets it. So the subscriber resubscribes itself on every (re)connect (`autoResubscribe` off) and
 *   calls the `onMissed` listeners each time its subscription takes effect — the first time included,
 *   for whatever was cached before it did.
 * - A connection in subscriber mode can run no other command: publisher and subscriber are two
 *   connections, named `sextant:<queue>:changes-pub` / `-sub` in `CLIENT LIST`.
 * - Anyone who can reach Redis can publish on the channel: messages are parsed defensively, and one
 *   that is not a valid change is logged and ignored.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { LocalChangeFeed } from '../change-feed/local-change-feed.js';
import { isTableList } from '../change-feed/port.js';
import type { ChangeFeed, TablesChangedListener } from '../change-feed/port.js';

export interface RedisChangeFeedOptions {
  /** `redis://…` or `rediss://…`. */
  connection: string;
  /** The pub/sub channel; every process of one deployment uses the same one. */
  channel: string;
  /** Names the connections in `CLIENT LIST` (default `sextant`). */
  connectionName?: string;
  /** How long a publish waits for Redis before failing (default 5 s). */
  publishTimeoutMs?: number;
  logger?: Logger;
}

/** A message larger than this is not parsed (a real one names a table or two). */
const MAX_MESSAGE_CHARS = 256 * 1024;
/** How long `close()` waits for Redis to acknowledge QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 2_000;

/** What travels on the channel: `{"v":1,"origin":"<feed id>","tables":["social.manual_posts"]}`. */
interface ChangeMessage {
  v: 1;
  /** The publishing feed, which has already told its own process's listeners. */
  origin: string;
  tables: string[];
}

/** The change of a message received on the channel, or undefined when it is not a valid one. */
export function parseChangeMessage(text: string): ChangeMessage | undefined {
  if (text.length > MAX_MESSAGE_CHARS) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { v, origin, tables } = value as Record<string, unknown>;
  if (v !== 1 || typeof origin !== 'string' || origin.length === 0 || origin.length > 100 || !isTableList(tables)) return undefined;
  return { v, origin, tables };
}

/** Redis did not take a change: other processes' caches were not told (they keep results up to their TTL). */
export class ChangeFeedUnavailableError extends Error {
  constructor(reason: string, cause?: unknown) {
    super(`the change feed (Redis) is unavailable: publish failed: ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'ChangeFeedUnavailableError';
  }
}

/** The Redis pub/sub {@link ChangeFeed}; see the module comment. */
export class RedisChangeFeed implements ChangeFeed {
  readonly channel: string;
  readonly #opts: RedisChangeFeedOptions;
  readonly #origin = randomUUID();
  /** The listeners of this process: told at once by `publish`, and by the subscriber for other processes' changes. */
  readonly #local: LocalChangeFeed;
  readonly #missed = new Set<() => void>();
  readonly #publisher: Redis;
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(options: RedisChangeFeedOptions) {
    this.#opts = options;
    this.channel = options.channel;
    this.#local = new LocalChangeFeed({ logger: options.logger });
    const name = options.connectionName ?? 'sextant';
    // Connected on the first publish (API-only processes never publish). One retry, then an error: a
    // load must not hang on an unreachable Redis.
    this.#publisher = new Redis(options.connection, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: options.publishTimeoutMs ?? 5_000,
      connectionName: `${name}:changes-pub`,
    });
    this.#publisher.on('error', (err) => options.logger?.warn('redis connection error (change feed publisher)', { err }));
  }

  async publish(tables: string[]): Promise<void> {
    if (this.#closed) throw new Error('this change feed was closed');
    this.#local.deliver(tables);
    const message: ChangeMessage = { v: 1, origin: this.#origin, tables };
    try {
      await this.#publisher.publish(this.channel, JSON.stringify(message));
    } catch (err) {
      const e = err as Error;
      throw new ChangeFeedUnavailableError(e?.message ?? String(err), err);
    }
  }

  subscribe(listener: TablesChangedListener, onMissed?: () => void): () => void {
    if (this.#closed) throw new Error('this change feed was closed');
    const unsubscribe = this.#local.subscribe(listener);
    const missed = onMissed && (() => onMissed());
    if (missed) this.#missed.add(missed);
    this.#subscriber ??= this.#connectSubscriber();
    return () => {
      unsubscribe();
      if (missed) this.#missed.delete(missed);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#local.close();
    this.#missed.clear();
    await Promise.all([this.#publisher, this.#subscriber].map((r) => r && release(r)));
  }

  /** The subscriber connection, created with the first subscription (worker-only processes have none). */
  #connectSubscriber(): Redis {
    const log = this.#opts.logger;
    const sub = new Redis(this.#opts.connection, {
      // Resubscribed by hand on every 'ready', so that we know when the subscription is in effect again.
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      connectionName: `${this.#opts.connectionName ?? 'sextant'}:changes-sub`,
    });
    sub.on('error', (err) => log?.warn('redis connection error (change feed subscriber)', { err }));
    sub.on('ready', () => {
      if (this.#closed) return;
      sub.subscribe(this.channel).then(
        () => this.#subscribed(),
        // A dropped connection fires 'ready' again once back; anything else (an ACL refusing the channel) is for operators.
        (err: unknown) => {
          if (!this.#closed) log?.error('could not subscribe to the change feed; cached results of other processes\' loads stay until their TTL', { channel: this.channel, err });
        },
      );
    });
    sub.on('message', (channel: string, text: string) => {
      if (channel === this.channel && !this.#closed) this.#receive(text);
    });
    return sub;
  }

  /** The subscription (again) took effect: changes published while it was not may have been missed. */
  #subscribed(): void {
    if (this.#closed) return;
    for (const missed of [...this.#missed]) {
      try {
        missed();
      } catch (err) {
        this.#opts.logger?.error('a change feed onMissed listener failed', { err });
      }
    }
  }

  #receive(text: string): void {
    const change = parseChangeMessage(text);
    if (!change) {
      this.#opts.logger?.warn('ignored a message on the change feed channel that is not a valid change', { channel: this.channel, message: text.slice(0, 200) });
      return;
    }
    // This feed's own publish already told this process's listeners.
    if (change.origin === this.#origin) return;
    this.#local.deliver(change.tables);
  }
}

/** QUIT (after any pending replies) when connected, else drop the connection; never waits on a dead Redis. */
async function release(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const quit = redis.quit().then(
    () => true,
    () => false,
  );
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), QUIT_TIMEOUT_MS);
  });
  const done = await Promise.race([quit, timedOut]);
  clearTimeout(timer);
  if (!done) redis.disconnect();
}
