/**
 * A small cache of query results across requests, keyed by the SQL and its parameters and tagged by
 * the tables the query read. Ingestion calls {@link ResultCache.invalidateTables} after a load commits,
 * so a cached number is never older than the last load this process knows of — and with Redis, loads
 * of workers in other processes arrive through the change feed (src/jobs/change-feed/). The TTL only
 * bounds staleness from writers outside Sextant.
 */
import type { Row } from '../warehouse/port.js';

export interface CachedResult {
  rows: Row[];
  /** When the rows were read from the warehouse. */
  computedAt: Date;
}

interface Entry extends CachedResult {
  tables: string[];
  expiresAt: number;
}

export interface ResultCacheOptions {
  /** Entries kept at most; the least recently used goes first (default 500). */
  maxEntries?: number;
  /** Time to live in ms (default 60 s); 0 disables caching. */
  ttlMs?: number;
  /**
   * Rows kept across all entries (default 200,000): a few large answers must not hold the heap. A
   * result larger than this on its own is not cached.
   */
  maxTotalRows?: number;
  /** Clock, for tests of expiry. */
  now?: () => number;
  /** Told of every lookup while caching is on: found (`true`) or not (`/metrics` counts them). */
  onLookup?: (hit: boolean) => void;
}

/** `"social"."Post_Daily"` and `social.post_daily` name the same table for invalidation purposes. */
export function normaliseTable(table: string): string {
  return table.replace(/"/g, '').toLowerCase();
}

export class ResultCache {
  private readonly entries = new Map<string, Entry>();
  /** Invalidation counters per table: a result computed across an invalidation is not stored. */
  private readonly versions = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxTotalRows: number;
  private totalRows = 0;
  private invalidations = 0;
  private cleared = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onLookup: ((hit: boolean) => void) | undefined;

  constructor(options: ResultCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 500;
    this.maxTotalRows = options.maxTotalRows ?? 200_000;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.onLookup = this.ttlMs > 0 ? options.onLookup : undefined;
  }

  /** The cache key of a statement. */
  static key(sql: string, params: readonly unknown[]): string {
    return JSON.stringify([sql, params]);
  }

  /** A token to pass to {@link set}: it changes whenever one of `tables` is invalidated. */
  version(tables: readonly string[]): number {
    return tables.reduce((sum, t) => sum + (this.versions.get(normaliseTable(t)) ?? 0), 0);
  }

  /** False when caching is off (a TTL of 0: SEXTANT_RESULT_CACHE=off). */
  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** When an answer computed at `computedAt` (ms since the epoch) stops being served from a cache. */
  expiryOf(computedAt: number): number {
    return computedAt + this.ttlMs;
  }

  /** Counts invalidations of any table: unchanged between two reads, no table's data version moved. */
  get generation(): number {
    return this.invalidations;
  }

  /** Counts {@link clear}s: what was built on the cache's entries goes with them. */
  get epoch(): number {
    return this.cleared;
  }

  /** The cache's clock (ms since the epoch). */
  clock(): number {
    return this.now();
  }

  /** Counts a hit of a cache built on this one (the response cache) where `/metrics` counts lookups. */
  recordHit(): void {
    this.onLookup?.(true);
  }

  get(key: string): CachedResult | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) {
      if (entry) this.remove(key);
      this.onLookup?.(false);
      return undefined;
    }
    this.onLookup?.(true);
    // Re-insert to mark it most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { rows: entry.rows, computedAt: entry.computedAt };
  }

  /** Stores a result unless one of its tables was invalidated since `version` was taken. */
  set(key: string, tables: readonly string[], result: CachedResult, version: number): void {
    if (this.ttlMs <= 0 || this.version(tables) !== version || result.rows.length > this.maxTotalRows) return;
    this.remove(key);
    this.entries.set(key, { ...result, tables: tables.map(normaliseTable), expiresAt: this.now() + this.ttlMs });
    this.totalRows += result.rows.length;
    while (this.entries.size > this.maxEntries || this.totalRows > this.maxTotalRows) {
      this.remove(this.entries.keys().next().value as string);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalRows -= entry.rows.length;
  }

  /** Drops every cached result that read one of `tables` (call after a load commits). */
  invalidateTables(tables: readonly string[]): void {
    const names = new Set(tables.map(normaliseTable));
    this.invalidations++;
    for (const name of names) this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
    for (const [key, entry] of [...this.entries]) {
      if (entry.tables.some((t) => names.has(t))) this.remove(key);
    }
  }

  clear(): void {
    this.cleared++;
    this.entries.clear();
    this.totalRows = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
