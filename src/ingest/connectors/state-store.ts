/**
 * What the platform remembers about each source, in the warehouse's `sextant` schema:
 *
 * - `sextant.source_state`: the last complete day (windowed types) or the cursor (database types). It is
 *   written by {@link SourceStateStore.advance} inside the transaction of the merge that loaded the rows
 *   (MergeInput.afterMerge), so a crash between the two cannot happen: a killed run re-pulls.
 * - `sextant.source_locks`: one lease per running source, so that two runs of one source never overlap,
 *   also across worker processes. A lease expires unless renewed, so a killed worker's lease frees itself.
 * - `sextant.source_health`: whether the source's last finished run failed (for the recovery alert).
 *
 * SQL that DuckDB and PostgreSQL both accept; upserts are DELETE + INSERT in one transaction.
 */
import type { SqlRunner, TableSpec, Warehouse } from '../../warehouse/port.js';

export const SOURCE_STATE_TABLE: TableSpec = {
  table: 'sextant.source_state',
  key: ['source'],
  columns: [
    { name: 'source', type: 'string', required: true },
    { name: 'last_complete_day', type: 'date' },
    { name: 'cursor_value', type: 'string' },
    { name: 'job_id', type: 'string' },
    { name: 'updated_at', type: 'timestamp', required: true },
  ],
};

export const SOURCE_LOCKS_TABLE: TableSpec = {
  table: 'sextant.source_locks',
  key: ['source'],
  columns: [
    { name: 'source', type: 'string', required: true },
    { name: 'job_id', type: 'string', required: true },
    { name: 'expires_at', type: 'timestamp', required: true },
  ],
};

export const SOURCE_HEALTH_TABLE: TableSpec = {
  table: 'sextant.source_health',
  key: ['source'],
  columns: [
    { name: 'source', type: 'string', required: true },
    { name: 'failing', type: 'boolean', required: true },
    { name: 'job_id', type: 'string' },
    { name: 'updated_at', type: 'timestamp', required: true },
  ],
};

/** A source's committed progress. */
export interface SourceState {
  /** Windowed types: every day up to and including this one was pulled and loaded. */
  lastCompleteDay?: string;
  /** Cursor types: the last cursor value loaded. */
  cursor?: string;
  /** The job that committed it. */
  jobId?: string;
  updatedAt?: string;
}

export class SourceStateStore {
  readonly #wh: Warehouse;
  /** Leases this process holds or is taking: DuckDB (one process) has no unique index to lose a race on. */
  readonly #local = new Set<string>();

  constructor(warehouse: Warehouse) {
    this.#wh = warehouse;
  }

  #ready: Promise<void> | undefined;

