/**
 * The rollups of a project in one warehouse: built at start-up (when missing or when their definition
 * changed), refreshed after every load of their base tables in the load's own transaction, and known
 * as built so that the planner answers from them. See README.md for the guarantees.
 */
import type { Logger } from '../log.js';
import { isPlainColumn } from '../semantic/sql-tokens.js';
import { projectRollups, rollupDefinitionHash, ROLLUP_SCHEMA, type RollupLayout } from '../semantic/rollup-plan.js';
import type { SemanticProject } from '../semantic/types.js';
import type { MergedBatch, MergeInput, ReplaceInput, SqlRunner, TableSpec, Warehouse } from '../warehouse/port.js';
import { createRollupTable, MAX_RANGES, refreshAll, refreshBuckets, touchedBuckets } from './refresh.js';

/** What the warehouse keeps of each rollup: its definition's hash and when it was last refreshed. */
export const ROLLUP_STATE_TABLE: TableSpec = {
  table: 'sextant.rollups',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'definition_hash', type: 'string', required: true },
    { name: 'rollup_table', type: 'string', required: true },
    { name: 'refreshed_at', type: 'timestamp', required: true },
  ],
  key: ['id'],
};

/** Prefixes the definition hash of a rollup that another version's load did not refresh (its owner rebuilds it). */
const STALE = 'stale:';

/** A constant key for PostgreSQL's advisory lock around start-up builds (several processes start at once). */
const BUILD_LOCK = 727_001_301;

function sameTable(a: string, b: string): boolean {
  return a.replace(/"/g, '').toLowerCase() === b.replace(/"/g, '').toLowerCase();
}

function nowText(): string {
  return new Date().toISOString().replace('T', ' ').replace('Z', '');
}

/** The outcome of {@link Rollups.start}. */
/** What a load into a table tells the rollups: the table, the columns it supplies, its own `afterMerge` (a merge or a CSV load). */
export type MergedInput = Pick<MergeInput, 'spec' | 'columns' | 'afterMerge'>;

export interface RollupStart {
  /** Rollups computed now (missing, or their definition changed). */
  built: string[];
  /** Rollups found current. */
  kept: string[];
}

export class Rollups {
  readonly layouts: readonly RollupLayout[];
  /**
   * Ids of the rollups that are current for this process: the planner answers only from these. Kept in
   * step with the warehouse's state by {@link recheck} (another process's load or start-up may change it).
   */
  readonly built = new Set<string>();
  /** This process's definition hash of each rollup (known from {@link start}, which has the dialect). */
  private readonly hashes = new Map<string, string>();
  /** One recheck at a time in this process: a rebuild is not started twice. */
  private rechecking: Promise<unknown> = Promise.resolve();

