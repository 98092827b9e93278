import { describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/serving/result-cache.js';

const rows = (n: number) => [{ n }];

describe('ResultCache', () => {
  it('returns what was stored until a table it read is invalidated', () => {
    const cache = new ResultCache();
    const key = ResultCache.key('select 1', [1]);
    cache.set(key, ['social.post_daily'], { rows: rows(1), computedAt: new Date(0) }, cache.version(['social.post_daily']));
    expect(cache.get(key)?.rows).toEqual(rows(1));
    cache.invalidateTables(['email.campaign_daily']);
    expect(cache.get(key)?.rows).toEqual(rows(1));
    cache.invalidateTables(['"social"."POST_DAILY"']);
    expect(cache.get(key)).toBeUndefined();
  });

  it('does not store a result computed across an invalidation of its tables', () => {
    const cache = new ResultCache();
    const key = ResultCache.key('select 2', []);
    const version = cache.version(['social.post_daily']);
    cache.invalidateTables(['social.post_daily']);
    cache.set(key, ['social.post_daily'], { rows: rows(2), computedAt: new Date(0) }, version);
    expect(cache.get(key)).toBeUndefined();
  });

  it('expires entries after the TTL and drops the least recently used past the size limit', () => {
    let now = 1000;
    const cache = new ResultCache({ ttlMs: 100, maxEntries: 2, now: () => now });
    const put = (k: string) => cache.set(k, ['t'], { rows: rows(1), computedAt: new Date(now) }, cache.version(['t']));
    put('a');
    put('b');
    expect(cache.get('a')).toBeDefined(); // a is now more recent than b
    put('c');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    now += 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('stores nothing with a TTL of 0', () => {
    const cache = new ResultCache({ ttlMs: 0 });
    cache.set('k', ['t'], { rows: rows(1), computedAt: new Date(0) }, cache.version(['t']));
    expect(cache.get('k')).toBeUndefined();
  });

  it('keys statements by SQL and parameters', () => {
    expect(ResultCache.key('select $1', [1])).not.toBe(ResultCache.key('select $1', ['1']));
  });
});

describe('ResultCache row budget', () => {
  it('evicts the least recently used entries to stay within the row budget, and skips a result larger than it', () => {
    const cache = new ResultCache({ maxTotalRows: 5 });
    const put = (k: string, n: number) => cache.set(k, ['t'], { rows: Array.from({ length: n }, (_, i) => ({ i })), computedAt: new Date(0) }, cache.version(['t']));
    put('a', 2);
    put('b', 2);
    put('c', 2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.rows).toHaveLength(2);
    expect(cache.get('c')?.rows).toHaveLength(2);
    put('huge', 6);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.invalidateTables(['t']);
    expect(cache.size).toBe(0);
    put('d', 5);
    expect(cache.get('d')?.rows).toHaveLength(5);
  });
});
