/**
 * The change feed: how a load in one process reaches the result caches of every API process.
 * Ingestion publishes the tables a load changed; each API process subscribes and drops its cached
 * results over those tables. Adapters: in-process (one process) and Redis pub/sub (`../bullmq/`).
 */

/** Hears the tables a load changed (names as in the targets, e.g. `social.manual_posts`). */
export type TablesChangedListener = (tables: string[]) => void;

/** The change feed port; see the module comment. */
export interface ChangeFeed {
  /**
   * Announces that a load committed changes to `tables`. Listeners of this process hear it before
   * the promise settles (synchronously, in `publish` itself); other processes' listeners hear it once
   * the back end delivered it. Ingestion awaits this before its job is reported SUCCEEDED.
   */
  publish(tables: string[]): Promise<void>;
  /**
   * Calls `listener` with the tables of every change published from now on. `onMissed` is called
   * whenever changes may have gone unheard — a back end that delivers over a connection calls it each
   * time its subscription takes effect (first and after every reconnect), so a listener drops
   * everything it may have cached meanwhile. Answers the function that unsubscribes.
   */
  subscribe(listener: TablesChangedListener, onMissed?: () => void): () => void;
  /** Stops delivery to this process and releases connections; later publishes reject. */
  close(): Promise<void>;
}

/** At most this many tables in one change (a load changes one; this bounds what a receiver accepts). */
export const MAX_TABLES_PER_CHANGE = 1000;
/** Longest table name a change may carry. */
export const MAX_TABLE_NAME_LENGTH = 256;

/** True for a list of tables a change may carry: 1–1,000 non-empty names of at most 256 characters. */
export function isTableList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= MAX_TABLES_PER_CHANGE &&
    value.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_TABLE_NAME_LENGTH)
  );
}
