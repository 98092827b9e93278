/**
 * The change feed: in-process, and Redis pub/sub on the real test Redis, with two feeds on separate
 * connections standing for two processes (a worker that loads, an API that caches). Each test uses a
 * fresh channel (a fresh queue name), so tests running at the same time do not hear each other.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeFeedUnavailableError, RedisChangeFeed } from '../../src/jobs/bullmq/redis-change-feed.js';
import { LocalChangeFeed } from '../../src/jobs/change-feed/local-change-feed.js';
import { changeChannel, openChangeFeed } from '../../src/jobs/change-feed/open.js';
import type { ChangeFeed } from '../../src/jobs/change-feed/port.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { freePort } from '../support/services.js';
import { testRedisUrl } from '../support/env.js';

/** Waits for a condition (never for a fixed time); fails after a generous limit. */
async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A listener that keeps what it heard, and how often its subscription took effect. */
function recorder() {
  const heard: string[][] = [];
  let missed = 0;
  return {
    heard,
    get missed() {
      return missed;
    },
    listener: (tables: string[]) => void heard.push(tables),
    onMissed: () => void missed++,
  };
}

/** A logger that keeps its warnings. */
function warningsLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const log: Logger & { warnings: string[] } = { ...silentLogger, warnings, warn: (msg) => void warnings.push(msg), child: () => log };
  return log;
}

describe('LocalChangeFeed', () => {
  it('is what openChangeFeed gives without Redis, and tells every listener synchronously', async () => {
    const feed = await openChangeFeed({ redisUrl: undefined });
    expect(feed).toBeInstanceOf(LocalChangeFeed);
    const a = recorder();
    const b = recorder();
    feed.subscribe(a.listener, a.onMissed);
    feed.subscribe(b.listener);
    const published = feed.publish(['social.manual_posts']);
    // Heard before the publish settles: an in-process load invalidates before its job is recorded.
    expect(a.heard).toEqual([['social.manual_posts']]);
    expect(b.heard).toEqual([['social.manual_posts']]);
    await published;
    // Nothing can be missed in one process.
    expect(a.missed).toBe(0);
    await feed.close();
  });

  it('stops telling a listener once unsubscribed, and keeps telling the others when one throws', async () => {
    const feed = new LocalChangeFeed({ logger: silentLogger });
    const a = recorder();
    const b = recorder();
    const offA = feed.subscribe(a.listener);
    feed.subscribe(() => {
      throw new Error('a broken listener');
    });
    feed.subscribe(b.listener);
    await feed.publish(['t1']);
    offA();
    await feed.publish(['t2']);
    expect(a.heard).toEqual([['t1']]);
    expect(b.heard).toEqual([['t1'], ['t2']]);
    await feed.close();
  });

  it('refuses a change without tables, and any use after close', async () => {
    const feed = new LocalChangeFeed();
    const a = recorder();
    feed.subscribe(a.listener);
    await expect(feed.publish([])).rejects.toThrow(/1 to 1000 tables/);
    await expect(feed.publish([''])).rejects.toThrow(/1 to 1000 tables/);
    await feed.close();
    await expect(feed.publish(['t1'])).rejects.toThrow(/closed/);
    expect(() => feed.subscribe(a.listener)).toThrow(/closed/);
    expect(a.heard).toEqual([]);
  });
});

