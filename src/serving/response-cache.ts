/**
 * Whole GraphQL responses of metrics questions, kept across requests so that a dashboard asking the
 * same thing again is answered without parsing, validating or executing it. An entry is keyed by the
 * asker's scope (the teams its key reads: never served to another scope) and the request (operation
 * text, variables, operation name), and is served only while the tables its answers read keep the
 * data version they had when it was computed: a load (in this process or announced on the change feed)
 * bumps that version through {@link ResultCache.invalidateTables}, so the first request after it is
 * answered anew. It follows the result cache's setting and TTL (SEXTANT_RESULT_CACHE).
 */
import { ResultCache } from './result-cache.js';

/** A response as sent: status, headers and the JSON body. */
export interface CachedResponse {
  status: number;
  headers: ReadonlyArray<readonly [string, string]>;
  body: string;
}

interface Entry extends CachedResponse {
  tables: readonly string[];
  version: number;
  /** The result cache's {@link ResultCache.epoch}: clearing it drops these too. */
  epoch: number;
  expiresAt: number;
}

export interface ResponseCacheOptions {
  /** Entries kept at most; the least recently used goes first (default 500). */
  maxEntries?: number;
  /** Bytes of bodies kept across all entries (default 16 MB); a larger body is not kept. */
  maxBytes?: number;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;

  constructor(
    private readonly results: ResultCache,
    options: ResponseCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 500;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  get enabled(): boolean {
    return this.results.enabled;
  }

  /** The key of a request: the scope first, so that no two scopes can share an entry. */
  static key(scope: string, query: string, variables: unknown, operationName: unknown): string {
    return JSON.stringify([scope, query, variables ?? null, operationName ?? null]);
  }

  /** Take it before answering and hand it to {@link set}: it moves with every load of any table. */
  generation(): number {
    return this.results.generation;
  }

  get(key: string): CachedResponse | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.results.clock() || entry.epoch !== this.results.epoch || this.results.version(entry.tables) !== entry.version) {
      this.remove(key);
      return undefined;
    }
    // Re-insert to mark it most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.results.recordHit();
    return entry;
  }

  /**
   * Keeps a response whose answers read `tables`, computed from the warehouse at `computedAt` (the
   * oldest answer's, ms since the epoch), unless any table changed since `generation` was taken.
   */
  set(key: string, tables: readonly string[], generation: number, computedAt: number, response: CachedResponse): void {
    if (!this.enabled || this.results.generation !== generation || response.body.length > this.maxBytes) return;
    this.remove(key);
    const version = this.results.version(tables);
    this.entries.set(key, { ...response, tables: [...tables], version, epoch: this.results.epoch, expiresAt: this.results.expiryOf(computedAt) });
    this.bytes += response.body.length;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      this.remove(this.entries.keys().next().value as string);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.body.length;
  }
}
