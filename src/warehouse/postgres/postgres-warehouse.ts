/**
 * The PostgreSQL warehouse over a `pg` Pool — and, until redshift/ exists, the Redshift one (same wire
 * protocol). SQL that PostgreSQL accepts but Redshift does not is marked `PG-ONLY` so that the future
 * Redshift adapter knows exactly what to replace: COPY FROM STDIN, ON CONFLICT, xmax, advisory locks,
 * ON COMMIT DROP.
 *
 * Timeouts are enforced by the server (`statement_timeout`), so a timed-out statement stops in the
 * database, not only in Node; an AbortSignal cancels with `pg_cancel_backend` from another connection.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { PoolClient, PoolConfig } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { UserError } from '../../errors.js';
import type {
  ColumnTypeName,
  MergeInput,
  MergeResult,
  QueryOptions,
  ReplaceInput,
  Row,
  SqlRunner,
  SqlValue,
  TableColumn,
  TableSpec,
  Warehouse,
  WarehouseOptions,
} from '../port.js';
import { STAGE_SEQ_COLUMN as SEQ, checkTableSpec, mergeColumns, quoteIdent, replaceNames, splitTable } from '../sql.js';
import { csvChunks } from './copy-csv.js';
import { postgresDialect } from './dialect.js';
import { QUERY_CANCELED, isConnectionFailure, sqlState, translatePgError, type PgOperation } from './errors.js';
import { sextantPgTypes } from './type-parsers.js';

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_BATCH_SIZE = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** What we know of a pooled connection: its backend pid (for cancels) and its session statement_timeout. */
interface Session {
  pid: number;
  timeoutMs: number;
}

/**
 * A leased connection. `scope` tracks the statement_timeout in force: in a transaction it is changed
 * with SET LOCAL (undone at COMMIT/ROLLBACK, so the session value stays true); outside with SET.
 */
interface Lease {
  client: PoolClient;
  session: Session;
  /**
   * Set after a cancel was sent (a late cancel could hit the connection's next statement) or a
   * connection-level error: such a connection is closed on release, not reused.
   */
  discard: boolean;
  /** Listens for errors while the connection is leased (pg-pool only listens while it is idle). */
  onError: (err: Error) => void;
}

interface Scope {
  local: boolean;
  timeoutMs: number;
}

/** A bound parameter: Dates as ISO text (pg would send local time), bigints as text; the rest as pg sends them. */
function toPgParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return value ?? null;
}

/** information_schema `data_type` → the target column type it was created from. */
function columnTypeOf(dataType: string): ColumnTypeName {
  switch (dataType) {
    case 'integer':
    case 'smallint':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'numeric':
      return 'decimal';
    case 'double precision':
    case 'real':
      return 'double';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp without time zone':
    case 'timestamp with time zone':
      return 'timestamp';
    case 'json':
    case 'jsonb':
      return 'json';
    default:
      // text, character varying, and types a target cannot declare (uuid, time …) read back as text.
      return 'string';
  }
}

function timeoutLiteral(ms: number): string {
  return String(Math.max(0, Math.floor(ms)));
}