  /** Creates the tables when missing (every method calls it first; once per process). */
  init(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#wh.ensureTable(SOURCE_STATE_TABLE);
      await this.#wh.ensureTable(SOURCE_LOCKS_TABLE);
      await this.#wh.ensureTable(SOURCE_HEALTH_TABLE);
    })().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  #p(i: number, type?: 'timestamp' | 'date' | 'boolean'): string {
    return this.#wh.dialect.param(i, type);
  }

  async get(source: string): Promise<SourceState | undefined> {
    await this.init();
    const [row] = await this.#wh.query(`SELECT * FROM sextant.source_state WHERE source = ${this.#p(1)}`, [source]);
    if (!row) return undefined;
    return {
      ...(row.last_complete_day !== null ? { lastCompleteDay: String(row.last_complete_day) } : {}),
      ...(row.cursor_value !== null ? { cursor: String(row.cursor_value) } : {}),
      ...(row.job_id !== null ? { jobId: String(row.job_id) } : {}),
      updatedAt: String(row.updated_at),
    };
  }

  /** Every source's state, by name. */
  async all(): Promise<Map<string, SourceState>> {
    await this.init();
    const rows = await this.#wh.query('SELECT source FROM sextant.source_state');
    const out = new Map<string, SourceState>();
    for (const r of rows) {
      const s = await this.get(String(r.source));
      if (s) out.set(String(r.source), s);
    }
    return out;
  }

  /** Writes the new state inside `tx` (the load's transaction). */
  async advance(tx: SqlRunner, source: string, state: { lastCompleteDay?: string; cursor?: string }, jobId: string): Promise<void> {
    await tx.execute(`DELETE FROM sextant.source_state WHERE source = ${this.#p(1)}`, [source]);
    await tx.execute(
      `INSERT INTO sextant.source_state (source, last_complete_day, cursor_value, job_id, updated_at)
       VALUES (${this.#p(1)}, ${this.#p(2, 'date')}, ${this.#p(3)}, ${this.#p(4)}, ${this.#p(5, 'timestamp')})`,
      [source, state.lastCompleteDay ?? null, state.cursor ?? null, jobId, new Date().toISOString()],
    );
  }

  /** Forgets a source's state (the next run starts from start_date). */
  async reset(source: string): Promise<void> {
    await this.init();
    await this.#wh.execute(`DELETE FROM sextant.source_state WHERE source = ${this.#p(1)}`, [source]);
  }

  /**
   * Takes the source's lease for `jobId` for `ttlMs`: true when taken (free, expired, or already this
   * job's — a job re-delivered after its worker died takes its own lease back at once).
   */
  async tryLock(source: string, jobId: string, ttlMs: number): Promise<boolean> {
    await this.init();
    if (this.#local.has(source)) {
      const [held] = await this.#wh.query(`SELECT job_id FROM sextant.source_locks WHERE source = ${this.#p(1)}`, [source]);
      if (!held || held.job_id !== jobId) return false;
    }
    this.#local.add(source);
    try {
      const now = new Date();
      const taken = await this.#wh.transaction(async (tx) => {
        const [row] = await tx.query(`SELECT job_id, expires_at FROM sextant.source_locks WHERE source = ${this.#p(1)}`, [source]);
        if (row && row.job_id !== jobId && Date.parse(String(row.expires_at)) > now.getTime()) return false;
        await tx.execute(`DELETE FROM sextant.source_locks WHERE source = ${this.#p(1)}`, [source]);
        await tx.execute(`INSERT INTO sextant.source_locks (source, job_id, expires_at) VALUES (${this.#p(1)}, ${this.#p(2)}, ${this.#p(3, 'timestamp')})`, [
          source,
          jobId,
          new Date(now.getTime() + ttlMs).toISOString(),
        ]);
        return true;
      });
      if (!taken) this.#local.delete(source);
      return taken;
    } catch {
      // Another process took it in the same instant (unique violation, write conflict): not ours.
      this.#local.delete(source);
      return false;
    }
  }

  /** Extends the lease while the run holds it. */
  async renew(source: string, jobId: string, ttlMs: number): Promise<void> {
    await this.init();
    await this.#wh.execute(`UPDATE sextant.source_locks SET expires_at = ${this.#p(3, 'timestamp')} WHERE source = ${this.#p(1)} AND job_id = ${this.#p(2)}`, [
      source,
      jobId,
      new Date(Date.now() + ttlMs).toISOString(),
    ]);
  }

  async unlock(source: string, jobId: string): Promise<void> {
    await this.init();
    this.#local.delete(source);
    await this.#wh.execute(`DELETE FROM sextant.source_locks WHERE source = ${this.#p(1)} AND job_id = ${this.#p(2)}`, [source, jobId]);
  }

  /** Records whether the last finished run failed; answers whether it was failing before. */
  async setHealth(source: string, failing: boolean, jobId: string): Promise<boolean> {
    await this.init();
    return this.#wh.transaction(async (tx) => {
      const [row] = await tx.query(`SELECT failing FROM sextant.source_health WHERE source = ${this.#p(1)}`, [source]);
      await tx.execute(`DELETE FROM sextant.source_health WHERE source = ${this.#p(1)}`, [source]);
      await tx.execute(
        `INSERT INTO sextant.source_health (source, failing, job_id, updated_at) VALUES (${this.#p(1)}, ${this.#p(2, 'boolean')}, ${this.#p(3)}, ${this.#p(4, 'timestamp')})`,
        [source, failing, jobId, new Date().toISOString()],
      );
      return row?.failing === true;
    });
  }
}
