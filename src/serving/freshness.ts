/**
 * How fresh a model's data is: the latest `_loaded_at` of its table (every loaded row carries it, docs/targets.md). Kept per table until a load changes the table (the same invalidation as the result cache,
 * through the change feed), and independent of SEXTANT_RESULT_CACHE: a max() over a large table is not
 * free, and every answer reports its freshness.
 */
import type { Model } from '../semantic/types.js';
import type { Warehouse } from '../warehouse/port.js';
import { normaliseTable } from './result-cache.js';

/** The lineage column every loaded row carries (docs/targets.md). */
const LOADED_AT = '_loaded_at';

export class Freshness {
  private readonly known = new Map<string, Promise<string | null>>();

  constructor(private readonly warehouse: Pick<Warehouse, 'describeTable' | 'query' | 'dialect'>) {}

  /**
   * The latest `_loaded_at` of the model's table, or null when the model reads SQL rather than a table,
   * the table has no such column (it was not loaded by Sextant) or it is empty.
   */
  ofModel(model: Model): Promise<string | null> {
    if (!model.table) return Promise.resolve(null);
    const key = normaliseTable(model.table);
    let pending = this.known.get(key);
    if (!pending) {
      pending = this.read(model.table);
      this.known.set(key, pending);
      // A failure is not kept: the next answer asks again.
      pending.catch(() => this.known.get(key) === pending && this.known.delete(key));
    }
    return pending;
  }

  /** Forgets what is known of `tables` (after a load changed them). */
  invalidateTables(tables: readonly string[]): void {
    for (const t of tables) this.known.delete(normaliseTable(t));
  }

  clear(): void {
    this.known.clear();
  }

  private async read(table: string): Promise<string | null> {
    const columns = await this.warehouse.describeTable(table);
    if (!columns?.some((c) => c.name === LOADED_AT)) return null;
    const d = this.warehouse.dialect;
    const rows = await this.warehouse.query(`SELECT max(${d.quoteIdent(LOADED_AT)}) AS ${d.quoteIdent('v')} FROM ${d.quoteTable(table)}`, []);
    const v = rows[0]?.v;
    return v === null || v === undefined ? null : String(v);
  }
}