  constructor(
    project: SemanticProject,
    private readonly log?: Logger,
  ) {
    this.layouts = projectRollups(project).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * Builds every rollup that is missing or whose definition changed, in one transaction each (taken
   * under a lock, so that processes starting together build once), and marks them built. With
   * `build: false` only finds which are current (commands that do not check the models' columns).
   * @param warehouse the warehouse itself (not the rollup decorator)
   */
  async start(warehouse: Warehouse, options: { build: boolean }): Promise<RollupStart> {
    const out: RollupStart = { built: [], kept: [] };
    if (this.layouts.length === 0) return out;
    await warehouse.ensureTable(ROLLUP_STATE_TABLE);
    const d = warehouse.dialect;
    const state = d.quoteTable(ROLLUP_STATE_TABLE.table);
    for (const layout of this.layouts) {
      const hash = rollupDefinitionHash(layout, d);
      this.hashes.set(layout.id, hash);
      const current = async (tx: SqlRunner): Promise<boolean> => {
        const [row] = await tx.query(`select definition_hash as h from ${state} where id = ${d.param(1, 'string')}`, [layout.id]);
        return row?.h === hash && (await warehouse.describeTable(layout.table)) !== undefined;
      };
      if (!options.build) {
        if (await current(warehouse)) {
          this.built.add(layout.id);
          out.kept.push(layout.id);
        }
        continue;
      }
      const started = performance.now();
      const rebuilt = await warehouse.transaction(async (tx) => {
        if (d.name === 'postgres') await tx.query(`select pg_advisory_xact_lock(${BUILD_LOCK})`);
        if (d.name === 'redshift') await tx.execute(`lock ${state}`);
        if (await current(tx)) return false;
        await tx.execute(`create schema if not exists ${d.quoteIdent(ROLLUP_SCHEMA)}`);
        await createRollupTable(tx, layout, d);
        await tx.execute(`delete from ${state} where id = ${d.param(1, 'string')}`, [layout.id]);
        await tx.execute(
          `insert into ${state} (id, definition_hash, rollup_table, refreshed_at) values (${d.param(1, 'string')}, ${d.param(2, 'string')}, ${d.param(3, 'string')}, ${d.param(4, 'timestamp')})`,
          [layout.id, hash, layout.table, nowText()],
        );
        return true;
      });
      if (d.name === 'postgres') await this.indexTime(warehouse, layout);
      this.built.add(layout.id);
      (rebuilt ? out.built : out.kept).push(layout.id);
      if (rebuilt) this.log?.info('rollup built', { rollup: layout.id, table: layout.table, ms: Math.round(performance.now() - started) });
    }
    return out;
  }

  /**
   * PostgreSQL: a BRIN index on the base table's time column, so that a refresh reads the block ranges of
   * the buckets a load touched rather than the whole table (DuckDB skips row groups by their min/max;
   * Redshift has no indexes, its sort key does this). BRIN, not a B-tree: it is tiny and cheap to keep up
   * as loads append, and the planner does not prefer it over a better index for a question — a B-tree on
   * the time column drew a selective question (one account, one month) off its (account, date) index and
   * halved its speed (bench/README.md). Only for a plain column of a `table:` model; kept if it exists.
   */
  private async indexTime(warehouse: Warehouse, layout: RollupLayout): Promise<void> {
    const column = layout.timeDimension.sql.trim();
    if (layout.model.table === undefined || !isPlainColumn(column)) return;
    const [schema, table] = layout.model.table.includes('.') ? layout.model.table.split('.', 2) : ['public', layout.model.table];
    const d = warehouse.dialect;
    const name = `${table}_${column}_sextant_brin`.slice(0, 63);
    // The B-tree that earlier builds made under this name.
    const btree = `${table}_${column}_sextant`.slice(0, 63);
    await warehouse.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${BUILD_LOCK})`);
      await tx.execute(`drop index if exists ${d.quoteIdent(schema)}.${d.quoteIdent(btree)}`);
      await tx.execute(`create index if not exists ${d.quoteIdent(name)} on ${d.quoteIdent(schema)}.${d.quoteIdent(table)} using brin (${d.quoteIdent(column)})`);
    });
  }

  /** When each built rollup was last refreshed (ISO 8601 in UTC), by id. */
  async refreshedAt(warehouse: Pick<Warehouse, 'query' | 'dialect'>): Promise<Map<string, string>> {
    if (this.layouts.length === 0) return new Map();
    const rows = await warehouse.query(`select id, refreshed_at from ${warehouse.dialect.quoteTable(ROLLUP_STATE_TABLE.table)}`, []);
    return new Map(rows.filter((r) => this.built.has(String(r.id))).map((r) => [String(r.id), String(r.refreshed_at)]));
  }

  /**
   * Rollups a change to `table` affects, in lock order: every one this process knows the definition of.
   * Whether a load refreshes one is decided by the warehouse's state row under the lock ({@link ownership}),
   * not by this process's memory, which may lag behind another process's start-up or load.
   */
  private affected(table: string): RollupLayout[] {
    return this.layouts.filter((l) => this.hashes.has(l.id) && l.baseTables.some((t) => sameTable(t, table)));
  }

  /**
   * Whose the rollup's table is, by its state row: this process's definition (`mine`), this definition's
   * but missing loads (`stale`: another generation's load skipped it), another definition's (`other`: a
   * rolling deploy runs two versions of the project), or nobody's (`missing`: never built).
   */
  private async ownership(tx: SqlRunner, layout: RollupLayout, d: Warehouse['dialect']): Promise<'mine' | 'stale' | 'other' | 'missing'> {
    const [row] = await tx.query(`select definition_hash as h from ${d.quoteTable(ROLLUP_STATE_TABLE.table)} where id = ${d.param(1, 'string')}`, [layout.id]);
    if (row === undefined) return 'missing';
    const mine = this.hashes.get(layout.id);
    if (row.h === mine) return 'mine';
    return row.h === `${STALE}${mine}` ? 'stale' : 'other';
  }

  /**
   * Before a load's refresh (under the rollup's lock): true when this process may refresh the table. A table
   * of another definition is left alone and marked stale for the process that owns it (which rebuilds it
   * when it hears of the load); this process stops answering from it.
   */
  private async mayRefresh(tx: SqlRunner, layout: RollupLayout, d: Warehouse['dialect']): Promise<'refresh' | 'rebuild' | 'skip'> {
    const owner = await this.ownership(tx, layout, d);
    if (owner === 'mine') return 'refresh';
    if (owner === 'stale') return 'rebuild';
    this.built.delete(layout.id);
    if (owner === 'other') {
      await tx.execute(
        `update ${d.quoteTable(ROLLUP_STATE_TABLE.table)} set definition_hash = ${d.param(1, 'string')} || definition_hash where id = ${d.param(2, 'string')} and definition_hash not like ${d.param(3, 'string')}`,
        [STALE, layout.id, `${STALE}%`],
      );
    }
    return 'skip';
  }

  /**
   * Brings this process's view of the rollups over `tables` in line with the warehouse, after another
   * process's load or start-up (the change feed): answers from a rollup only while its table is of this
   * definition, and rebuilds one of this definition that another version's load left stale. Resolves with
   * the base tables whose rollups this process now answers from differently (their cached results must go).
   * @param warehouse the warehouse itself (not the rollup decorator)
   */
  recheck(warehouse: Warehouse, tables: readonly string[]): Promise<string[]> {
    const run = this.rechecking.then(() => this.recheckNow(warehouse, tables));
    this.rechecking = run.catch(() => undefined);
    return run;
  }

  private async recheckNow(warehouse: Warehouse, tables: readonly string[]): Promise<string[]> {
    const d = warehouse.dialect;
    const changed = new Set<string>();
    const layouts = this.layouts.filter((l) => this.hashes.has(l.id) && l.baseTables.some((b) => tables.some((t) => sameTable(t, b))));
    for (const layout of layouts) {
      let owner = await this.ownership(warehouse, layout, d);
      if (owner === 'stale') {
        owner = await warehouse.transaction(async (tx) => {
          await this.lock(tx, layout, d);
          if (d.name === 'redshift') await tx.execute(`lock ${d.quoteTable(ROLLUP_STATE_TABLE.table)}`);
          const now = await this.ownership(tx, layout, d);
          if (now !== 'stale') return now;
          await refreshAll(tx, layout, d);
          await tx.execute(`update ${d.quoteTable(ROLLUP_STATE_TABLE.table)} set definition_hash = ${d.param(1, 'string')}, refreshed_at = ${d.param(2, 'timestamp')} where id = ${d.param(3, 'string')}`, [
            this.hashes.get(layout.id),
            nowText(),
            layout.id,
          ]);
          this.log?.info('rollup rebuilt after a load by another version of the project', { rollup: layout.id, table: layout.table });
          changed.add(layout.baseTables[0]);
          return 'mine' as const;
        });
      }
      const was = this.built.has(layout.id);
      if (owner === 'mine') this.built.add(layout.id);
      else this.built.delete(layout.id);
      if (was !== this.built.has(layout.id)) for (const t of layout.baseTables) changed.add(t);
    }
    return [...changed];
  }

  /** The merge (or CSV load) input with the rollups' refresh run in its transaction, after the caller's own `afterMerge`. */
  wrapMerge<I extends MergedInput>(input: I, dialect: Warehouse['dialect']): I {
    const affected = this.affected(input.spec.table);
    if (affected.length === 0) return input;
    const own = input.afterMerge;
    return {
      ...input,
      afterMerge: async (tx, batch) => {
        if (own) await own(tx, batch);
        for (const layout of affected) await this.refreshAfterMerge(tx, layout, input, batch, dialect);
      },
    };
  }

  /** The replacement with every affected rollup recomputed in its swap's transaction (a report's write-back). */
  wrapReplace(input: ReplaceInput, dialect: Warehouse['dialect']): ReplaceInput {
    const affected = this.affected(input.spec.table);
    if (affected.length === 0) return input;
    const own = input.inSwap;
    return {
      ...input,
      inSwap: async (tx) => {
        if (own) await own(tx);
        for (const layout of affected) {
          await this.lock(tx, layout, dialect);
          if ((await this.mayRefresh(tx, layout, dialect)) === 'skip') continue;
          await refreshAll(tx, layout, dialect);
          await this.stamp(tx, layout, dialect);
        }
      },
    };
  }

  private async refreshAfterMerge(tx: SqlRunner, layout: RollupLayout, input: MergedInput, batch: MergedBatch, dialect: Warehouse['dialect']): Promise<void> {
    if (batch.staged === undefined) return; // no rows: nothing changed
    await this.lock(tx, layout, dialect);
    const may = await this.mayRefresh(tx, layout, dialect);
    if (may === 'skip') return;
    if (may === 'rebuild') {
      await refreshAll(tx, layout, dialect);
      await this.stamp(tx, layout, dialect);
      return;
    }
    const timeColumn = layout.timeDimension.sql.trim();
    // Only then can no row have moved out of a bucket the batch does not name: its time is part of its key.
    const incremental =
      layout.model.table !== undefined &&
      sameTable(layout.model.table, input.spec.table) &&
      isPlainColumn(timeColumn) &&
      input.columns.includes(timeColumn) &&
      input.spec.key.includes(timeColumn);
    let touched = incremental ? await touchedBuckets(tx, layout, dialect, batch.staged, timeColumn) : undefined;
    if (touched && touched.ranges.length > MAX_RANGES) touched = undefined;
    if (touched) await refreshBuckets(tx, layout, dialect, touched);
    else await refreshAll(tx, layout, dialect);
    await this.stamp(tx, layout, dialect);
  }

  /** PostgreSQL: one refresher of a rollup at a time (readers go on); DuckDB serialises merges, Redshift is serializable. */
  private async lock(tx: SqlRunner, layout: RollupLayout, dialect: Warehouse['dialect']): Promise<void> {
    if (dialect.name === 'postgres') await tx.execute(`lock table ${dialect.quoteTable(layout.table)} in exclusive mode`);
  }

  /** Marks the rollup refreshed now, and of this process's definition (a stale one it rebuilt is current again). */
  private async stamp(tx: SqlRunner, layout: RollupLayout, dialect: Warehouse['dialect']): Promise<void> {
    await tx.execute(
      `update ${dialect.quoteTable(ROLLUP_STATE_TABLE.table)} set refreshed_at = ${dialect.param(1, 'timestamp')}, definition_hash = ${dialect.param(2, 'string')} where id = ${dialect.param(3, 'string')}`,
      [nowText(), this.hashes.get(layout.id), layout.id],
    );
  }
}
