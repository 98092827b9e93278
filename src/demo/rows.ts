/**
 * Shared shapes and helpers of the row generators.
 */
import type { SqlValue } from '../warehouse/port.js';
import type { Rng } from './random.js';

/** One generated row, by column name; missing columns are written as null. */
export type DemoRow = Record<string, SqlValue>;

/** Produces exactly `count` rows of one table, deterministically from `seed`. */
export type RowGenerator = (count: number, seed: number) => Iterable<DemoRow>;

/** A decimal as text with two places (how ingestion passes decimals: no binary rounding on the way). */
export function money(x: number): string {
  return (Math.round(x * 100) / 100).toFixed(2);
}

/**
 * Chooses `k` distinct indices of `weights` at random, heavier ones more often (Efraimidis–Spirakis
 * keys), returned in ascending order so that rows come out in a stable, readable order.
 */
export function chooseWeighted(rng: Rng, weights: readonly number[], k: number): number[] {
  const n = weights.length;
  if (k <= 0) return [];
  if (k >= n) return weights.map((_, i) => i);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = -Math.log(1 - rng.next()) / weights[i];
  const threshold = kthSmallest(keys.slice(), k - 1);
  const chosen: number[] = [];
  for (let i = 0; i < n && chosen.length < k; i++) if (keys[i] <= threshold) chosen.push(i);
  return chosen;
}

/** The k-th smallest value (0-based) of `a`, which is reordered (Hoare's quickselect). */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Splits `count` rows over `entities` series of at most `days` days each; each series keeps its most recent days. */
export function tailLengths(count: number, entities: number, days: number): number[] {
  const base = Math.floor(count / entities);
  const extra = count - base * entities;
  return Array.from({ length: entities }, (_, i) => Math.min(days, base + (i < extra ? 1 : 0)));
}
