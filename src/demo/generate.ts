/**
 * The demo-data generator: fills the example project's tables with two years of deterministic,
 * real-looking rows so that a fresh checkout serves numbers offline (`npm start`, `sextant demo`).
 *
 * Writes through the Warehouse port only (ensureTable, then merge), streaming rows in batches:
 * 10 million rows never sit in memory. Merging makes it idempotent: running it twice with the same
 * seed leaves the tables exactly as one run would.
 */
import { UserError } from '../errors.js';
import type { SqlValue, TableSpec, Warehouse } from '../warehouse/port.js';
import { DEMO_DAYS, DEMO_LOADED_AT } from './calendar.js';
import { campaignDailyRows, listDailyRows, manualCampaignRows } from './email.js';
import { BRAND_DAILY_MAX_ROWS, brandDailyRows, CLIPPINGS_MAX_ROWS, manualMentionRows, mentionDailyRows, MENTIONS_MAX_ROWS } from './listening.js';
import type { DemoRow, RowGenerator } from './rows.js';
import { accountDailyRows, accountRows, manualPostRows, postDailyRows } from './social.js';
import { EMAIL_LISTS, SOCIAL_ACCOUNT_LIST } from './catalog.js';
import * as T from './tables.js';
import { GA4_MAX_ROWS, ga4DailyRows, MANUAL_SESSIONS_MAX_ROWS, manualSessionRows, PAGE_MAX_ROWS, pageDailyRows } from './web.js';

/** Options of {@link generateDemo}. */
export interface DemoOptions {
  /** Total fact rows across the fact tables; most go to social.post_daily. */
  rows: number;
  /** Seed of the generator (default 1): the same seed always gives the same rows. */
  seed?: number;
  /** Called as rows are written, with the rows done and the total to write (accounts included). */
  onProgress?: (done: number, total: number) => void;
  /** Rows per merge (default {@link MERGE_CHUNK_ROWS}); the contents do not depend on it. */
  chunkRows?: number;
}

/** What {@link generateDemo} wrote. */
export interface DemoResult {
  /** Rows written per table (`schema.table`). */
  tables: Record<string, number>;
}

/** Default `rows`: enough to look alive, quick enough for `npm start`. */
export const DEFAULT_DEMO_ROWS = 200_000;
/** Rows per merge: bounds the size of one staged batch and one transaction. */
export const MERGE_CHUNK_ROWS = 1_000_000;
/** Merges running at once (one staging while the other is merged by the database). */
const MERGES_IN_FLIGHT = 2;
/** Largest `rows` accepted. */
export const MAX_DEMO_ROWS = 100_000_000;

const LINEAGE: readonly SqlValue[] = ['demo', DEMO_LOADED_AT, 'demo'];

interface TablePlan {
  spec: TableSpec;
  /** Share of `rows` this table gets. */
  share: number;
  /** Most rows the generator can produce for this table. */
  max: number;
  rows: RowGenerator;
}

/** The fact tables other than social.post_daily, which takes whatever `rows` leaves. */
const FACT_PLANS: readonly TablePlan[] = [
  { spec: T.SOCIAL_ACCOUNT_DAILY, share: 0.035, max: SOCIAL_ACCOUNT_LIST.length * DEMO_DAYS, rows: accountDailyRows },
  { spec: T.SOCIAL_MANUAL_POSTS, share: 0.005, max: Infinity, rows: manualPostRows },
  { spec: T.WEB_GA4_DAILY, share: 0.08, max: GA4_MAX_ROWS, rows: ga4DailyRows },
  { spec: T.WEB_PAGE_DAILY, share: 0.03, max: PAGE_MAX_ROWS, rows: pageDailyRows },
  { spec: T.WEB_MANUAL_SESSIONS, share: 0.003, max: MANUAL_SESSIONS_MAX_ROWS, rows: manualSessionRows },
  { spec: T.EMAIL_CAMPAIGN_DAILY, share: 0.02, max: Infinity, rows: campaignDailyRows },
  { spec: T.EMAIL_LIST_DAILY, share: 0.02, max: EMAIL_LISTS.length * DEMO_DAYS, rows: listDailyRows },
  { spec: T.EMAIL_MANUAL_CAMPAIGNS, share: 0.001, max: Infinity, rows: manualCampaignRows },
  { spec: T.LISTENING_MENTIONS_DAILY, share: 0.06, max: MENTIONS_MAX_ROWS, rows: mentionDailyRows },
  { spec: T.LISTENING_BRAND_DAILY, share: 0.066, max: BRAND_DAILY_MAX_ROWS, rows: brandDailyRows },
  { spec: T.LISTENING_MANUAL_MENTIONS, share: 0.002, max: CLIPPINGS_MAX_ROWS, rows: manualMentionRows },
];

/**
 * How many rows each table gets for a given `rows`: every fact table its share (capped at what its
 * calendar can hold), social.post_daily the rest. The fact tables add up to exactly `rows`; the
 * accounts dimension comes on top.
 */
export function planDemo(rows: number): Record<string, number> {
  const plan: Record<string, number> = { [T.SOCIAL_ACCOUNTS.table]: SOCIAL_ACCOUNT_LIST.length };
  let others = 0;
  for (const p of FACT_PLANS) {
    const n = Math.min(p.max, Math.floor(rows * p.share));
    plan[p.spec.table] = n;
    others += n;
  }
  plan[T.SOCIAL_POST_DAILY.table] = rows - others;
  return plan;
}

