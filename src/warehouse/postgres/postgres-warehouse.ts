/**
 * The PostgreSQL warehouse: the shared pg-protocol half (../pg-wire/) plus PostgreSQL's own DDL and
 * load. SQL that Redshift rejects is marked `PG-ONLY` (COPY FROM STDIN, ON CONFLICT, xmax, advisory
 * locks, ON COMMIT DROP); the Redshift adapter (../redshift/) replaces exactly those.
 */
import { Readable } from 'node:stream';
import { UserError } from '../../errors.js';
import type { CsvLoadInput, MergeInput, MergeResult, QueryOptions, ReplaceInput, SqlRunner, SqlValue, TableColumn, TableSpec, Warehouse, WarehouseOptions } from '../port.js';
import { STAGE_SEQ_COLUMN as SEQ, checkTableSpec, mergeColumns, quoteIdent, replaceNames, splitTable } from '../sql.js';
import { csvChunks } from '../pg-wire/copy-csv.js';
import { sqlState } from '../pg-wire/errors.js';
import { PgWireWarehouse, type Lease } from '../pg-wire/pg-wire-warehouse.js';
import { CSV_LINEAGE_COLUMNS, CsvDeclined, canScan, canonicalCsv, type ScanColumn } from './canonical-csv.js';
import { postgresDialect } from './dialect.js';

/** SQLSTATE 23505: a unique (here: primary key) violation. */
const UNIQUE_VIOLATION = '23505';
/** SQLSTATE 40P01: this transaction was chosen to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/** The SQLSTATE of a driver error, or of one already translated to a UserError. */
function stateOf(err: unknown): string | undefined {
  return err instanceof UserError ? (err.details?.sqlState as string | undefined) : sqlState(err);
}

/** A plain INSERT (or COPY) into the target that the general merge may still do: a duplicate key, a deadlock. */
function isRetryable(err: unknown): boolean {
  const state = stateOf(err);
  return state === UNIQUE_VIOLATION || state === DEADLOCK_DETECTED;
}

class PostgresWarehouse extends PgWireWarehouse {
  readonly dialect = postgresDialect;

