/**
 * Integer allocation: how the demo hits an exact row count while keeping the shapes of real data
 * (more rows on busy days, posts that live for a few weeks).
 */

/**
 * Splits `total` into integers proportional to `weights`, none above `cap` (largest remainder,
 * water-filling the capped share onto the others). The parts sum to `total` unless the caps cannot
 * hold it, in which case every part is at its cap.
 */
export function allocate(total: number, weights: readonly number[], cap = Infinity): number[] {
  const out = new Array<number>(weights.length).fill(0);
  let remaining = Math.max(0, Math.floor(total));
  let open = weights.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
  while (remaining > 0 && open.length > 0) {
    const sum = open.reduce((s, i) => s + weights[i], 0);
    const over = open.filter((i) => (remaining * weights[i]) / sum > cap);
    if (over.length > 0) {
      // Fill the parts that would overflow to their cap, then share the rest among the others.
      for (const i of over) {
        out[i] = cap;
        remaining -= cap;
      }
      open = open.filter((i) => !over.includes(i));
      continue;
    }
    const exact = open.map((i) => (remaining * weights[i]) / sum);
    let given = 0;
    open.forEach((i, k) => {
      out[i] = Math.floor(exact[k]);
      given += out[i];
    });
    const byRemainder = open.map((i, k) => [i, exact[k] - out[i]] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (let k = 0; k < remaining - given; k++) out[byRemainder[k][0]]++;
    remaining = 0;
  }
  return out;
}

/**
 * How many items start on each day when every item started on day `d` yields `lifetime(d)` rows
 * and the rows, not the items, should follow `weights`. Carries the remainder from day to day, so
 * the rows add up to exactly `total` as long as the last day's lifetime is 1.
 */
export function startsForRows(total: number, weights: readonly number[], lifetime: (d: number) => number): number[] {
  const rowsPerDay = allocate(total, weights);
  const starts = new Array<number>(weights.length).fill(0);
  let carry = 0;
  for (let d = 0; d < weights.length; d++) {
    carry += rowsPerDay[d];
    const life = lifetime(d);
    if (life <= 0) continue;
    starts[d] = Math.floor(carry / life);
    carry -= starts[d] * life;
  }
  return starts;
}