describe('RedisChangeFeed', () => {
  const opened: Array<ChangeFeed | Redis> = [];
  afterEach(async () => {
    for (const x of opened.splice(0)) {
      if (x instanceof Redis) x.disconnect();
      else await x.close();
    }
  });

  const queueName = () => `cf-${randomBytes(6).toString('hex')}`;
  /** A feed on its own connections, as one process of a deployment would open it. */
  async function open(queue: string, logger: Logger = silentLogger): Promise<RedisChangeFeed> {
    const feed = await openChangeFeed({ redisUrl: testRedisUrl() }, { queueName: queue, logger });
    if (!(feed instanceof RedisChangeFeed)) throw new Error('openChangeFeed with a Redis URL should give a RedisChangeFeed');
    opened.push(feed);
    return feed;
  }
  function rawRedis(): Redis {
    const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    opened.push(r);
    return r;
  }
  async function subscribers(channel: string): Promise<number> {
    const [, n] = (await rawRedis().pubsub('NUMSUB', channel)) as [string, number];
    return Number(n);
  }

  it('carries a publish in one process to the subscribers of another', async () => {
    const queue = queueName();
    const worker = await open(queue);
    const api = await open(queue);
    expect(api.channel).toBe(changeChannel({ queueName: queue }));
    const heard = recorder();
    api.subscribe(heard.listener, heard.onMissed);
    // The first time the subscription takes effect counts as a possible miss (anything cached before it).
    await until(() => heard.missed === 1, 'the subscription to take effect');

    await worker.publish(['social.manual_posts']);
    await until(() => heard.heard.length === 1, 'the change to arrive');
    expect(heard.heard).toEqual([['social.manual_posts']]);

    await worker.publish(['web.ga4_daily', 'web.page_daily']);
    await until(() => heard.heard.length === 2, 'the second change to arrive');
    expect(heard.heard[1]).toEqual(['web.ga4_daily', 'web.page_daily']);
    expect(heard.missed).toBe(1);
  });

  it('tells its own process at once, and not a second time when its message comes back through Redis', async () => {
    const queue = queueName();
    const feed = await open(queue);
    const other = await open(queue);
    const own = recorder();
    feed.subscribe(own.listener, own.onMissed);
    await until(() => own.missed === 1, 'the subscription to take effect');

    const published = feed.publish(['social.manual_posts']);
    expect(own.heard).toEqual([['social.manual_posts']]);
    await published;
    // Redis sends one subscriber its messages in publish order: once the later marker arrives, an echo
    // of the first would have arrived before it.
    await other.publish(['marker.table']);
    await until(() => own.heard.length >= 2, 'the marker to arrive');
    expect(own.heard).toEqual([['social.manual_posts'], ['marker.table']]);
  });

  it('ignores messages on its channel that are not valid changes, and logs them', async () => {
    const queue = queueName();
    const log = warningsLogger();
    const api = await open(queue, log);
    const worker = await open(queue);
    const heard = recorder();
    api.subscribe(heard.listener, heard.onMissed);
    await until(() => heard.missed === 1, 'the subscription to take effect');

    const raw = rawRedis();
    const bad = [
      'not json',
      '[]',
      'null',
      '{"v":1,"origin":"x","tables":"social.manual_posts"}',
      '{"v":1,"origin":"x","tables":[]}',
      '{"v":1,"origin":"x","tables":[1]}',
      '{"v":1,"origin":"x","tables":[""]}',
      '{"v":2,"origin":"x","tables":["t"]}',
      '{"v":1,"tables":["t"]}',
      JSON.stringify({ v: 1, origin: 'x', tables: Array.from({ length: 1001 }, (_, i) => `t${i}`) }),
      JSON.stringify({ v: 1, origin: 'x', tables: ['t'], padding: 'x'.repeat(300_000) }),
    ];
    for (const message of bad) await raw.publish(api.channel, message);
    await worker.publish(['social.manual_posts']);
    await until(() => heard.heard.length === 1, 'the valid change to arrive');
    expect(heard.heard).toEqual([['social.manual_posts']]);
    expect(log.warnings.filter((w) => /not a valid change/.test(w))).toHaveLength(bad.length);
  });

  it('resubscribes after its connection is killed, and reports the possible miss', async () => {
    const queue = queueName();
    const api = await open(queue);
    const worker = await open(queue);
    const heard = recorder();
    api.subscribe(heard.listener, heard.onMissed);
    await until(() => heard.missed === 1, 'the subscription to take effect');

    const raw = rawRedis();
    const name = `sextant:${queue}:changes-sub`;
    const list = (await raw.client('LIST')) as string;
    const ids = list.split('\n').filter((l) => l.includes(` name=${name} `)).map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1]);
    expect(ids).toHaveLength(1);
    await raw.client('KILL', 'ID', ids[0] as string);

    await until(() => heard.missed === 2, 'the subscription to take effect again');
    await worker.publish(['social.manual_posts']);
    await until(() => heard.heard.length === 1, 'a change after the reconnect to arrive');
    expect(heard.heard).toEqual([['social.manual_posts']]);
  });

  it('stops listening on close: its subscription leaves Redis, and it refuses further use', async () => {
    const queue = queueName();
    const api = await open(queue);
    const worker = await open(queue);
    const heard = recorder();
    const off = api.subscribe(heard.listener, heard.onMissed);
    await until(() => heard.missed === 1, 'the subscription to take effect');
    expect(await subscribers(api.channel)).toBe(1);

    // Unsubscribing a listener stops its deliveries (the connection stays for other listeners).
    off();
    const other = recorder();
    api.subscribe(other.listener);
    await worker.publish(['t1']);
    await until(() => other.heard.length === 1, 'the change to reach the remaining listener');
    expect(heard.heard).toEqual([]);

    await api.close();
    await until(async () => (await subscribers(api.channel)) === 0, 'the closed feed to leave the channel');
    await expect(api.publish(['t2'])).rejects.toThrow(/closed/);
    expect(() => api.subscribe(heard.listener)).toThrow(/closed/);
    // Publishing with nobody listening is not an error.
    await worker.publish(['t3']);
    expect(other.heard).toEqual([['t1']]);
  });

  it('fails a publish with ChangeFeedUnavailableError when Redis cannot be reached, after telling its own process', async () => {
    const feed = new RedisChangeFeed({ connection: `redis://127.0.0.1:${await freePort()}`, channel: 'cf-unreachable', logger: silentLogger });
    opened.push(feed);
    const own = recorder();
    feed.subscribe(own.listener);
    await expect(feed.publish(['social.manual_posts'])).rejects.toBeInstanceOf(ChangeFeedUnavailableError);
    expect(own.heard).toEqual([['social.manual_posts']]);
  });
});
