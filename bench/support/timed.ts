/**
 * Where a bench run's time goes: wraps async methods so that each call's wall time is added to a named
 * total (calls that overlap each count in full, so the totals may add up to more than the run).
 */
export function timeSpent<K extends string>(keys: readonly K[]): {
  spent: Record<K, number>;
  timed: <A extends unknown[], R>(key: K, fn: (...a: A) => Promise<R>) => (...a: A) => Promise<R>;
} {
  const spent = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  const timed = <A extends unknown[], R>(key: K, fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    const t = performance.now();
    try {
      return await fn(...a);
    } finally {
      spent[key] += performance.now() - t;
    }
  };
  return { spent, timed };
}
