/**
 * A small fixed-size pool. DuckDB runs each connection's statement on its own worker thread, so a few
 * connections on one instance let concurrent queries run in parallel; a connection is leased to one
 * caller at a time because `interrupt()` stops whatever that connection is running.
 */
export class ConnectionPool<T> {
  private readonly idle: T[] = [];
  private readonly waiters: Array<{ resolve: (item: T) => void; reject: (err: unknown) => void }> = [];
  private created = 0;
  private closed = false;
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly size: number,
    private readonly create: () => Promise<T>,
    private readonly destroy: (item: T) => void,
  ) {}

  /** Waits for a free item; creates one while fewer than `size` exist. */
  async acquire(): Promise<T> {
    if (this.closed) throw new Error('the warehouse is closed');
    const item = this.idle.pop();
    if (item !== undefined) return item;
    if (this.created < this.size) {
      this.created++;
      try {
        return await this.create();
      } catch (err) {
        this.created--;
        throw err;
      }
    }
    return new Promise<T>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Returns an item; `discard` destroys it instead (after an interrupt its state is not trusted). */
  release(item: T, discard = false): void {
    if (discard || this.closed) {
      this.destroy(item);
      this.created--;
      if (this.closed && this.created === 0) this.onDrained?.();
      if (!this.closed && this.waiters.length > 0) {
        const waiter = this.waiters.shift();
        this.created++;
        this.create().then(waiter?.resolve, (err: unknown) => {
          this.created--;
          waiter?.reject(err);
        });
      }
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.idle.push(item);
  }

  /** Destroys idle items now and leased items when they come back; resolves once all are destroyed. Later acquires fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const item of this.idle.splice(0)) {
      this.destroy(item);
      this.created--;
    }
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the warehouse is closed'));
    if (this.created > 0) await new Promise<void>((resolve) => (this.onDrained = resolve));
  }

  /** Idle items, and callers waiting for one. */
  get counts(): { idle: number; waiting: number } {
    return { idle: this.idle.length, waiting: this.waiters.length };
  }

  /** Items currently leased. */
  get leased(): number {
    return this.created - this.idle.length;
  }
}
