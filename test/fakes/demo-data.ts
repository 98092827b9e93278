/**
 * The fakes' data: the demo generator's own rows (src/demo/), so that what a fake serves for a
 * window is what `sextant demo` puts in the table for that window. The same `rows` and `seed` as
 * the demo (defaults: the demo's defaults) give the same rows.
 *
 * Fakes also "restate" data on request, as the real APIs do (GA4 reprocesses the last 48 hours,
 * Mailchimp counters keep growing, Crimson Hexagon regenerates results): `restate` changes the
 * counts of the rows in a date range, so a test can re-pull an overlapping window and check that the
 * new values replace the old.
 */
import { DEFAULT_DEMO_ROWS, planDemo } from '../../src/demo/generate.js';
import { campaignDailyRows, listDailyRows } from '../../src/demo/email.js';
import { brandDailyRows, mentionDailyRows } from '../../src/demo/listening.js';
import type { DemoRow } from '../../src/demo/rows.js';
import { accountDailyRows, postDailyRows } from '../../src/demo/social.js';
import { ga4DailyRows, pageDailyRows } from '../../src/demo/web.js';

/** Which demo the fakes agree with. */
export interface DemoDataOptions {
  /** The demo's `rows` (default {@link DEFAULT_DEMO_ROWS}, as `sextant demo`). */
  rows?: number;
  /** The demo's `seed` (default 1). */
  seed?: number;
}

const GENERATORS = {
  'web.ga4_daily': ga4DailyRows,
  'web.page_daily': pageDailyRows,
  'email.campaign_daily': campaignDailyRows,
  'email.list_daily': listDailyRows,
  'listening.mentions_daily': mentionDailyRows,
  'listening.brand_daily': brandDailyRows,
  'social.post_daily': postDailyRows,
  'social.account_daily': accountDailyRows,
} as const;

/** The demo tables the fakes serve. */
export type FakeTable = keyof typeof GENERATORS;

const cache = new Map<string, readonly DemoRow[]>();

/** Every demo row of `table` (memoised per table, rows and seed; a few thousand rows at the defaults). */
export function demoRows(table: FakeTable, options: DemoDataOptions = {}): readonly DemoRow[] {
  const rows = options.rows ?? DEFAULT_DEMO_ROWS;
  const seed = options.seed ?? 1;
  const key = `${table}|${rows}|${seed}`;
  let out = cache.get(key);
  if (!out) {
    out = Object.freeze([...GENERATORS[table](planDemo(rows)[table], seed)].map((r) => Object.freeze(r)));
    cache.set(key, out);
  }
  return out;
}

/** A change of data after the fact: the counts of rows dated `from`…`to` (inclusive) multiplied by `factor`. */
export interface Restatement {
  from: string;
  to: string;
  factor: number;
}

/**
 * A row with the restatements that cover `date` applied to `counts` (whole numbers stay whole;
 * text decimals keep two places). Rows outside every restatement come back unchanged.
 */
export function restate(row: DemoRow, date: string, counts: readonly string[], restatements: readonly Restatement[]): DemoRow {
  let out = row;
  for (const r of restatements) {
    if (date < r.from || date > r.to) continue;
    out = { ...out };
    for (const c of counts) {
      const v = out[c];
      if (typeof v === 'number') out[c] = Math.round(v * r.factor);
      else if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) out[c] = (Math.round(Number(v) * r.factor * 100) / 100).toFixed(2);
    }
  }
  return out;
}

/** Days from `from` to `to` inclusive, as `YYYY-MM-DD`. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** `YYYY-MM-DD` plus `n` days. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}