class PostgresWarehouse implements Warehouse {
  readonly dialect = postgresDialect;
  private readonly pool: pg.Pool;
  private readonly poolMax: number;
  private readonly sessions = new WeakMap<PoolClient, Session>();
  private readonly timeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: PoolConfig,
    options: WarehouseOptions,
  ) {
    this.timeoutMs = options.statementTimeoutMs;
    this.poolMax = options.poolSize ?? DEFAULT_POOL_SIZE;
    this.pool = new pg.Pool({
      ...config,
      max: this.poolMax,
      types: sextantPgTypes,
      // Without these an unreachable server hangs a connect (and /health/ready) forever.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    // An idle connection that the server drops (restart, pg_terminate_backend) is reported here; the
    // pool has already discarded it and the next acquire reconnects. Without a listener Node would crash.
    this.pool.on('error', () => undefined);
  }

  query(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<Row[]> {
    return this.withLease((lease) => this.runOn(lease, { local: false, timeoutMs: lease.session.timeoutMs }, 'query', sql, params, options));
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.query(sql, params);
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.withLease((lease) => this.inTransaction(lease, 'query', fn));
  }

  async *stream(sql: string, params: readonly unknown[] = [], options: QueryOptions & { batchSize?: number } = {}): AsyncIterable<Row[]> {
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));
    const lease = await this.acquire();
    const scope: Scope = { local: true, timeoutMs: lease.session.timeoutMs };
    const cursor = quoteIdent(`__sextant_cursor`);
    let open = false;
    try {
      // A cursor lives in a transaction; each FETCH is one statement, so the statement timeout
      // bounds the database's work per batch, not the time the consumer spends on a batch.
      await lease.client.query('BEGIN');
      open = true;
      await this.runOn(lease, scope, 'query', `DECLARE ${cursor} CURSOR FOR ${sql}`, params, options);
      for (;;) {
        const rows = await this.runOn(lease, scope, 'query', `FETCH FORWARD ${batchSize} FROM ${cursor}`, [], options);
        if (rows.length > 0) yield rows;
        if (rows.length < batchSize) break;
      }
      open = false;
      await lease.client.query('COMMIT');
    } finally {
      // Reached early when the consumer stops iterating or a FETCH fails: end the transaction.
      if (open) await this.rollback(lease);
      this.release(lease);
    }
  }

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

  describeTable(table: string): Promise<TableColumn[] | undefined> {
    return this.describeWith(this, table);
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

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private async acquire(): Promise<Lease> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      // pg reports a full pool and an unreachable server alike after connectionTimeoutMillis; with a
      // live server it means every connection stayed busy that long (seen under 16 clients × 30 s queries).
      if (err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message) && this.pool.totalCount >= this.poolMax) {
        throw new UserError('QUERY_TIMEOUT', `The warehouse is busy: all ${this.poolMax} connections stayed in use for ${CONNECT_TIMEOUT_MS / 1000} s. Retry later, or raise SEXTANT_WAREHOUSE_POOL_SIZE.`, { cause: err });
      }
      throw err;
    }
    let session = this.sessions.get(client);
    if (!session) {
      try {
        // UTC so that date_trunc and casts of timestamptz do not depend on the server's TimeZone.
        await client.query(`SET TIME ZONE 'UTC'`);
        await client.query(`SET statement_timeout = ${timeoutLiteral(this.timeoutMs)}`);
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        session = { pid: Number(rows[0].pid), timeoutMs: this.timeoutMs };
        this.sessions.set(client, session);
      } catch (err) {
        client.release(true);
        throw err;
      }
    }
    // A checked-out pg client that loses its connection between statements (a stream's consumer at
    // work, a transaction's caller thinking) emits 'error'; with no listener that would crash the process.
    const lease: Lease = { client, session, discard: false, onError: () => (lease.discard = true) };
    client.on('error', lease.onError);
    return lease;
  }

  private release(lease: Lease): void {
    lease.client.removeListener('error', lease.onError);
    lease.client.release(lease.discard);
  }

  private async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease);
    } finally {
      this.release(lease);
    }
  }

  /** Runs one statement with its timeout (set only when it differs from the one in force) and its AbortSignal. */
  private async runOn(lease: Lease, scope: Scope, op: PgOperation, sql: string, params: readonly unknown[], options: QueryOptions, table?: string): Promise<Row[]> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const { signal } = options;
    if (signal?.aborted) throw signal.reason;
    if (scope.timeoutMs !== timeoutMs) {
      await lease.client.query(`SET ${scope.local ? 'LOCAL ' : ''}statement_timeout = ${timeoutLiteral(timeoutMs)}`);
      scope.timeoutMs = timeoutMs;
      if (!scope.local) lease.session.timeoutMs = timeoutMs;
    }
    let cancelled = false;
    const onAbort = (): void => {
      cancelled = true;
      lease.discard = true;
      void this.cancelBackend(lease.session.pid);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await lease.client.query<Row>({ text: sql, values: params.map(toPgParam) });
      // Multi-statement scripts (no parameters) answer an array of results; the last one is the answer.
      const last = Array.isArray(result) ? (result as pg.QueryResult<Row>[]).at(-1) : result;
      return last?.rows ?? [];
    } catch (err) {
      if (cancelled && sqlState(err) === QUERY_CANCELED) throw signal?.reason ?? err;
      if (isConnectionFailure(err)) lease.discard = true;
      throw translatePgError(err, { operation: op, timeoutMs, table });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Asks the server to cancel what `pid` runs, over a separate connection (the pool may be full). */
  private async cancelBackend(pid: number): Promise<void> {
    const client = new pg.Client({ ...this.config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // The statement then runs to its timeout; nothing else can be done from here.
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A runner on one lease; `defaults` apply to statements that do not set their own options. */
  private runner(lease: Lease, scope: Scope, op: PgOperation, table?: string, defaults: QueryOptions = {}): SqlRunner {
    return {
      query: (sql, params = [], options = {}) => this.runOn(lease, scope, op, sql, params, { ...defaults, ...options }, table),
      execute: async (sql, params = []) => {
        await this.runOn(lease, scope, op, sql, params, defaults, table);
      },
    };
  }

  private async rollback(lease: Lease): Promise<void> {
    try {
      await lease.client.query('ROLLBACK');
    } catch {
      lease.discard = true;
    }
  }

  private async inTransaction<T>(
    lease: Lease,
    op: PgOperation,
    fn: (tx: SqlRunner, scope: Scope) => Promise<T>,
    table?: string,
    defaults: QueryOptions = {},
  ): Promise<T> {
    const scope: Scope = { local: true, timeoutMs: lease.session.timeoutMs };
    await lease.client.query('BEGIN');
    let result: T;
    try {
      result = await fn(this.runner(lease, scope, op, table, defaults), scope);
    } catch (err) {
      await this.rollback(lease);
      throw err;
    }
    try {
      await lease.client.query('COMMIT');
    } catch (err) {
      await this.rollback(lease);
      throw translatePgError(err, { operation: op, timeoutMs: this.timeoutMs, table });
    }
    return result;
  }

  private async describeWith(run: SqlRunner, table: string): Promise<TableColumn[] | undefined> {
    const { schema, table: name } = splitTable(table);
    const rows = await run.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [schema ?? 'public', name],
    );
    if (rows.length === 0) return undefined;
    return rows.map((r) => ({ name: String(r.column_name), type: columnTypeOf(String(r.data_type)), required: r.is_nullable === 'NO' }));
  }

  /**
   * In one transaction: COPY the batch into a temporary staging table (typed as the target, plus a
   * sequence), keep the last row of each key, upsert it and count inserts and updates. A failure
   * anywhere rolls everything back, so the target is unchanged.
   */
  private async mergeOn(lease: Lease, input: MergeInput, columns: TableColumn[]): Promise<MergeResult> {
    const { spec } = input;
    const q = quoteIdent;
    const stage = q('__sextant_stage');
    const target = this.dialect.quoteTable(spec.table);
    const names = columns.map((c) => q(c.name)).join(', ');
    const keys = spec.key.map(q).join(', ');
    const nonKey = columns.filter((c) => !spec.key.includes(c.name));
    // With only key columns supplied an existing row is "updated" to itself, so that RETURNING sees it.
    const sets = (nonKey.length > 0 ? nonKey.map((c) => c.name) : spec.key).map((n) => `${q(n)} = excluded.${q(n)}`);
    // No statement timeout: a merge lasts as long as its batch is big (the COPY as long as its
    // producer, a parser reading an upload); its signal can still stop it.
    const options: QueryOptions = { timeoutMs: 0, signal: input.signal };
    try {
      return await this.inTransaction(
        lease,
        'merge',
        async (tx) => {
          // PG-ONLY: ON COMMIT DROP (Redshift drops temp tables at session end).
          await tx.execute(
            `CREATE TEMP TABLE ${stage} (${columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')}, ${q(SEQ)} bigint) ON COMMIT DROP`,
          );
          await this.copyRows(lease, input, columns.length, `COPY ${stage} (${names}, ${q(SEQ)}) FROM STDIN WITH (FORMAT csv)`);
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
          const inserted = Number(counts.inserted);
          const updated = Number(counts.updated);
          if (input.afterMerge) await input.afterMerge(tx);
          return { rowsStaged: inserted + updated, inserted, updated };
        },
        spec.table,
        options,
      );
    } catch (err) {
      // The connection may be mid-COPY or otherwise unsure; do not hand it to the next caller.
      lease.discard = true;
      throw err;
    }
  }

  private async copyRows(lease: Lease, input: MergeInput, width: number, copySql: string, withSequence = true): Promise<void> {
    const check = (row: readonly SqlValue[], index: number): void => {
      if (row.length !== width) {
        throw new UserError('ROW_INVALID', `merge into ${input.spec.table}: row ${index + 1} has ${row.length} values, expected ${width} (one per column: ${input.columns.join(', ')})`);
      }
    };
    const { signal } = input;
    try {
      // An abort destroys both streams; pg-copy-streams then sends CopyFail, which ends the COPY.
      await pipeline(Readable.from(csvChunks(input.rows, check, withSequence)), lease.client.query(copyFrom(copySql)), signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw translatePgError(err, { operation: 'merge', timeoutMs: 0, table: input.spec.table });
    }
  }
}

/** Opens the PostgreSQL (or, for now, Redshift) warehouse at a `postgres://` URL. */
export async function openPostgresWarehouse(url: string, options: WarehouseOptions): Promise<Warehouse> {
  const warehouse = new PostgresWarehouse({ connectionString: url }, options);
  return warehouse;
}
