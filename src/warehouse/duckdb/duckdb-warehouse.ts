/**
 * The embedded warehouse: one DuckDB instance (a file, or `:memory:`) with a small pool of
 * connections. DuckDB executes on its own threads, so the event loop stays free while a statement
 * runs; results are read chunk by chunk (2,048 rows) so converting them never blocks it for long.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DuckDBInstance, ResultReturnType, type DuckDBAppender, type DuckDBConnection, type DuckDBResult } from '@duckdb/node-api';
import { UserError } from '../../errors.js';
import type {
  ColumnTypeName,
  CsvLoadInput,
  MergeInput,
  MergeResult,
  PoolStats,
  QueryOptions,
  ReplaceInput,
  Row,
  SqlRunner,
  TableColumn,
  TableSpec,
  Warehouse,
  WarehouseOptions,
} from '../port.js';
import { STAGE_SEQ_COLUMN as SEQ, checkTableSpec, mergeColumns, quoteIdent, replaceNames, splitTable } from '../sql.js';
import { ConnectionPool } from './connection-pool.js';
import { DEFAULT_PREPARED_STATEMENTS, PreparedStatementCache, runAndRead } from './prepared.js';
import { csvShapeFits } from './csv-shape.js';
import { NOT_CANONICAL, fieldValueSql, missingSql } from './csv-values.js';
import { duckdbDialect } from './dialect.js';
import { queryTimeout, translateDuckDbError, translateOpenError, type DuckDbOperation } from './errors.js';
import { rowsFromChunk, toDuckDbParam, toStageText } from './values.js';

const DEFAULT_POOL_SIZE = 4;
const DEFAULT_BATCH_SIZE = 5_000;
/** Rows appended between two yields to the event loop while staging a merge (the appender is synchronous). */
const APPEND_YIELD_EVERY = 4_096;
/**
 * Rows appended between two flushes of the appender into the table. Unflushed, DuckDB's appender holds up to
 * 204,800 rows in a buffer of its own, outside `memory_limit` (~40 MB of a 1M-row XLSX upload's peak RSS,
 * bench/README.md, "xlsx-mem 2").
 */
const APPEND_FLUSH_EVERY = 8_192;
/**
 * DuckDB's `memory_limit` for a warehouse file when none is configured (SEXTANT_DUCKDB_MEMORY_LIMIT).
 * DuckDB's own default, 80 % of the machine's RAM, let a 1M-row upload or export hold ~500 MB in the
 * process (bench/README.md); past this limit DuckDB spills to `<file>.tmp/` instead. An in-memory
 * database keeps DuckDB's default: it has no file to spill its tables to.
 */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '128MB';
/** The parser's default limit on a record (DEFAULT_MAX_FIELD_BYTES): a longer line makes read_csv refuse the file. */
const CSV_MAX_LINE_BYTES = 1024 * 1024;
/**
 * read_csv's `buffer_size`: the file is read in buffers of this size, a few per thread. DuckDB's default (32 MB)
 * held 64 MB of the buffer pool during a 1M-row load (duckdb_memory()'s CSV_READER), this 8 MB: the process's
 * peak RSS 20–25 MB lower, the CPU of the insert unchanged within this machine's noise (bench/README.md, duck-ingest 2).
 * It must hold a whole record: four times {@link CSV_MAX_LINE_BYTES}.
 */
const CSV_BUFFER_BYTES = 4 * CSV_MAX_LINE_BYTES;
/**
 * The schema of staged batches (merges, the CSV path's merge into a loaded table, replaceTable): a schema
 * of the database file rather than TEMP tables, which live in DuckDB's in-memory temporary catalog: a
 * file table's blocks are written out and evicted under memory_limit like any other table's
 * (bench/README.md, "xlsx-mem"). Emptied when the warehouse opens (a crash may leave tables behind);
 * nothing the product lists (models, catalog, OData) reads it.
 */
export const STAGING_SCHEMA = '__sextant_staging';
/** A staged table's name in SQL: `"__sextant_staging"."<name>"`. */
function staged(name: string): string {
  return `${quoteIdent(STAGING_SCHEMA)}.${quoteIdent(name)}`;
}
/** In an append's column layout: the column of the row's sequence number (staging tables' {@link SEQ}). */
const SEQUENCE = -2;
/** How often a stopped statement is interrupted again until it gives up. */
const REINTERRUPT_MS = 25;

/** Tracks whether a leased connection was interrupted: such a connection is closed, not reused. */
interface Lease {
  tainted: boolean;
}

/**
 * Runs database steps of one statement under its timeout and AbortSignal: either one interrupts the
 * connection (`connection.interrupt()`), and the step's failure is reported as QUERY_TIMEOUT or as the
 * signal's reason. Only time spent in DuckDB counts, not time a stream's consumer holds a batch.
 */
class StatementGuard {
  private stoppedBy: 'timeout' | 'abort' | undefined;
  private timer: NodeJS.Timeout | undefined;
  private repeat: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly onAbort = (): void => this.stop('abort');

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly operation: DuckDbOperation,
    private readonly table?: string,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get stopped(): boolean {
    return this.stoppedBy !== undefined;
  }