  async ensureTable(spec: TableSpec): Promise<void> {
    checkTableSpec(spec);
    return this.withLease((lease) =>
      this.inTransaction(lease, 'query', async (tx) => {
        // PG-ONLY: concurrent `CREATE SCHEMA/TABLE IF NOT EXISTS` can still fail on the catalog's unique
        // index (23505) when two workers race; one transaction-scoped advisory lock serialises them.
        await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('sextant.ensure_table'))`);
        const { schema } = splitTable(spec.table);
        const table = this.dialect.quoteTable(spec.table);
        if (schema) await tx.execute(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        const defs = spec.columns.map((c) => `${quoteIdent(c.name)} ${this.dialect.columnType(c.type)}${c.required ? ' NOT NULL' : ''}`);
        await tx.execute(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')}, PRIMARY KEY (${spec.key.map(quoteIdent).join(', ')}))`);
        const existing = new Set((await this.describeWith(tx, spec.table))?.map((c) => c.name));
        for (const c of spec.columns) {
          // Added columns are nullable whatever the spec says: existing rows have no value for them.
          if (!existing.has(c.name)) await tx.execute(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(c.name)} ${this.dialect.columnType(c.type)}`);
        }
      }),
    );
  }

  async merge(input: MergeInput): Promise<MergeResult> {
    const columns = mergeColumns(input.spec, input.columns);
    return this.withLease((lease) => this.mergeOn(lease, input, columns));
  }

  /**
   * ONE transaction: the new table is created and COPYed beside the old one, then the old is renamed
   * away and dropped and the new renamed in its place, then `inSwap`. Readers are blocked only from the
   * first rename to COMMIT (ACCESS EXCLUSIVE); a reader that waited re-resolves the name once it gets
   * its lock (RangeVarGetRelidExtended retries after invalidations), so it reads the new table, never
   * the dropped one (test/integration/report-write-back.test.ts).
   */
  async replaceTable(input: ReplaceInput): Promise<{ rows: number }> {
    const names = replaceNames(input.spec);
    const { spec } = input;
    const q = quoteIdent;
    const schema = names.schema ?? 'public';
    const inSchema = (name: string) => `${q(schema)}.${q(name)}`;
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    return this.withLease(async (lease) => {
      try {
        return await this.inTransaction(
          lease,
          'merge',
          async (tx) => {
            // Serialises replacements of one table (two runs of a report) and schema creation (see ensureTable).
            await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('sextant.ensure_table'))`);
            await tx.execute(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
            await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.next)}`);
            await tx.execute(`CREATE TABLE ${inSchema(names.next)} (${spec.columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')})`);
            const mergeLike: MergeInput = { spec, columns: spec.columns.map((c) => c.name), rows: input.rows, ...(input.signal ? { signal: input.signal } : {}) };
            await this.copyRows(lease, mergeLike, spec.columns.length, `COPY ${inSchema(names.next)} FROM STDIN WITH (FORMAT csv)`, false);
            const [counted] = await tx.query(`SELECT count(*) AS n FROM ${inSchema(names.next)}`);
            await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.old)}`);
            await tx.execute(`ALTER TABLE IF EXISTS ${inSchema(names.name)} RENAME TO ${q(names.old)}`);
            await tx.execute(`ALTER TABLE ${inSchema(names.next)} RENAME TO ${q(names.name)}`);
            await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.old)}`);
            if (input.inSwap) await input.inSwap(tx);
            return { rows: Number(counted.n) };
          },
          spec.table,
          options,
        );
      } catch (err) {
        lease.discard = true;
        throw err;
      }
    });
  }

  /**
   * In one transaction: COPY the batch into a temporary staging table (typed as the target, plus a
   * sequence), then a plain INSERT when every staged key is new and unique, else keep the last row of
   * each key, upsert it and count inserts and updates. A failure
   * anywhere rolls everything back, so the target is unchanged.
   */
  private async mergeOn(lease: Lease, input: MergeInput, columns: TableColumn[]): Promise<MergeResult> {
    const names = columns.map((c) => quoteIdent(c.name)).join(', ');
    return this.mergeTransaction(lease, input, (tx) =>
      this.stagedMerge(lease, tx, input, columns, (stage) => this.copyRows(lease, input, columns.length, `COPY ${stage} (${names}, ${quoteIdent(SEQ)}) FROM STDIN WITH (FORMAT csv)`)),
    );
  }

  /**
   * Runs `fn` in a merge's transaction: no statement timeout (a merge lasts as long as its batch is big,
   * the COPY as long as its producer, a parser reading an upload); its signal can still stop it.
   */
  private async mergeTransaction<T>(lease: Lease, input: Pick<MergeInput, 'spec' | 'signal'>, fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    try {
      return await this.inTransaction(lease, 'merge', fn, input.spec.table, options);
    } catch (err) {
      // The connection may be mid-COPY or otherwise unsure; do not hand it to the next caller.
      lease.discard = true;
      throw err;
    }
  }

  /**
   * Creates the staging table (`columns` typed as the target's, plus the sequence), lets `fill` COPY the
   * batch into it, then merges it into the target and runs `afterMerge`.
   */
  private async stagedMerge(
    lease: Lease,
    tx: SqlRunner,
    input: Pick<MergeInput, 'spec' | 'afterMerge'>,
    columns: TableColumn[],
    fill: (stage: string) => Promise<void>,
  ): Promise<MergeResult> {
    const { spec } = input;
    const q = quoteIdent;
    const stage = q('__sextant_stage');
    const target = this.dialect.quoteTable(spec.table);
    const names = columns.map((c) => q(c.name)).join(', ');
    const keys = spec.key.map(q).join(', ');
    const nonKey = columns.filter((c) => !spec.key.includes(c.name));
    // With only key columns supplied an existing row is "updated" to itself, so that RETURNING sees it.
    const sets = (nonKey.length > 0 ? nonKey.map((c) => c.name) : spec.key).map((n) => `${q(n)} = excluded.${q(n)}`);
    // PG-ONLY: ON COMMIT DROP (Redshift drops temp tables at session end).
    await tx.execute(`CREATE TEMP TABLE ${stage} (${columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')}, ${q(SEQ)} bigint) ON COMMIT DROP`);
    await fill(stage);
    const { inserted, updated } = (await this.insertIfNew(tx, stage, target, names)) ?? (await this.upsert(tx, stage, target, names, keys, sets));
    if (input.afterMerge) await input.afterMerge(tx, { staged: stage });
    return { rowsStaged: inserted + updated, inserted, updated };
  }

  /**
   * PostgreSQL's bulk path for an upload (docs/targets.md, "Large files"): the file's bytes, checked and
   * rewritten by the canonical scanner (canonical-csv.ts), go straight into `COPY … FROM STDIN`. Into the
   * target itself when it is empty (under a savepoint: a duplicate key in the file sends it the staged way),
   * else into a staging table merged as `merge` does. Declined (undefined, nothing changed) at the first
   * value COPY might read differently from the converter, or when COPY refuses one.
   */
  async loadCsv(input: CsvLoadInput): Promise<MergeResult | undefined> {
    const { spec } = input;
    const fileColumns = mergeColumns(spec, input.columns);
    const scan: ScanColumn[] = fileColumns.map((c) => ({ name: c.name, type: c.type, notEmpty: c.required === true }));
    if (!canScan(scan)) return undefined;
    if (CSV_LINEAGE_COLUMNS.some((n) => input.columns.includes(n))) return undefined;
    // Every column of the table: those the file lacks are NULL in the staged rows, as the converter makes them.
    const all = mergeColumns(spec, spec.columns.map((c) => c.name));
    const q = quoteIdent;
    const copied = [...input.columns, ...CSV_LINEAGE_COLUMNS].map(q).join(', ');
    const copyOptions = `WITH (FORMAT csv, FORCE_NULL (${input.columns.map(q).join(', ')}))`;
    const { runId, loadedAt, sourceObject } = input.lineage;
    let records = 0;
    const onProgress = (n: number): void => {
      records = n;
      input.onProgress?.(n);
    };
    const rows = async (withSequence: boolean): Promise<Readable> =>
      Readable.from(canonicalCsv(await input.open(), { columns: scan, suffix: [runId, loadedAt, sourceObject], withSequence, onProgress }));
    const target = this.dialect.quoteTable(spec.table);
    try {
      return await this.withLease((lease) =>
        this.mergeTransaction(lease, input, async (tx) => {
          const [present] = await tx.query(`SELECT EXISTS (SELECT 1 FROM ${target}) AS present`);
          if (present.present !== true) {
            await tx.execute('SAVEPOINT __sextant_copy');
            let direct = false;
            try {
              await this.copyIn(lease, `COPY ${target} (${copied}) FROM STDIN ${copyOptions}`, await rows(false), spec.table, input.signal);
              await tx.execute('RELEASE SAVEPOINT __sextant_copy');
              direct = true;
            } catch (err) {
              if (!isRetryable(err)) throw err;
              await tx.execute('ROLLBACK TO SAVEPOINT __sextant_copy');
            }
            if (direct) {
              // The target held nothing before: the batch's rows are exactly its rows.
              if (input.afterMerge) await input.afterMerge(tx, { staged: target });
              return { rowsStaged: records, inserted: records, updated: 0 };
            }
          }
          return this.stagedMerge(lease, tx, input, all, async (stage) => {
            await this.copyIn(lease, `COPY ${stage} (${copied}, ${q(SEQ)}) FROM STDIN ${copyOptions}`, await rows(true), spec.table, input.signal);
          });
        }),
      );
    } catch (err) {
      if (err instanceof CsvDeclined) return undefined;
      // COPY refused a value the scanner let through: the converter words it (or takes it) on the Node path.
      const cls = stateOf(err)?.slice(0, 2);
      if (err instanceof UserError && (cls === '22' || cls === '23')) return undefined;
      throw err;
    }
  }

  /**
   * The common case first: every staged key is new to the target and appears once in the batch (an
   * empty target, a file of new rows). Then a plain INSERT does it — the primary key checks both, and
   * it skips the de-duplication's sort and ON CONFLICT's per-row bookkeeping. A duplicate fails it
   * (23505) at the first one; the savepoint undoes the attempt and undefined sends the batch the
   * general way. So does a deadlock (40P01): a plain INSERT takes its row locks in the file's order,
   * so two loads of overlapping keys can wait on each other, where the upsert goes in key order.
   */
  private async insertIfNew(tx: SqlRunner, stage: string, target: string, names: string): Promise<{ inserted: number; updated: number } | undefined> {
    await tx.execute('SAVEPOINT __sextant_insert');
    try {
      const [counts] = await tx.query(`WITH added AS (INSERT INTO ${target} (${names}) SELECT ${names} FROM ${stage} RETURNING 1) SELECT count(*) AS n FROM added`);
      await tx.execute('RELEASE SAVEPOINT __sextant_insert');
      return { inserted: Number(counts.n), updated: 0 };
    } catch (err) {
      if (!isRetryable(err)) throw err;
      await tx.execute('ROLLBACK TO SAVEPOINT __sextant_insert');
      return undefined;
    }
  }

  /** Keeps the last row of each key and upserts it, counting inserts and updates. */
  private async upsert(tx: SqlRunner, stage: string, target: string, names: string, keys: string, sets: string[]): Promise<{ inserted: number; updated: number }> {
    const q = quoteIdent;
    // PG-ONLY: INSERT … ON CONFLICT and `xmax = 0` (true for a freshly inserted row version).
    const [counts] = await tx.query(
      `WITH latest AS (
         SELECT ${names} FROM (
           SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${q(SEQ)} DESC) AS rn FROM ${stage}
         ) ranked WHERE rn = 1
       ), merged AS (
         INSERT INTO ${target} (${names}) SELECT ${names} FROM latest
         ON CONFLICT (${keys}) DO UPDATE SET ${sets.join(', ')}
         RETURNING (xmax = 0) AS inserted
       )
       SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM merged`,
    );
    return { inserted: Number(counts.inserted), updated: Number(counts.updated) };
  }

  private async copyRows(lease: Lease, input: MergeInput, width: number, copySql: string, withSequence = true): Promise<void> {
    const check = (row: readonly SqlValue[], index: number): void => {
      if (row.length !== width) {
        throw new UserError('ROW_INVALID', `merge into ${input.spec.table}: row ${index + 1} has ${row.length} values, expected ${width} (one per column: ${input.columns.join(', ')})`);
      }
    };
    await this.copyIn(lease, copySql, Readable.from(csvChunks(input.rows, check, withSequence)), input.spec.table, input.signal);
  }
}

/** Opens the PostgreSQL warehouse at a `postgres://` URL. */
export async function openPostgresWarehouse(url: string, options: WarehouseOptions): Promise<Warehouse> {
  return new PostgresWarehouse({ connectionString: url }, options);
}
