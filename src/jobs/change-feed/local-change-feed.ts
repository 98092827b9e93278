/**
 * The in-process change feed (no Redis): API and workers share one process, so a publish calls the
 * listeners directly and synchronously — nothing can be missed, and `onMissed` is never called. The
 * Redis feed reuses it for the listeners of its own process.
 */
import type { Logger } from '../../log.js';
import { isTableList } from './port.js';
import type { ChangeFeed, TablesChangedListener } from './port.js';

/** The in-process {@link ChangeFeed}; see the module comment. */
export class LocalChangeFeed implements ChangeFeed {
  readonly #listeners = new Set<TablesChangedListener>();
  readonly #log: Logger | undefined;
  #closed = false;

  constructor(options: { logger?: Logger } = {}) {
    this.#log = options.logger;
  }

  async publish(tables: string[]): Promise<void> {
    if (this.#closed) throw new Error('this change feed was closed');
    this.deliver(tables);
  }

  /**
   * Calls every listener with `tables`, now. A listener that throws is logged and does not keep the
   * others from hearing the change, nor fail the load that published it.
   */
  deliver(tables: string[]): void {
    if (!isTableList(tables)) throw new TypeError(`a change names 1 to 1000 tables, got ${JSON.stringify(tables)}`);
    for (const listener of [...this.#listeners]) {
      try {
        listener([...tables]);
      } catch (err) {
        this.#log?.error('a changed-tables listener failed', { tables, err });
      }
    }
  }

  subscribe(listener: TablesChangedListener, _onMissed?: () => void): () => void {
    if (this.#closed) throw new Error('this change feed was closed');
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry: TablesChangedListener = (tables) => listener(tables);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }
}
