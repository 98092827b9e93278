/**
 * tee(): two consumers of one stream of batches see the same batches, the source is read once and
 * never more than MAX_AHEAD batches ahead of the slower consumer, a consumer that stops does not hold
 * the other back, and a source error reaches both.
 */
import { describe, expect, it } from 'vitest';
import { MAX_AHEAD, tee } from '../../src/exports/tee.js';

async function collect<T>(it: AsyncIterable<T>, delayMs = 0): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) {
    out.push(v);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
  return out;
}

describe('tee', () => {
  it('gives both consumers every batch, reading the source once and no further ahead than MAX_AHEAD', async () => {
    let pulled = 0;
    let slowTaken = 0;
    let maxLead = 0;
    async function* source() {
      for (let i = 0; i < 50; i++) {
        pulled++;
        maxLead = Math.max(maxLead, pulled - slowTaken);
        yield i;
      }
    }
    const [a, b] = tee(source());
    const slow = (async () => {
      const out: number[] = [];
      for await (const v of b) {
        out.push(v);
        slowTaken++;
        await new Promise((r) => setTimeout(r, 2));
      }
      return out;
    })();
    const [fast, slowOut] = await Promise.all([collect(a), slow]);
    const all = Array.from({ length: 50 }, (_, i) => i);
    expect(fast).toEqual(all);
    expect(slowOut).toEqual(all);
    expect(pulled).toBe(50);
    expect(maxLead).toBeLessThanOrEqual(MAX_AHEAD + 1);
  });

  it('lets one consumer finish alone when the other stops early', async () => {
    async function* source() {
      for (let i = 0; i < 20; i++) yield i;
    }
    const [a, b] = tee(source());
    const stopper = (async () => {
      for await (const v of b) if (v === 2) break;
    })();
    const [rest] = await Promise.all([collect(a, 1), stopper]);
    expect(rest).toHaveLength(20);
  });

  it('hands a source error to both consumers', async () => {
    async function* source() {
      yield 1;
      throw new Error('warehouse went away');
    }
    const [a, b] = tee(source());
    const results = await Promise.allSettled([collect(a), collect(b)]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual(['warehouse went away', 'warehouse went away']);
  });
});
