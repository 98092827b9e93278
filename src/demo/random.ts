/**
 * Deterministic randomness for the demo data. Two kinds:
 * - {@link Rng}, a sequential stream (mulberry32) for things generated in a fixed order;
 * - {@link noise}, a counter-based hash of integers, for values that must not depend on the order
 *   in which rows are produced (a follower count on a day is the same whether or not the days
 *   before it were written).
 */

/** murmur3's 32-bit finaliser: a good avalanche on one integer. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) determined only by the integers given. */
export function noise(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix(h ^ Math.imul((p | 0) + 0x632be5ab, 0x27d4eb2f)) ^ (h >>> 7);
  return fmix(h) / 4294967296;
}

/** A sequential seeded generator (mulberry32) with the few distributions the demo needs. */
export class Rng {
  private state: number;

  constructor(seed: number, stream = 0) {
    this.state = fmix((seed >>> 0) ^ fmix(stream + 1)) || 1;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  private spare: number | undefined;

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Log-normal with median 1: multiplicative noise of spread `sigma`. */
  spread(sigma: number): number {
    return Math.exp(sigma * this.normal());
  }

  /** An element of `items`, chosen with the given weights. */
  pick<T>(items: readonly T[], weights?: readonly number[]): T {
    if (!weights) return items[Math.floor(this.next() * items.length)];
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i];
      if (r < 0) return items[i];
    }
    return items[items.length - 1];
  }

  /** A count with mean `mean` (Poisson for small means, a rounded normal approximation above 12). */
  count(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean > 12) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > l) {
      k++;
      p *= this.next();
    }
    return k;
  }
}
