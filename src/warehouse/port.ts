/**
 * The warehouse port. The core (semantic planning, ingestion) talks to this interface only; the
 * adapters in duckdb/, postgres/ and redshift/ (over pg-wire/) are the only modules that import a driver.
 */
import type { Readable } from 'node:stream';

/** Grains a time value is truncated to (docs/models.md); ISO weeks start on Monday. */
export const TIME_GRAINS = ['hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type TimeGrain = (typeof TIME_GRAINS)[number];

export const DIALECT_NAMES = ['duckdb', 'postgres', 'redshift'] as const;
export type DialectName = (typeof DIALECT_NAMES)[number];

/** Column types of ingestion targets and platform tables (docs/targets.md). */
export const COLUMN_TYPES = ['string', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'date', 'timestamp', 'json'] as const;
export type ColumnTypeName = (typeof COLUMN_TYPES)[number];

/** Type of a bound parameter, so that a dialect can cast it explicitly. */
export type ParamType = 'string' | 'number' | 'boolean' | 'date' | 'timestamp';

/**
 * Pure SQL text for one dialect. Identifiers handed to these functions come from models and
 * targets (validated names), never from clients; values always travel as parameters.
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** `"name"` with embedded quotes doubled. */
  quoteIdent(name: string): string;
  /** `schema.table` → `"schema"."table"`. */
  quoteTable(qualified: string): string;
  /** Placeholder of the 1-based parameter `index`, cast to `type` where the dialect needs it. */
  param(index: number, type?: ParamType): string;
  /** Truncates a time expression to a grain: a DATE for day and coarser, a TIMESTAMP for hour. ISO weeks start on Monday. */
  truncTime(grain: TimeGrain, expr: string): string;
  /** Casts an expression to a double-precision float. */
  toFloat(expr: string): string;
  /** `expr` contains the string parameter `param` (case-sensitive, no pattern characters). */
  contains(expr: string, param: string): string;
  /** `expr` starts with the string parameter `param` (no pattern characters). */
  startsWith(expr: string, param: string): string;
  /** The DDL type of a target column type. */
  columnType(type: ColumnTypeName): string;
}

/**
 * A value as the warehouse returns it: dates as `YYYY-MM-DD`, timestamps as ISO strings in UTC, numbers
 * as numbers — except a whole number beyond ±(2^53 − 1), which a double cannot hold exactly: it comes
 * back as a `bigint`, so that faces which promise exact integers (OData Edm.Int64) can keep it.
 */
export type SqlValue = string | number | bigint | boolean | null;
export type Row = Record<string, SqlValue>;

export interface QueryOptions {
  /** Cancels the statement in the database past this many milliseconds (default: the adapter's statement timeout; 0: no timeout). */
  timeoutMs?: number;
  /** Cancels the statement in the database when aborted. */
  signal?: AbortSignal;
  /**
   * The statement's text recurs with other parameters (the serving layer's reads): the adapter keeps it
   * prepared on the connection, so the database parses and plans its shape once rather than per execution
   * (PostgreSQL/Redshift named statements, DuckDB prepared statements; a bounded number per connection).
   * Only for `query` outside a transaction; DDL and loads leave it unset.
   */
  prepare?: boolean;
}