  async step<T>(fn: () => Promise<T>): Promise<T> {
    if (this.signal?.aborted) this.stop('abort');
    if (this.stoppedBy) throw this.failure(undefined);
    if (this.timeoutMs > 0) this.timer = setTimeout(() => this.stop('timeout'), this.timeoutMs);
    this.inFlight = true;
    try {
      return await fn();
    } catch (err) {
      throw this.stoppedBy ? this.failure(err) : translateDuckDbError(err, this.operation, this.table);
    } finally {
      this.inFlight = false;
      clearTimeout(this.timer);
      clearInterval(this.repeat);
      this.timer = undefined;
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.repeat);
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  private stop(reason: 'timeout' | 'abort'): void {
    if (this.stoppedBy) return;
    this.stoppedBy = reason;
    this.connection.interrupt();
    // An interrupt that lands while DuckDB is still preparing the statement can be lost (the flag
    // is reset when execution begins), so keep interrupting until the running step gives up.
    if (this.inFlight) this.repeat = setInterval(() => this.connection.interrupt(), REINTERRUPT_MS);
  }

  private failure(cause: unknown): unknown {
    if (this.stoppedBy === 'timeout') return queryTimeout(this.timeoutMs, cause);
    // Like fetch(): an aborted call rejects with the signal's reason, so the caller sees why it aborted.
    return this.signal?.reason ?? new Error('The query was aborted');
  }
}

/** Serialises writers: DuckDB allows one writer per table at a time and reports a conflict otherwise. */
class WriteLock {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

async function readAll(result: DuckDBResult): Promise<Row[]> {
  // DML answers a one-row "Count" result in DuckDB and no rows in PostgreSQL; the port says no rows.
  if (result.returnType !== ResultReturnType.QUERY_RESULT) return [];
  const names = result.deduplicatedColumnNames();
  const rows: Row[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return rows;
    for (const row of rowsFromChunk(chunk, names)) rows.push(row);
  }
}

/** DuckDB's information_schema `data_type` → the target column type it was created from. */
function columnTypeOf(dataType: string): ColumnTypeName {
  const t = dataType.toUpperCase();
  if (t === 'JSON') return 'json';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return 'decimal';
  if (['DOUBLE', 'FLOAT', 'REAL'].includes(t)) return 'double';
  if (['BIGINT', 'HUGEINT', 'UBIGINT', 'UHUGEINT'].includes(t)) return 'bigint';
  if (['INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(t)) return 'integer';
  // VARCHAR, and types a target cannot declare (UUID, TIME, BLOB …) which read back as text.
  return 'string';
}

class DuckDbWarehouse implements Warehouse {
  readonly dialect = duckdbDialect;
  private readonly pool: ConnectionPool<DuckDBConnection>;
  private readonly writes = new WriteLock();
  private readonly timeoutMs: number;
  /** Each connection's prepared statements (QueryOptions.prepare); none when the bound is 0. */
  private readonly prepared = new WeakMap<DuckDBConnection, PreparedStatementCache>();
  private readonly preparedMax: number;
  private stageCounter = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly instance: DuckDBInstance,
    options: WarehouseOptions,
  ) {
    this.timeoutMs = options.statementTimeoutMs;
    this.preparedMax = Math.max(0, Math.floor(options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS));
    this.pool = new ConnectionPool(
      options.poolSize ?? DEFAULT_POOL_SIZE,
      () => instance.connect(),
      (c) => {
        this.prepared.get(c)?.clear();
        c.closeSync();
      },
    );
  }

  poolStats(): PoolStats {
    return { inUse: this.pool.leased, ...this.pool.counts };
  }

  query(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<Row[]> {
    return retryOnWriteConflict(() => this.withConnection((conn, lease) => this.runOn(conn, lease, 'query', sql, params, options, true) as Promise<Row[]>));
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    await retryOnWriteConflict(() => this.withConnection((conn, lease) => this.runOn(conn, lease, 'query', sql, params, {}, false)));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.withConnection((conn, lease) => this.inTransaction(conn, lease, 'query', fn));
  }

  async *stream(sql: string, params: readonly unknown[] = [], options: QueryOptions & { batchSize?: number } = {}): AsyncIterable<Row[]> {
    const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    const conn = await this.pool.acquire();
    const guard = new StatementGuard(conn, options.timeoutMs ?? this.timeoutMs, options.signal, 'query');
    try {
      const result = await guard.step(() => conn.stream(sql, params.map(toDuckDbParam)));
      const names = result.deduplicatedColumnNames();
      let batch: Row[] = [];
      for (;;) {
        const chunk = await guard.step(() => result.fetchChunk());
        if (!chunk || chunk.rowCount === 0) break;
        for (const row of rowsFromChunk(chunk, names)) {
          batch.push(row);
          if (batch.length === batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      guard.dispose();
      this.pool.release(conn, guard.stopped);
    }
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    checkTableSpec(spec);
    return this.writes.run(() =>
      this.withConnection(async (conn, lease) => {
        const run = this.runner(conn, lease, 'query');
        const { schema } = splitTable(spec.table);
        const table = this.dialect.quoteTable(spec.table);
        if (schema) await run.execute(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        const defs = spec.columns.map((c) => `${quoteIdent(c.name)} ${this.dialect.columnType(c.type)}${c.required ? ' NOT NULL' : ''}`);
        // No PRIMARY KEY: DuckDB maintains it as an ART index row by row, which made bulk merges ~10x
        // slower (200k rows: 1.3 s with the key vs 0.13 s without, measured on this machine). The key is
        // kept unique by merge() instead — the only writer of loaded tables, serialised in this process,
        // and a DuckDB file is open in one process only.
        await run.execute(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')})`);
        const existing = new Set((await this.describeWith(run, spec.table))?.map((c) => c.name));
        for (const c of spec.columns) {
          // Added columns are nullable whatever the spec says: existing rows have no value for them.
          if (!existing.has(c.name)) await run.execute(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(c.name)} ${this.dialect.columnType(c.type)}`);
        }
      }),
    );
  }

  describeTable(table: string): Promise<TableColumn[] | undefined> {
    return this.withConnection((conn, lease) => this.describeWith(this.runner(conn, lease, 'query'), table));
  }

  async merge(input: MergeInput): Promise<MergeResult> {
    const columns = mergeColumns(input.spec, input.columns);
    return this.writes.run(() => this.withConnection((conn, lease) => this.mergeOn(conn, lease, input, columns)));
  }

  async loadCsv(input: CsvLoadInput): Promise<MergeResult | undefined> {
    // One reason per file: the first found (read_csv and the quote check run at once).
    let declined = false;
    const decline = (reason: string): undefined => {
      if (!declined) input.onDecline?.(reason);
      declined = true;
      return undefined;
    };
    if (!input.localPath) return decline('the object store is not a folder on this machine: read_csv has no file to read');
    const path = input.localPath;
    const known = new Set(input.spec.columns.map((c) => c.name));
    if (input.columns.length === 0 || input.columns.some((c) => !known.has(c)) || new Set(input.columns).size !== input.columns.length) {
      return decline('the header does not name the columns of the target one to one');
    }
    // The quote check (csv-shape.ts) reads the file in Node while DuckDB reads it on its own threads; the load
    // commits only once the check passed.
    const checking = new AbortController();
    const fits = csvShapeFits(path, checking.signal).then(
      (ok) => {
        if (!ok && !checking.signal.aborted) decline('a byte-order mark, a blank header, or a quote where the parser does not take one');
        return ok;
      },
      () => false,
    );
    try {
      // read_csv reads the file in one statement: progress before it and before the commit, so that a cancel
      // from either leaves the table as it was.
      input.onProgress?.(0);
      input.signal?.throwIfAborted();
      const told = { ...input, onDecline: decline };
      return await this.writes.run(() => this.withConnection((conn, lease) => this.loadCsvOn(conn, lease, told, path, fits)));
    } finally {
      // Ends a check still reading when the load ended without it (declined by read_csv, failed, cancelled).
      checking.abort();
    }
  }

  async replaceTable(input: ReplaceInput): Promise<{ rows: number }> {
    const names = replaceNames(input.spec);
    return this.writes.run(() => this.withConnection((conn, lease) => this.replaceOn(conn, lease, input, names)));
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    this.closing ??= this.pool.close().then(() => this.instance.closeSync());
    return this.closing;
  }

  private async withConnection<T>(fn: (conn: DuckDBConnection, lease: Lease) => Promise<T>): Promise<T> {
    const conn = await this.pool.acquire();
    const lease: Lease = { tainted: false };
    try {
      return await fn(conn, lease);
    } finally {
      this.pool.release(conn, lease.tainted);
    }
  }

  private runOn(conn: DuckDBConnection, lease: Lease, op: DuckDbOperation, sql: string, params: readonly unknown[], options: QueryOptions, read: true): Promise<Row[]>;
  private runOn(conn: DuckDBConnection, lease: Lease, op: DuckDbOperation, sql: string, params: readonly unknown[], options: QueryOptions, read: false): Promise<void>;
  private async runOn(
    conn: DuckDBConnection,
    lease: Lease,
    op: DuckDbOperation,
    sql: string,
    params: readonly unknown[],
    options: QueryOptions,
    read: boolean,
  ): Promise<Row[] | void> {
    const guard = new StatementGuard(conn, options.timeoutMs ?? this.timeoutMs, options.signal, op);
    try {
      return await guard.step(async () => {
        // Without parameters, `run` accepts scripts of several statements (DDL, migrations).
        if (!read) {
          await conn.run(sql, params.length > 0 ? params.map(toDuckDbParam) : undefined);
          return;
        }
        if (options.prepare && this.preparedMax > 0) return this.readPrepared(conn, sql, params);
        return readAll(await conn.stream(sql, params.map(toDuckDbParam)));
      });
    } finally {
      if (guard.stopped) lease.tainted = true;
      guard.dispose();
    }
  }

  /**
   * Runs a read through the connection's prepared statement for `sql` (prepared on first use). DuckDB
   * re-binds a prepared statement by itself when DDL changed the tables it reads; should it fail anyway,
   * the statement is dropped so that the next use prepares it afresh.
   */
  private async readPrepared(conn: DuckDBConnection, sql: string, params: readonly unknown[]): Promise<Row[]> {
    let cache = this.prepared.get(conn);
    if (!cache) {
      cache = new PreparedStatementCache(conn, this.preparedMax);
      this.prepared.set(conn, cache);
    }
    const statement = await cache.get(sql);
    try {
      if (params.length > 0) statement.bind(params.map(toDuckDbParam));
      else statement.clearBindings();
      return await runAndRead(statement);
    } catch (err) {
      cache.forget(sql);
      throw err;
    }
  }

  /** A runner on one leased connection; `defaults` apply to statements that do not set their own options. */
  private runner(conn: DuckDBConnection, lease: Lease, op: DuckDbOperation, defaults: QueryOptions = {}): SqlRunner {
    return {
      query: (sql, params = [], options = {}) => this.runOn(conn, lease, op, sql, params, { ...defaults, ...options }, true),
      execute: (sql, params = []) => this.runOn(conn, lease, op, sql, params, defaults, false),
    };
  }

  private async inTransaction<T>(
    conn: DuckDBConnection,
    lease: Lease,
    op: DuckDbOperation,
    fn: (tx: SqlRunner) => Promise<T>,
    defaults: QueryOptions = {},
  ): Promise<T> {
    const tx = this.runner(conn, lease, op, defaults);
    await tx.execute('BEGIN TRANSACTION');
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      // A failed statement already aborted DuckDB's transaction; ROLLBACK ends it either way.
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    await tx.execute('COMMIT');
    return result;
  }

  private async describeWith(run: SqlRunner, table: string): Promise<TableColumn[] | undefined> {
    const { schema, table: name } = splitTable(table);
    const rows = await run.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2
        ORDER BY ordinal_position`,
      [schema ?? 'main', name],
    );
    if (rows.length === 0) return undefined;
    return rows.map((r) => ({ name: String(r.column_name), type: columnTypeOf(String(r.data_type)), required: r.is_nullable === 'NO' }));
  }

  /**
   * Into an empty table the batch is appended straight into it ({@link appendIntoEmpty}). Otherwise it is
   * appended into a staging table (in {@link STAGING_SCHEMA}) typed as the target (DuckDB casts text to the
   * column type as it appends), then merged in one transaction ({@link mergeStaged}). Staging happens
   * outside the transaction: until COMMIT nothing is visible, and a failure anywhere leaves the table as it was.
   */
  private async mergeOn(conn: DuckDBConnection, lease: Lease, input: MergeInput, columns: TableColumn[]): Promise<MergeResult> {
    // No statement timeout: a merge lasts as long as its batch is big; its signal can still stop it.
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    try {
      const direct = await this.inTransaction(conn, lease, 'merge', (tx) => this.appendIntoEmpty(conn, tx, input, columns), options);
      if (direct) return direct;
    } catch (err) {
      throw translateDuckDbError(err, 'merge', input.spec.table);
    }
    const run = this.runner(conn, lease, 'merge', options);
    const n = ++this.stageCounter;
    const stage = `__sextant_stage_${n}`;
    const q = quoteIdent;
    await run.execute(`CREATE SCHEMA IF NOT EXISTS ${q(STAGING_SCHEMA)}; CREATE TABLE ${staged(stage)} (${columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')}, ${q(SEQ)} BIGINT)`);
    try {
      await this.appendRows(conn, { schema: STAGING_SCHEMA, table: stage }, input, columns, [...columns.keys(), SEQUENCE]);
      return await this.inTransaction(conn, lease, 'merge', (tx) => this.mergeStaged(tx, input, columns, { stage, order: q(SEQ), n }), options);
    } catch (err) {
      throw translateDuckDbError(err, 'merge', input.spec.table);
    } finally {
      await dropStaged(conn, n);
    }
  }

  /**
   * The CSV fast path (docs/targets.md, "Large files"): DuckDB's `read_csv` reads the file from disk, every
   * field converted in SQL as the loader's converter would (csv-values.ts). Into an empty target the rows
   * go straight in, in one transaction, and the rows of a repeated key but the last are deleted; into a
   * loaded one they are staged in a typed table of {@link STAGING_SCHEMA} and merged like a batch. Declines —
   * undefined, nothing changed — when `read_csv` refuses the file, a value is not in a form both read alike, or
   * `fits` (the quote check, running meanwhile) says no.
   */
  private async loadCsvOn(conn: DuckDBConnection, lease: Lease, input: CsvLoadInput, path: string, fits: Promise<boolean>): Promise<MergeResult | undefined> {
    const { spec } = input;
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    const run = this.runner(conn, lease, 'merge', options);
    const n = ++this.stageCounter;
    const stage = `__sextant_stage_${n}`;
    const q = quoteIdent;
    const target = this.dialect.quoteTable(spec.table);
    try {
      const [occupied] = await run.query(`SELECT EXISTS (SELECT 1 FROM ${target}) AS any`);
      if (occupied.any !== true) {
        const declined = Symbol('declined');
        return await this.inTransaction(
          conn,
          lease,
          'merge',
          async (tx) => {
            const read = await this.readCsvInto(tx, target, input, path);
            if (!read || !(await fits)) throw declined;
            let rows = read.rows;
            if (read.ordered) {
              const keys = spec.key.map(q).join(', ');
              await tx.execute(`DELETE FROM ${target} WHERE rowid NOT IN (SELECT max(rowid) FROM ${target} GROUP BY ${keys})`);
              rows = Number((await tx.query(`SELECT count(*) AS n FROM ${target}`))[0].n);
            }
            input.onProgress?.(read.rows);
            input.signal?.throwIfAborted();
            // The table held nothing before: its rows are the batch.
            if (input.afterMerge) await input.afterMerge(tx, { staged: target });
            return { rowsStaged: rows, inserted: rows, updated: 0 };
          },
          options,
        ).catch((err: unknown) => {
          if (err === declined) return undefined;
          throw err;
        });
      }
      await run.execute(`CREATE SCHEMA IF NOT EXISTS ${q(STAGING_SCHEMA)}; CREATE TABLE ${staged(stage)} (${spec.columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')})`);
      const read = await this.readCsvInto(run, staged(stage), input, path);
      if (!read || !(await fits)) return undefined;
      const reported: MergeInput['afterMerge'] = async (tx, batch) => {
        input.onProgress?.(read.rows);
        input.signal?.throwIfAborted();
        await input.afterMerge?.(tx, batch);
      };
      return await this.inTransaction(conn, lease, 'merge', (tx) => this.mergeStaged(tx, { spec, afterMerge: reported }, spec.columns, { stage, order: 'rowid', n }), options);
    } catch (err) {
      throw translateDuckDbError(err, 'merge', spec.table);
    } finally {
      await dropStaged(conn, n);
    }
  }

  /**
   * Reads the file into the empty table `into` (quoted) and answers how many records it read, or undefined
   * when `read_csv` or a value check refused the file. DuckDB reads a file in parallel and its rowids then do
   * not follow the file's order, so when a key may repeat (two equal key hashes, {@link keysShape}; a collision
   * only costs this) the rows are read again by one thread, `ordered`: the higher rowid of a key is then the
   * later row in the file, which must win.
   */
  private async readCsvInto(run: SqlRunner, into: string, input: CsvLoadInput, path: string): Promise<{ rows: number; ordered: boolean } | undefined> {
    const { spec } = input;
    const q = quoteIdent;
    const insert = (ordered: boolean): Promise<void> => {
      const read = this.readCsvSql(input, ordered);
      return run.execute(`INSERT INTO ${into} (${spec.columns.map((c) => q(c.name)).join(', ')}) ${read.sql}`, [path, ...read.params]);
    };
    try {
      // The parallel read keeps no order anyway (see above): let DuckDB insert without ordering its batches.
      await this.withoutInsertionOrder(() => insert(false));
    } catch (err) {
      // A refusal of read_csv or of a value: the loader's parser and converter report it, with its line.
      if (input.signal?.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      input.onDecline?.(message.includes(NOT_CANONICAL) ? 'a value in a form read_csv may read differently than the converter' : `read_csv refused the file: ${message.split('\n')[0]}`);
      return undefined;
    }
    const { rows, unique } = await keysShape(run, into, spec.key.map(q).join(', '));
    if (unique) return { rows, ordered: false };
    await run.execute(`DELETE FROM ${into}`);
    await insert(true);
    return { rows, ordered: true };
  }

  /**
   * Runs `insert` with DuckDB's `preserve_insertion_order` off, for a parallel read whose rows may land in any order.
   * With it on (DuckDB's default), an INSERT … SELECT from `read_csv` buffers whole batches to keep the file's order;
   * under the 128MB memory limit that made the 1M-row upload's insert (with its lineage columns) 1.1–1.4 s against
   * 0.7–0.85 s without (bench/README.md, "duck-order"). The setting is global to the database, so it is changed only
   * inside the write lock (every statement that relies on insertion order is a write: the ordered re-read here,
   * replaceTable's ORDER BY) and set back on a connection of its own, which an interrupted statement cannot have spoiled.
   * Reads order their answers with ORDER BY and are not affected.
   */
  private async withoutInsertionOrder<T>(insert: () => Promise<T>): Promise<T> {
    const setting = await this.instance.connect();
    try {
      await setting.run('SET preserve_insertion_order = false');
      return await insert();
    } finally {
      await setting.run('RESET preserve_insertion_order').finally(() => setting.closeSync());
    }
  }

  /**
   * The SELECT reading the file with `read_csv` ($1 its path), one value per column of the spec, and its
   * other parameters; `ordered`: by one thread, so that rows are inserted in the file's order.
   */
  private readCsvSql(input: CsvLoadInput, ordered: boolean): { sql: string; params: unknown[] } {
    const q = quoteIdent;
    const fieldOf = new Map(input.columns.map((c, i) => [c, `f${i}`]));
    const lineage = new Map([
      ['_run_id', input.lineage.runId],
      ['_loaded_at', input.lineage.loadedAt],
      ['_source_object', input.lineage.sourceObject],
    ]);
    const params: unknown[] = [];
    const values = input.spec.columns.map((c) => {
      const field = fieldOf.get(c.name);
      if (field) return fieldValueSql(c, field);
      const fixed = lineage.get(c.name);
      if (fixed === undefined) return 'NULL';
      params.push(fixed);
      return `CAST($${params.length + 1} AS ${this.dialect.columnType(c.type)})`;
    });
    const fields = input.columns.map((_, i) => `'f${i}': 'VARCHAR'`).join(', ');
    // Spreadsheet exports end with rows of bare delimiters: the parser skips records whose values are all blank.
    const blankRow = input.columns.map((_, i) => missingSql(q(`f${i}`))).join(' AND ');
    const sql = `SELECT ${values.join(', ')}
      FROM read_csv($1, columns = {${fields}}, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
                    strict_mode = true, null_padding = false, max_line_size = ${CSV_MAX_LINE_BYTES}, buffer_size = ${CSV_BUFFER_BYTES},
                    parallel = ${ordered ? 'false' : 'true'})
      WHERE NOT (${blankRow})`;
    return { sql, params };
  }

  /**
   * The transaction of a merge, from a staged table (in {@link STAGING_SCHEMA}): keeps the last row of each key (by `order`),
   * then replaces rows by key and runs `afterMerge`. Two shortcuts, each decided by a cheap query: a
   * batch whose keys are already unique is merged straight from the staging table (no de-duplicating
   * copy), and into an empty target the batch is inserted without looking for existing keys.
   */
  private async mergeStaged(
    tx: SqlRunner,
    input: Pick<MergeInput, 'spec' | 'afterMerge'>,
    columns: readonly TableColumn[],
    staging: { stage: string; order: string; n: number },
  ): Promise<MergeResult> {
    const { spec } = input;
    const { stage, order, n } = staging;
    const q = quoteIdent;
    const target = this.dialect.quoteTable(spec.table);
    const latest = `__sextant_latest_${n}`;
    const carry = `__sextant_carry_${n}`;
    const keys = spec.key.map(q).join(', ');
    const names = columns.map((c) => q(c.name)).join(', ');
    const matches = spec.key.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');
    let rows = await rowsIfKeysUnique(tx, staged(stage), keys);
    let source = staged(stage);
    if (rows === undefined) {
      await tx.execute(`CREATE TABLE ${staged(latest)} AS SELECT * FROM ${staged(stage)} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${order} DESC) = 1`);
      source = staged(latest);
      rows = Number((await tx.query(`SELECT count(*) AS n FROM ${source}`))[0].n);
    }
    // Key columns are NOT NULL in the target, so a non-null t.key means "exists". An empty target needs no join.
    const [occupied] = await tx.query(`SELECT EXISTS (SELECT 1 FROM ${target}) AS any`);
    const updated = occupied.any === true ? Number((await tx.query(`SELECT count(*) AS existing FROM ${source} s JOIN ${target} t ON ${matches}`))[0].existing) : 0;
    // Replace = delete the rows whose key is staged, insert the staged rows (see ensureTable for why
    // not ON CONFLICT). Columns of the table that the batch does not supply keep their old values.
    const supplied = new Set(columns.map((c) => c.name));
    const kept = updated === 0 ? [] : ((await this.describeWith(tx, spec.table)) ?? []).map((c) => c.name).filter((c) => !supplied.has(c));
    if (kept.length > 0) {
      await tx.execute(
        `CREATE TABLE ${staged(carry)} AS SELECT ${spec.key.map((k) => `t.${q(k)}`).join(', ')}, ${kept.map((c) => `t.${q(c)}`).join(', ')}
          FROM ${target} t JOIN ${source} s ON ${matches}`,
      );
    }
    if (updated > 0) await tx.execute(`DELETE FROM ${target} t USING ${source} s WHERE ${matches}`);
    if (kept.length > 0) {
      const carried = spec.key.map((k) => `s.${q(k)} = c.${q(k)}`).join(' AND ');
      await tx.execute(
        `INSERT INTO ${target} (${names}, ${kept.map(q).join(', ')})
          SELECT ${columns.map((c) => `s.${q(c.name)}`).join(', ')}, ${kept.map((c) => `c.${q(c)}`).join(', ')}
          FROM ${source} s LEFT JOIN ${staged(carry)} c ON ${carried}`,
      );
    } else {
      await tx.execute(`INSERT INTO ${target} (${names}) SELECT ${names} FROM ${source}`);
    }
    if (input.afterMerge) await input.afterMerge(tx, { staged: source });
    return { rowsStaged: rows, inserted: rows - updated, updated };
  }

  /**
   * In the merge's transaction: when the target holds no row, appends the batch into it with no staged
   * copy (a 1M-row upload held the batch twice otherwise: staged, then inserted), keeps the last row of a
   * repeated key (appended rows get increasing rowids), and runs `afterMerge` with the target as the
   * batch. Undefined, nothing read from the batch, when the target has rows.
   */
  private async appendIntoEmpty(conn: DuckDBConnection, tx: SqlRunner, input: MergeInput, columns: readonly TableColumn[]): Promise<MergeResult | undefined> {
    const { spec } = input;
    const target = this.dialect.quoteTable(spec.table);
    const [occupied] = await tx.query(`SELECT EXISTS (SELECT 1 FROM ${target}) AS any`);
    if (occupied.any === true) return undefined;
    const { schema, table } = splitTable(spec.table);
    const tableColumns = (await this.describeWith(tx, spec.table)) ?? [];
    // Columns of the table the batch does not supply take their default (NULL).
    const layout = tableColumns.map((c) => columns.findIndex((s) => s.name === c.name));
    await this.appendRows(conn, { schema: schema ?? 'main', table }, input, columns, layout);
    const keys = spec.key.map(quoteIdent).join(', ');
    let rows = await rowsIfKeysUnique(tx, target, keys);
    if (rows === undefined) {
      await tx.execute(`DELETE FROM ${target} WHERE rowid NOT IN (SELECT max(rowid) FROM ${target} GROUP BY ${keys})`);
      rows = Number((await tx.query(`SELECT count(*) AS n FROM ${target}`))[0].n);
    }
    if (input.afterMerge) await input.afterMerge(tx, { staged: target });
    return { rowsStaged: rows, inserted: rows, updated: 0 };
  }

  /**
   * Stages the rows as text outside the transaction (as a merge does), then in ONE transaction: the
   * typed table beside the old one, DROP of the old, RENAME of the new, and `inSwap`. DuckDB's catalog
   * is versioned like its rows (MVCC), so a reader's query sees the table as of its start: the whole
   * old or the whole new one (test/integration/report-write-back.test.ts reads in a loop during swaps).
   */
  private async replaceOn(conn: DuckDBConnection, lease: Lease, input: ReplaceInput, names: ReturnType<typeof replaceNames>): Promise<{ rows: number }> {
    const { spec } = input;
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    const run = this.runner(conn, lease, 'merge', options);
    const q = quoteIdent;
    const stage = `__sextant_replace_${++this.stageCounter}`;
    const schema = names.schema ?? 'main';
    const inSchema = (name: string) => `${q(schema)}.${q(name)}`;
    await run.execute(`CREATE SCHEMA IF NOT EXISTS ${q(STAGING_SCHEMA)}; CREATE TABLE ${staged(stage)} (${spec.columns.map((c) => `${q(c.name)} VARCHAR`).join(', ')}, ${q(SEQ)} BIGINT)`);
    try {
      await this.appendRows(conn, { schema: STAGING_SCHEMA, table: stage }, { spec, columns: spec.columns.map((c) => c.name), rows: input.rows, signal: input.signal }, spec.columns.map((c) => ({ ...c, type: 'string' as const })), [...spec.columns.keys(), SEQUENCE]);
      const defs = spec.columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`);
      const casts = spec.columns.map((c) => `CAST(${q(c.name)} AS ${this.dialect.columnType(c.type)})`);
      await run.execute(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
      return await this.inTransaction(
        conn,
        lease,
        'merge',
        async (tx) => {
          await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.next)}`);
          await tx.execute(`CREATE TABLE ${inSchema(names.next)} (${defs.join(', ')})`);
          await tx.execute(`INSERT INTO ${inSchema(names.next)} SELECT ${casts.join(', ')} FROM ${staged(stage)} ORDER BY ${q(SEQ)}`);
          const [counted] = await tx.query(`SELECT count(*) AS n FROM ${inSchema(names.next)}`);
          await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.name)}`);
          await tx.execute(`ALTER TABLE ${inSchema(names.next)} RENAME TO ${q(names.name)}`);
          if (input.inSwap) await input.inSwap(tx);
          return { rows: Number(counted.n) };
        },
        options,
      );
    } catch (err) {
      throw translateDuckDbError(err, 'merge', spec.table);
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${staged(stage)}`).catch(() => undefined);
    }
  }

  /**
   * Appends the rows into `into`, whose columns are `layout`: each the index of a row's value, {@link SEQUENCE}
   * for the row's sequence number, or -1 for the column's default. Numbers and booleans go in as themselves
   * where the column has that type; everything else as text, which DuckDB casts to the column's type.
   */
  private async appendRows(conn: DuckDBConnection, into: { schema: string; table: string }, input: MergeInput, columns: readonly TableColumn[], layout: readonly number[]): Promise<void> {
    const appender = await conn.createAppender(into.table, into.schema);
    const width = columns.length;
    const types = columns.map((c) => c.type);
    let appended = false;
    try {
      let seq = 0;
      for await (const row of input.rows) {
        if (input.signal?.aborted) throw input.signal.reason;
        if (row.length !== width) {
          throw new UserError('ROW_INVALID', `merge into ${input.spec.table}: row ${seq + 1} has ${row.length} values, expected ${width} (one per column: ${input.columns.join(', ')})`);
        }
        try {
          for (const i of layout) {
            if (i === SEQUENCE) {
              appender.appendBigInt(BigInt(seq));
              continue;
            }
            if (i < 0) {
              appender.appendDefault();
              continue;
            }
            const value = row[i];
            if (value === null || value === undefined) appender.appendNull();
            else if (typeof value === 'number' && types[i] === 'integer' && Number.isInteger(value)) appender.appendInteger(value);
            else if (typeof value === 'number' && types[i] === 'double') appender.appendDouble(value);
            else if (typeof value === 'boolean' && types[i] === 'boolean') appender.appendBoolean(value);
            else appender.appendVarchar(toStageText(value) as string);
          }
          appender.endRow();
        } catch (err) {
          // A text value the column type cannot hold ("Could not convert string 'abc' to INT32").
          throw new UserError('ROW_INVALID', `The batch could not be merged into ${input.spec.table} and nothing was written: row ${seq + 1}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        seq++;
        if (seq % APPEND_FLUSH_EVERY === 0) flush(appender, input.spec.table);
        if (seq % APPEND_YIELD_EVERY === 0) await yieldToEventLoop();
      }
      flush(appender, input.spec.table);
      appended = true;
    } finally {
      try {
        appender.closeSync();
      } catch (err) {
        // After a failure the staged rows are dropped anyway; report the first error, not this one.
        if (appended) throw appendFailure(err, input.spec.table);
      }
    }
  }
}

/**
 * A failed flush of an appender: a constraint of the table appended into (a key column's NOT NULL, when
 * {@link DuckDbWarehouse.appendIntoEmpty} appends into the target) is a bad row, as the same value is in a
 * staged merge ("Failed to append: NOT NULL constraint failed: posts.post_id").
 */
function appendFailure(err: unknown, table: string): unknown {
  if (err instanceof Error && /constraint failed/i.test(err.message)) {
    return new UserError('ROW_INVALID', `The batch could not be merged into ${table} and nothing was written: ${err.message}`, { cause: err });
  }
  return translateDuckDbError(err, 'merge', table);
}

/** Writes the appender's buffered rows into its table (inside the caller's transaction, if any). */
function flush(appender: DuckDBAppender, table: string): void {
  try {
    appender.flushSync();
  } catch (err) {
    throw appendFailure(err, table);
  }
}

/** Rows whose key hashes {@link keysShape} sorts in one pass: the passes' memory stays that of this many 8-byte hashes. */
const KEY_CHECK_ROWS_PER_PASS = 1_000_000;

/**
 * How many rows `table` (quoted) holds, and whether no `keys` repeat in it. The check looks at hashes of the keys,
 * 8-byte values (grouping by the key columns themselves held the strings too: 231 against 207 MB of peak RSS merging
 * 1M rows, bench/README.md, "xlsx-mem 2"): sorted, a repeat sits next to its twin. Counting distinct hashes took
 * 0.23–0.64 s of one core for 1M rows, sorting 0.12–0.17 s (bench/README.md, "duck-order"). A sort of all the hashes
 * at once held them all (5M rows: 58 MB sorting, then 68 MB of window rows), so a larger table is checked in passes,
 * one per {@link KEY_CHECK_ROWS_PER_PASS} rows, each over the hashes of one residue: a repeated key's hashes are
 * equal, so they meet in the same pass. Each pass reads the key columns again (~35 ms per 1M rows).
 * Two keys whose hashes collide only cost the de-duplication that a repeated key takes.
 */
export async function keysShape(run: Pick<SqlRunner, 'query'>, table: string, keys: string, rowsPerPass = KEY_CHECK_ROWS_PER_PASS): Promise<{ rows: number; unique: boolean }> {
  const rows = Number((await run.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const passes = Math.max(1, Math.ceil(rows / rowsPerPass));
  for (let pass = 0; pass < passes; pass++) {
    const hashes = passes === 1 ? `SELECT hash(${keys}) AS h FROM ${table}` : `SELECT h FROM (SELECT hash(${keys}) AS h FROM ${table}) WHERE h % ${passes} = ${pass}`;
    const [shape] = await run.query(`SELECT count(*) FILTER (WHERE h = previous) AS repeats FROM (SELECT h, lag(h) OVER (ORDER BY h) AS previous FROM (${hashes}))`);
    if (Number(shape.repeats) > 0) return { rows, unique: false };
  }
  return { rows, unique: true };
}

/** The number of rows of `table` (quoted) when no `keys` repeat in it ({@link keysShape}), else undefined. */
async function rowsIfKeysUnique(run: SqlRunner, table: string, keys: string): Promise<number | undefined> {
  const { rows, unique } = await keysShape(run, table, keys);
  return unique ? rows : undefined;
}

/** Drops the staged tables of staging `n` (the staged rows, their de-duplicated copy, the carried columns). */
async function dropStaged(conn: DuckDBConnection, n: number): Promise<void> {
  const drops = ['stage', 'latest', 'carry'].map((what) => `DROP TABLE IF EXISTS ${staged(`__sextant_${what}_${n}`)}`);
  await conn.run(drops.join('; ')).catch(() => undefined);
}

/**
 * DuckDB's concurrency control is optimistic: two connections updating the same row at once make the
 * later one fail with "Conflict on update" (seen with job records updated by a worker and a cancel at
 * the same moment). A single autocommit statement that failed so changed nothing, so running it again
 * is safe; explicit transactions are not retried here (their caller owns the whole unit).
 */
async function retryOnWriteConflict<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (i >= attempts || !/Conflict on (update|tuple deletion|insert)|write-write conflict/i.test(err instanceof Error ? err.message : String(err))) throw err;
      await new Promise((r) => setTimeout(r, 5 * i));
    }
  }
}

/**
 * DuckDB's allocator keeps freed blocks for reuse and returns them to the OS lazily: after a 1M-row upload
 * the process held on to memory it no longer used. Freeing past 8 MB of cached blocks, on DuckDB's
 * background threads, gives it back as the load goes (bench/README.md, "xlsx-mem"); so does the buffer pool
 * when it releases more than 8 MB of blocks at once (DuckDB's default: 512 MB), as it does while a load
 * writes its row groups out (merging 1M rows: 207–219 → 194–196 MB of peak RSS, "xlsx-mem 2").
 */
const ALLOCATOR_SETTINGS: Record<string, string> = {
  allocator_flush_threshold: '8MB',
  allocator_bulk_deallocation_flush_threshold: '8MB',
  allocator_background_threads: 'true',
};

/** Drops what a previous process left staged (it stopped mid-merge): the schema is made again when staging. */
async function emptyStaging(instance: DuckDBInstance): Promise<void> {
  const conn = await instance.connect();
  try {
    const [row] = (await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM duckdb_schemas() WHERE schema_name = '${STAGING_SCHEMA}'`)).getRowObjects();
    if (Number(row.n) > 0) await conn.run(`DROP SCHEMA ${quoteIdent(STAGING_SCHEMA)} CASCADE`);
  } finally {
    conn.closeSync();
  }
}

/**
 * Opens the DuckDB warehouse at `path` (a file, created with its parent folder when missing, or
 * `:memory:`).
 */
export async function openDuckDbWarehouse(path: string, options: WarehouseOptions): Promise<Warehouse> {
  if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
  try {
    const config: Record<string, string> = {};
    const memoryLimit = options.memoryLimit ?? (path === ':memory:' ? undefined : DEFAULT_DUCKDB_MEMORY_LIMIT);
    if (memoryLimit) config.memory_limit = memoryLimit;
    Object.assign(config, ALLOCATOR_SETTINGS);
    const instance = await DuckDBInstance.create(path, config);
    if (path !== ':memory:') await emptyStaging(instance);
    return new DuckDbWarehouse(instance, options);
  } catch (err) {
    throw translateOpenError(err, path);
  }
}
