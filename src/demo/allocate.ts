/**
 * Integer allocation: how the demo hits an exact row count while keeping the shapes of real data
 * (more rows on busy days, posts that live for a few weeks).
 */

/**
 * Splits `total` into integers proportional to `weights`, none above `cap` (water-filling the
 * capped share onto the others, then rounding the running total). The parts sum to `total` unless the caps cannot
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
    // Cumulative rounding, not largest remainder: when the parts are below one on average (a few
    // campaigns over two years), largest remainder would put them all on the heaviest days; rounding
    // the running total spreads them evenly through the sequence.
    let cumulative = 0;
    let given = 0;
    open.forEach((i, k) => {
      cumulative += (remaining * weights[i]) / sum;
      const upTo = k === open.length - 1 ? remaining : Math.min(remaining, Math.round(cumulative));
      out[i] = Math.max(0, upTo - given);
      given += out[i];
    });
    // Rounding may lift a part one above its cap: move the excess to the next parts with room.
    let excess = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (const i of open) {
        out[i] += excess;
        excess = Math.max(0, out[i] - cap);
        out[i] -= excess;
      }
    }
    remaining = 0;
  }
  return out;
}

/**
 * How many items start on each day when every item started on day `d` yields `lifetime(d)` rows
 * (a post tracked for 28 days; fewer near the end of the range). Starts follow `weights` — posting
 * activity, not rows, is what is seasonal — and the rows add up to exactly `total`: the last few
 * rows come from one item started `k` days before the end, which lives exactly `k` days.
 */
export function startsForRows(total: number, weights: readonly number[], lifetime: (d: number) => number): number[] {
  const days = weights.length;
  const life = Array.from({ length: days }, (_, d) => Math.max(0, lifetime(d)));
  const fullLife = Math.max(0, ...life);
  const target = Math.max(0, Math.floor(total));
  if (target === 0 || fullLife === 0) return new Array<number>(days).fill(0);

  const weightSum = weights.reduce((s, w) => s + w, 0);
  const meanLife = weights.reduce((s, w, d) => s + w * life[d], 0) / weightSum;
  const starts = allocate(Math.floor(target / meanLife), weights);
  let missing = target - starts.reduce((s, n, d) => s + n * life[d], 0);

  // Correct the rounding: drop the longest-lived items while there are too many rows, add whole-life
  // items on the busiest full-life days while whole lives are missing, then one short-lived item.
  const byLife = weights
    .map((w, d) => [d, w] as const)
    .sort((a, b) => life[b[0]] - life[a[0]] || b[1] - a[1] || a[0] - b[0])
    .map(([d]) => d);
  for (let k = 0; missing < 0; k++) {
    const d = byLife[k % days];
    if (starts[d] > 0) {
      starts[d]--;
      missing += life[d];
    }
  }
  const fullDays = byLife.filter((d) => life[d] === fullLife);
  for (let k = 0; missing >= fullLife; k++) {
    starts[fullDays[k % fullDays.length]]++;
    missing -= fullLife;
  }
  if (missing > 0) {
    const day = life.indexOf(missing);
    if (day < 0) throw new Error(`no day whose lifetime is ${missing}: the range is shorter than a lifetime`);
    starts[day]++;
  }
  return starts;
}

/** Items started per day for a series of `days` days whose items are tracked for `tracked` days. */
export interface TrackedStarts {
  /** Day of `starts[0]`: negative, because items started before the range still have rows in it. */
  first: number;
  starts: number[];
}

/**
 * Like {@link startsForRows} for items tracked `tracked` days, including the items started in the
 * `tracked - 1` days before the range (only their days inside it count): without them the first
 * weeks would look empty, as if nothing had been posted before the first day.
 */
export function trackedStarts(total: number, weightOf: (d: number) => number, days: number, tracked: number): TrackedStarts {
  const first = -(tracked - 1);
  const weights = Array.from({ length: days + tracked - 1 }, (_, i) => weightOf(first + i));
  const starts = startsForRows(total, weights, (i) => rowsInRange(first + i, days, tracked));
  return { first, starts };
}

/** Days of an item started on day `d` and tracked `tracked` days that fall inside `[0, days)`. */
export function rowsInRange(d: number, days: number, tracked: number): number {
  return Math.max(0, Math.min(d + tracked, days) - Math.max(d, 0));
}