/** Something that runs SQL: the warehouse itself or an open transaction. */
export interface SqlRunner {
  /** Runs one statement with positional parameters; rows come back with normalised values. */
  query(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<Row[]>;
  /** Runs statements that return nothing (DDL, multi-statement scripts without parameters). */
  execute(sql: string, params?: readonly unknown[]): Promise<void>;
}

export interface TableColumn {
  name: string;
  type: ColumnTypeName;
  /** NOT NULL in the table. */
  required?: boolean;
}

export interface TableSpec {
  /** `schema.table`. */
  table: string;
  columns: TableColumn[];
  /** Natural key; the table gets a primary key (or unique constraint) on it. */
  key: string[];
}

export interface MergeResult {
  /** Rows in the input batch after de-duplication on the key (the last occurrence wins). */
  rowsStaged: number;
  /** Rows that did not exist before. */
  inserted: number;
  /** Rows that replaced an existing row with the same key. */
  updated: number;
}

/** What `afterMerge` is told about the batch it runs after. */
export interface MergedBatch {
  /**
   * A table, quoted and ready to put in SQL, that holds the batch's rows (at least one row per staged key,
   * columns named as `MergeInput.columns`) and still exists while `afterMerge` runs: e.g. to find the
   * time partitions the batch touched. Undefined when the batch had no rows (an adapter may skip staging).
   */
  staged: string | undefined;
}

/** A batch of rows to merge: values in the order of `columns`, already converted to the column types. */
export interface MergeInput {
  spec: TableSpec;
  /** The columns supplied, a subset of spec.columns that includes every key column. */
  columns: string[];
  rows: AsyncIterable<readonly SqlValue[]> | Iterable<readonly SqlValue[]>;
  /**
   * Abandons the merge when aborted (a cancelled job): the batch is rolled back and the merge rejects
   * with the signal's reason. A merge has no statement timeout, since its duration grows with the batch.
   */
  signal?: AbortSignal;
  /**
   * Statements that must commit or roll back with this merge, run in its transaction after the rows are
   * merged (a connector's state advancing with the rows it loaded; rollups refreshed for the partitions
   * the batch touched). When it throws, nothing is merged.
   */
  afterMerge?: (tx: SqlRunner, batch: MergedBatch) => Promise<void>;
}

/** Lineage written to every row of a bulk-loaded file (the target's `_run_id`, `_loaded_at`, `_source_object`). */
export interface CsvLineage {
  runId: string;
  /** `YYYY-MM-DD HH:MM:SS.sss` in UTC. */
  loadedAt: string;
  sourceObject: string;
}

/**
 * A CSV file for the warehouse's own bulk reader (PostgreSQL `COPY`, DuckDB `read_csv`): the fast path of an
 * upload (docs/targets.md, "Large files"). The loader offers a file whose header maps onto the target's
 * columns one to one; the adapter declines it unless every value reads in its reader exactly as the loader's
 * converter would read it (src/ingest/convert-value.ts), and the result is the same table as `merge` of the
 * converted rows: merged on `spec.key`, the last row of a key winning, lineage on every row.
 */
export interface CsvLoadInput {
  spec: TableSpec;
  /** The table column each field of the file feeds, in the file's order (the header mapped to columns). */
  columns: string[];
  lineage: CsvLineage;
  /** Opens the file's bytes anew (UTF-8 without a BOM, comma-separated, header line first). */
  open(): Promise<Readable>;
  /** The file on this machine's disk when the object store is a folder: an embedded reader may open it itself. */
  localPath?: string;
  signal?: AbortSignal;
  /** Called every few thousand records the adapter has read, and with the file's record count at the end (an adapter that cannot count leaves it). */
  onProgress?: (records: number) => void;
  /** Told why, when the adapter declines the file (answers undefined): the loader logs it, since the usual way is slower. */
  onDecline?: (reason: string) => void;
  afterMerge?: MergeInput['afterMerge'];
}

/** Longest table name `replaceTable` accepts: room for the names beside it within PostgreSQL's 63 characters. */
export const MAX_REPLACED_TABLE_NAME = 50;

/** A table's whole new content (a report's write-back, docs/reports.md). */
export interface ReplaceInput {
  /** The table and its columns; `key` is ignored (a replaced table has no key: its rows are one query's answer). */
  spec: TableSpec;
  /** Values in the order of `spec.columns`. */
  rows: AsyncIterable<readonly SqlValue[]> | Iterable<readonly SqlValue[]>;
  /** Runs in the swap's transaction, after the new rows are in place: what must change with them (a lineage record). */
  inSwap?: (tx: SqlRunner) => Promise<void>;
  /** Abandons the replacement when aborted; the old table stays as it was. */
  signal?: AbortSignal;
}

/** How an unloaded column is written, so that the file reads like the streamed CSV export. */
export type UnloadColumnKind = 'text' | 'boolean' | 'timestamp' | 'plain';

/** A column of an unloaded result: its name in the query, its header in the file, how it is written. */
export interface UnloadColumn {
  name: string;
  header: string;
  kind: UnloadColumnKind;
}

/** A query's whole result written by the warehouse itself as a CSV file into the object store. */
export interface UnloadRequest {
  /** The query, with positional parameters, as the dialect plans it. */
  sql: string;
  params: readonly unknown[];
  /** The query's result columns, in order. */
  columns: readonly UnloadColumn[];
  /** The query's order, by column name (the unloaded SELECT wraps the query and orders again). */
  order: ReadonlyArray<{ key: string; direction: 'ASC' | 'DESC' }>;
  /** Object-store key prefix of the files: `<prefix>000.csv` (and further parts), `<prefix>manifest`. */
  prefix: string;
  signal?: AbortSignal;
}

/** What an unload wrote. */
export interface UnloadResult {
  rows: number;
  /** Object-store keys of the CSV files, in order (one unless the file passed 6.2 GB). */
  keys: string[];
}

export interface Warehouse extends SqlRunner {
  readonly dialect: SqlDialect;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Streams the rows of a large result in batches without blocking the event loop. */
  stream(sql: string, params?: readonly unknown[], options?: QueryOptions & { batchSize?: number }): AsyncIterable<Row[]>;
  /** Creates the schema and table if missing; adds missing columns as nullable (never drops or retypes). */
  ensureTable(spec: TableSpec): Promise<void>;
  /** Columns of a table as the database has them, or undefined when the table does not exist. */
  describeTable(table: string): Promise<TableColumn[] | undefined>;
  /**
   * Stages the rows and merges them into `spec.table` on `spec.key` in one transaction: a row whose key
   * exists replaces it, others are inserted. Nothing is visible until the whole batch is merged.
   */
  merge(input: MergeInput): Promise<MergeResult>;
  /**
   * Optional: loads a CSV file with the warehouse's own bulk reader, in one transaction like `merge`.
   * Resolves undefined, with nothing changed, when it declines the file (a value its reader would take
   * differently, a bad row): the loader then converts and merges the rows itself, and reports the errors.
   */
  loadCsv?(input: CsvLoadInput): Promise<MergeResult | undefined>;
  /**
   * Replaces the table (created with its schema when missing) by `rows`, atomically: a reader sees the
   * whole old content or the whole new one, never an empty, half-written or missing table. The new
   * rows are written to a table beside it, which is swapped in by rename in one transaction (DDL is
   * transactional on DuckDB and PostgreSQL). Columns may differ from the old table's.
   */
  replaceTable(input: ReplaceInput): Promise<{ rows: number }>;
  /**
   * Optional: writes the whole result of a query as CSV into the object store from the warehouse itself
   * (Redshift's `UNLOAD … TO 's3://…'`), without the rows passing through this process. Adapters that
   * cannot leave it undefined.
   */
  unload?(request: UnloadRequest): Promise<UnloadResult>;
  /** Checks that the warehouse answers. */
  ping(): Promise<void>;
  /** Connections of this process's pool right now (for `/metrics`). */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

/** A warehouse connection pool's use: leased, idle, and callers waiting for a connection. */
export interface PoolStats {
  inUse: number;
  idle: number;
  waiting: number;
}

/**
 * Object storage a warehouse loads from (Redshift COPY reads S3, not the client connection): the
 * composition root adapts the deployment's object store to this. Keys are relative to the store.
 */
export interface LoadStaging {
  /** Writes an object; visible only once complete. Aborting leaves nothing under the key. */
  put(key: string, body: string | Readable, options?: { signal?: AbortSignal }): Promise<unknown>;
  /** Reads an object; rejects when it is missing. */
  get(key: string): Promise<Readable>;
  delete(key: string): Promise<void>;
  /** The URL the warehouse reads `key` at: `s3://bucket/prefix/key`. */
  url(key: string): string;
}

/** What the Redshift adapter loads with (SEXTANT_REDSHIFT_IAM_ROLE and the S3 object store). */
export interface RedshiftLoadOptions {
  /** Where batches are staged as CSV files and a manifest, under `_staging/`. */
  staging: LoadStaging;
  /** The IAM role COPY reads the staged files with. */
  iamRole: string;
  /** The bucket's region (COPY's REGION), when it differs from the cluster's. */
  region?: string;
}

/** How an adapter is opened (src/warehouse/open.ts). */
export interface WarehouseOptions {
  /** Default statement timeout in milliseconds; a query past it is cancelled in the database (QUERY_TIMEOUT). */
  statementTimeoutMs: number;
  /** Connections kept open (PostgreSQL pool size; DuckDB connections that run queries in parallel). */
  poolSize?: number;
  /** Prepared statements kept per connection for `QueryOptions.prepare` (default 100; 0: none, every statement planned anew). */
  preparedStatements?: number;
  /**
   * DuckDB only: its `memory_limit` (`256MB`, `1GB`), past which it spills temporary data (a merge's
   * staged batch included) to its temp directory. Undefined: 128MB for a warehouse file, DuckDB's
   * default (80 % of the machine's RAM) for `:memory:`.
   */
  memoryLimit?: string;
  /** Required to open a Redshift warehouse. */
  redshift?: RedshiftLoadOptions;
}