function generatorOf(spec: TableSpec): (count: number, seed: number) => Iterable<DemoRow> {
  if (spec === T.SOCIAL_ACCOUNTS) return () => accountRows();
  if (spec === T.SOCIAL_POST_DAILY) return postDailyRows;
  const plan = FACT_PLANS.find((p) => p.spec === spec);
  if (!plan) throw new Error(`no demo generator for ${spec.table}`);
  return plan.rows;
}

/** Orders a generated row by the spec's columns and appends the lineage values. */
function toValues(own: readonly string[], row: DemoRow): SqlValue[] {
  const out = new Array<SqlValue>(own.length + LINEAGE.length);
  for (let i = 0; i < own.length; i++) out[i] = row[own[i]] ?? null;
  for (let i = 0; i < LINEAGE.length; i++) out[own.length + i] = LINEAGE[i];
  return out;
}

/** Fails loudly when a generator's row does not fit its table: a misspelt column would otherwise become a silent null. */
function checkShape(spec: TableSpec, row: DemoRow): void {
  const names = new Set(spec.columns.map((c) => c.name));
  const unknown = Object.keys(row).filter((k) => !names.has(k));
  const missing = spec.columns.filter((c) => c.required && !c.name.startsWith('_') && (row[c.name] === undefined || row[c.name] === null));
  if (unknown.length > 0 || missing.length > 0) {
    throw new Error(`demo row for ${spec.table} does not fit its spec: unknown ${unknown.join(', ') || '-'}; missing ${missing.map((c) => c.name).join(', ') || '-'}`);
  }
}

const PROGRESS_EVERY = 50_000;

/**
 * Generates the demo data into `warehouse`. Deterministic: the same `rows` and `seed` always give
 * the same table contents, whatever the date or the machine.
 */
export async function generateDemo(warehouse: Warehouse, options: DemoOptions): Promise<DemoResult> {
  const { rows, seed = 1, onProgress } = options;
  const chunkRows = Math.max(1, Math.floor(options.chunkRows ?? MERGE_CHUNK_ROWS));
  if (!Number.isSafeInteger(rows) || rows < 0 || rows > MAX_DEMO_ROWS) {
    throw new UserError('BAD_USER_INPUT', `demo rows must be a whole number from 0 to ${MAX_DEMO_ROWS.toLocaleString('en')}, got ${String(rows)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new UserError('BAD_USER_INPUT', `demo seed must be a whole number, got ${String(seed)}`);

  const plan = planDemo(rows);
  const total = Object.values(plan).reduce((s, n) => s + n, 0);
  for (const spec of T.DEMO_TABLES) await warehouse.ensureTable(spec);

  const written: Record<string, number> = {};
  let done = 0;
  let lastReported = 0;
  const report = (force: boolean): void => {
    if (onProgress && (force || done - lastReported >= PROGRESS_EVERY)) {
      lastReported = done;
      onProgress(done, total);
    }
  };
  report(true);

  // Merges in flight, at most MERGES_IN_FLIGHT: the generator is sequential, but once a merge has taken
  // all its rows (its staging is done) the database still has to merge them, and the next chunk can be
  // generated and staged meanwhile, on another connection (PostgreSQL). Chunks never share a key, so
  // the order in which they commit does not change the tables. DuckDB serialises its merges anyway.
  const inFlight = new Set<Promise<unknown>>();
  let failure: { err: unknown } | undefined;
  try {
    for (const spec of T.DEMO_TABLES) {
      const count = plan[spec.table];
      written[spec.table] = 0;
      if (count === 0) continue;
      const own = spec.columns.filter((c) => !c.name.startsWith('_')).map((c) => c.name);
      const columns = spec.columns.map((c) => c.name);
      const source = generatorOf(spec)(count, seed)[Symbol.iterator]();
      let next = source.next();
      if (!next.done) checkShape(spec, next.value);

      // One merge per chunk: a 10-million-row table is staged and merged a million rows at a time.
      // The chunk is a plain (synchronous) generator: an async one costs a promise per row, about a
      // third of the generation time; the adapters yield to the event loop while they stage.
      while (!next.done) {
        let taken!: () => void;
        const allTaken = new Promise<void>((resolve) => (taken = resolve));
        const chunk = function* (): Generator<readonly SqlValue[]> {
          try {
            for (let i = 0; i < chunkRows && !next.done; i++) {
              const values = toValues(own, next.value);
              next = source.next();
              written[spec.table]++;
              done++;
              if (done % PROGRESS_EVERY === 0) report(false);
              yield values;
            }
          } finally {
            taken();
          }
        };
        const merging = warehouse.merge({ spec, columns, rows: chunk() });
        inFlight.add(merging);
        void merging.then(
          () => inFlight.delete(merging),
          (err: unknown) => (failure ??= { err }),
        );
        // The next chunk reads the same generator: wait until this merge has taken its rows (or failed).
        await Promise.race([allTaken, merging]);
        while (inFlight.size >= MERGES_IN_FLIGHT) await Promise.race(inFlight);
        // A merge that failed after taking its rows stops the generation before the next chunk.
        if (failure) throw failure.err;
      }
      report(true);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
  } catch (err) {
    // Leave nothing running behind the failure: the other merge commits or fails on its own.
    await Promise.allSettled(inFlight);
    throw err;
  }
  report(true);
  return { tables: written };
}

/** True when the demo (or real data) is already in place: social.post_daily exists and has rows. */
export async function demoIsLoaded(warehouse: Warehouse): Promise<boolean> {
  const table = T.SOCIAL_POST_DAILY.table;
  if ((await warehouse.describeTable(table)) === undefined) return false;
  const rows = await warehouse.query(`SELECT 1 AS present FROM ${warehouse.dialect.quoteTable(table)} LIMIT 1`);
  return rows.length > 0;
}
