/**
 * The statements that keep a rollup equal to its base table: a whole rebuild, or a refresh of the time
 * buckets a batch touched (deleted from the rollup, computed again from the base table). Each runs on
 * the caller's transaction: the load's own, or start-up's.
 */
import { rollupColumns, rollupSelect, type RollupLayout } from '../semantic/rollup-plan.js';
import type { SqlDialect, SqlRunner, TimeGrain } from '../warehouse/port.js';

/** More separate ranges than this and a refresh recomputes the whole rollup (one statement stays short). */
export const MAX_RANGES = 500;

/** A half-open range of bucket starts, UTC. */
export interface BucketRange {
  from: Date;
  to: Date;
}

/** The buckets a batch touched, as ranges, and whether it had rows without a time (the null bucket). */
export interface TouchedBuckets {
  ranges: BucketRange[];
  nullBucket: boolean;
}

/** The start of the next bucket of `grain` after the one starting at `start` (UTC; weeks are 7 days). */
export function nextBucket(start: Date, grain: TimeGrain): Date {
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth();
  switch (grain) {
    case 'hour':
      return new Date(start.getTime() + 3_600_000);
    case 'day':
      return new Date(start.getTime() + 86_400_000);
    case 'week':
      return new Date(start.getTime() + 7 * 86_400_000);
    case 'month':
      return new Date(Date.UTC(y, m + 1, 1));
    case 'quarter':
      return new Date(Date.UTC(y, m + 3, 1));
    case 'year':
      return new Date(Date.UTC(y + 1, 0, 1));
  }
}

/** Bucket starts as the warehouse returns them (`YYYY-MM-DD`, or an ISO timestamp at the hour grain) → merged ranges. */
export function bucketRanges(values: ReadonlyArray<unknown>, grain: TimeGrain): TouchedBuckets {
  let nullBucket = false;
  const starts: Date[] = [];
  for (const v of values) {
    if (v === null || v === undefined) {
      nullBucket = true;
      continue;
    }
    const text = String(v);
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
    if (Number.isNaN(d.getTime())) throw new Error(`unexpected bucket value ${text}`);
    starts.push(d);
  }
  starts.sort((a, b) => a.getTime() - b.getTime());
  const ranges: BucketRange[] = [];
  for (const s of starts) {
    const last = ranges[ranges.length - 1];
    if (last && last.to.getTime() >= s.getTime()) {
      const to = nextBucket(s, grain);
      if (to > last.to) last.to = to;
    } else ranges.push({ from: s, to: nextBucket(s, grain) });
  }
  return { ranges, nullBucket };
}

/** A UTC instant as a naive timestamp literal (the warehouse stores naive UTC). */
function timestampText(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** `(e >= $1 and e < $2) or … or e is null`, with its parameters appended to `params`. */
function inBuckets(expr: string, touched: TouchedBuckets, dialect: SqlDialect, params: unknown[]): string {
  const parts = touched.ranges.map((r) => {
    params.push(timestampText(r.from), timestampText(r.to));
    return `(${expr} >= ${dialect.param(params.length - 1, 'timestamp')} and ${expr} < ${dialect.param(params.length, 'timestamp')})`;
  });
  if (touched.nullBucket) parts.push(`${expr} is null`);
  return `(${parts.join(' or ')})`;
}

/** The buckets of a rollup's grain present in `staged` (a quoted table holding the batch), by its time column. */
export async function touchedBuckets(tx: SqlRunner, layout: RollupLayout, dialect: SqlDialect, staged: string, timeColumn: string): Promise<TouchedBuckets> {
  const q = dialect.quoteIdent('b');
  const rows = await tx.query(`select distinct ${dialect.truncTime(layout.rollup.grain, dialect.quoteIdent(timeColumn))} as ${q} from ${staged}`, []);
  return bucketRanges(rows.map((r) => r.b), layout.rollup.grain);
}

/** Deletes the touched buckets from the rollup and inserts them again, computed from the base table. */
export async function refreshBuckets(tx: SqlRunner, layout: RollupLayout, dialect: SqlDialect, touched: TouchedBuckets): Promise<void> {
  if (touched.ranges.length === 0 && !touched.nullBucket) return;
  const table = dialect.quoteTable(layout.table);
  const delParams: unknown[] = [];
  await tx.execute(`delete from ${table} where ${inBuckets(dialect.quoteIdent('_t'), touched, dialect, delParams)}`, delParams);
  const insParams: unknown[] = [];
  const select = rollupSelect(layout, dialect, (timeExpr) => inBuckets(timeExpr, touched, dialect, insParams));
  await tx.execute(`insert into ${table} (${rollupColumns(layout).map((c) => dialect.quoteIdent(c)).join(', ')}) ${select}`, insParams);
}

/** Recomputes the whole rollup into its existing table. */
export async function refreshAll(tx: SqlRunner, layout: RollupLayout, dialect: SqlDialect): Promise<void> {
  const table = dialect.quoteTable(layout.table);
  await tx.execute(`delete from ${table}`);
  await tx.execute(`insert into ${table} (${rollupColumns(layout).map((c) => dialect.quoteIdent(c)).join(', ')}) ${rollupSelect(layout, dialect)}`);
}

/** Creates (or re-creates) the rollup table with every row, from the base table. */
export async function createRollupTable(tx: SqlRunner, layout: RollupLayout, dialect: SqlDialect): Promise<void> {
  const table = dialect.quoteTable(layout.table);
  await tx.execute(`drop table if exists ${table}`);
  await tx.execute(`create table ${table} as ${rollupSelect(layout, dialect)}`);
}
