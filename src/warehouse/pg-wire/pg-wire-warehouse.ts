/**
 * What the PostgreSQL and Redshift warehouses share: both speak the PostgreSQL wire protocol through
 * `pg`. This base class owns the pool, the session set-up (UTC, statement_timeout), statement timeouts
 * and cancels (`pg_cancel_backend` from another connection), transactions, cursor streams,
 * describeTable and COPY FROM STDIN. Each adapter adds its own DDL (`ensureTable`) and load (`merge`).
 *
 * Timeouts are enforced by the server (`statement_timeout`), so a timed-out statement stops in the
 * database, not only in Node; an AbortSignal cancels with `pg_cancel_backend` from another connection.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { PoolClient, PoolConfig } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { UserError } from '../../errors.js';
import type {
  ColumnTypeName,
  MergeInput,
  MergeResult,
  PoolStats,
  ReplaceInput,
  QueryOptions,
  Row,
  SqlDialect,
  SqlRunner,
  TableColumn,
  TableSpec,
  Warehouse,
  WarehouseOptions,
} from '../port.js';
import { quoteIdent, splitTable } from '../sql.js';
import { QUERY_CANCELED, isConnectionFailure, sqlState, translatePgError, type PgOperation } from './errors.js';
import { sextantPgTypes } from './type-parsers.js';
import { DEFAULT_PREPARED_STATEMENTS, PreparedStatements, deallocate, deallocateSql, isPrepared, statementName } from './prepared.js';

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_BATCH_SIZE = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * What we know of a pooled connection: its backend pid (for cancels), its session statement_timeout and
 * the named statements prepared on it.
 */
export interface Session {
  pid: number;
  timeoutMs: number;
  prepared: PreparedStatements;
}

/**
 * A leased connection. `scope` tracks the statement_timeout in force: in a transaction it is changed
 * with SET LOCAL (undone at COMMIT/ROLLBACK, so the session value stays true); outside with SET.
 */
export interface Lease {
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

export interface Scope {
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
export function columnTypeOf(dataType: string): ColumnTypeName {
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

/** PostgreSQL's refusal to run a prepared statement whose result columns changed since it was planned. */
function isPlanInvalidated(err: unknown): boolean {
  return sqlState(err) === '0A000' && err instanceof Error && /cached plan must not change result type/i.test(err.message);
}

function timeoutLiteral(ms: number): string {
  return String(Math.max(0, Math.floor(ms)));
}

const CURSOR = quoteIdent('__sextant_cursor');

/**
 * The statements this base class sends itself, in one place so that each is reviewed per dialect
 * (test/golden/redshift/) and parsed by a Redshift grammar: PostgreSQL and Redshift both accept them.
 */
export const PG_WIRE_SQL = {
  /** UTC so that date_trunc and casts of timestamptz do not depend on the server's TimeZone. */
  setUtc: `SET timezone TO 'UTC'`,
  setTimeout: (ms: number, local: boolean): string => `SET ${local ? 'LOCAL ' : ''}statement_timeout = ${timeoutLiteral(ms)}`,
  backendPid: 'SELECT pg_backend_pid() AS pid',
  cancel: 'SELECT pg_cancel_backend($1)',
  ping: 'SELECT 1 AS ok',
  begin: 'BEGIN',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  declareCursor: (sql: string): string => `DECLARE ${CURSOR} CURSOR FOR ${sql}`,
  fetch: (batchSize: number): string => `FETCH FORWARD ${batchSize} FROM ${CURSOR}`,
  /** Drops a named statement beyond a connection's bound (src/warehouse/pg-wire/prepared.ts sends it). */
  deallocate: deallocateSql,
  describe: `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
} as const;

/** The shared half of the pg-protocol warehouses; subclasses add `ensureTable` and `merge`. */
export abstract class PgWireWarehouse implements Warehouse {
  abstract readonly dialect: SqlDialect;
  protected readonly pool: pg.Pool;
  protected readonly poolMax: number;
  private readonly sessions = new WeakMap<PoolClient, Session>();
  protected readonly timeoutMs: number;
  /** Named statements kept per connection (0: none). */
  protected readonly preparedMax: number;
  private closing: Promise<void> | undefined;

  constructor(
    protected readonly config: PoolConfig,
    options: WarehouseOptions,
  ) {
    this.timeoutMs = options.statementTimeoutMs;
    this.preparedMax = Math.max(0, Math.floor(options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS));
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

  poolStats(): PoolStats {
    return { inUse: this.pool.totalCount - this.pool.idleCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
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
    let open = false;
    try {
      // A cursor lives in a transaction; each FETCH is one statement, so the statement timeout
      // bounds the database's work per batch, not the time the consumer spends on a batch.
      await lease.client.query(PG_WIRE_SQL.begin);
      open = true;
      await this.runOn(lease, scope, 'query', PG_WIRE_SQL.declareCursor(sql), params, options);
      for (;;) {
        const rows = await this.runOn(lease, scope, 'query', PG_WIRE_SQL.fetch(batchSize), [], options);
        if (rows.length > 0) yield rows;
        if (rows.length < batchSize) break;
      }
      open = false;
      await lease.client.query(PG_WIRE_SQL.commit);
    } finally {
      // Reached early when the consumer stops iterating or a FETCH fails: end the transaction.
      if (open) await this.rollback(lease);
      this.release(lease);
    }
  }

  abstract ensureTable(spec: TableSpec): Promise<void>;

  abstract merge(input: MergeInput): Promise<MergeResult>;

  abstract replaceTable(input: ReplaceInput): Promise<{ rows: number }>;

  describeTable(table: string): Promise<TableColumn[] | undefined> {
    return this.describeWith(this, table);
  }

  async ping(): Promise<void> {
    await this.query(PG_WIRE_SQL.ping);
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  protected async acquire(): Promise<Lease> {
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
        await client.query(PG_WIRE_SQL.setUtc);
        await client.query(PG_WIRE_SQL.setTimeout(this.timeoutMs, false));
        const { rows } = await client.query<{ pid: number }>(PG_WIRE_SQL.backendPid);
        session = { pid: Number(rows[0].pid), timeoutMs: this.timeoutMs, prepared: new PreparedStatements(this.preparedMax) };
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

  protected release(lease: Lease): void {
    lease.client.removeListener('error', lease.onError);
    lease.client.release(lease.discard);
  }

  protected async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease);
    } finally {
      this.release(lease);
    }
  }

  /** Runs one statement with its timeout (set only when it differs from the one in force) and its AbortSignal. */
  protected async runOn(lease: Lease, scope: Scope, op: PgOperation, sql: string, params: readonly unknown[], options: QueryOptions, table?: string): Promise<Row[]> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const { signal } = options;
    if (signal?.aborted) throw signal.reason;
    if (scope.timeoutMs !== timeoutMs) {
      await lease.client.query(PG_WIRE_SQL.setTimeout(timeoutMs, scope.local));
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
      // Named (planned once per connection) only outside a transaction: a retry after an invalidated
      // plan would find a transaction aborted by the first failure.
      const name = options.prepare && !scope.local && this.preparedMax > 0 ? statementName(sql) : undefined;
      const result = await this.send(lease, sql, params.map(toPgParam), name);
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

  /**
   * Sends one statement; with a `name`, as that named prepared statement, deallocating the connection's
   * least recently used ones beyond its bound first.
   */
  private async send(lease: Lease, text: string, values: unknown[], name: string | undefined): Promise<pg.QueryResult<Row>> {
    if (name === undefined) return lease.client.query<Row>({ text, values });
    const { client, session } = lease;
    for (const old of session.prepared.use(name)) await deallocate(client, old);
    try {
      try {
        return await client.query<Row>({ name, text, values });
      } catch (err) {
        // DDL changed what the statement returns (a table gained a column under `SELECT *`, a column
        // was retyped): PostgreSQL refuses the cached plan (0A000) rather than re-planning it. Prepare again, once.
        if (!isPlanInvalidated(err)) throw err;
        await deallocate(client, name);
        return await client.query<Row>({ name, text, values });
      }
    } catch (err) {
      // A statement that failed to parse (or was just deallocated) is not on the connection any more.
      if (!isPrepared(client, name)) session.prepared.forget(name);
      throw err;
    }
  }

  /** Asks the server to cancel what `pid` runs, over a separate connection (the pool may be full). */
  protected async cancelBackend(pid: number): Promise<void> {
    const client = new pg.Client({ ...this.config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(PG_WIRE_SQL.cancel, [pid]);
    } catch {
      // The statement then runs to its timeout; nothing else can be done from here.
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A runner on one lease; `defaults` apply to statements that do not set their own options. */
  protected runner(lease: Lease, scope: Scope, op: PgOperation, table?: string, defaults: QueryOptions = {}): SqlRunner {
    return {
      query: (sql, params = [], options = {}) => this.runOn(lease, scope, op, sql, params, { ...defaults, ...options }, table),
      execute: async (sql, params = []) => {
        await this.runOn(lease, scope, op, sql, params, defaults, table);
      },
    };
  }

  protected async rollback(lease: Lease): Promise<void> {
    try {
      await lease.client.query(PG_WIRE_SQL.rollback);
    } catch {
      lease.discard = true;
    }
  }

  protected async inTransaction<T>(
    lease: Lease,
    op: PgOperation,
    fn: (tx: SqlRunner, scope: Scope) => Promise<T>,
    table?: string,
    defaults: QueryOptions = {},
  ): Promise<T> {
    const scope: Scope = { local: true, timeoutMs: lease.session.timeoutMs };
    await lease.client.query(PG_WIRE_SQL.begin);
    let result: T;
    try {
      result = await fn(this.runner(lease, scope, op, table, defaults), scope);
    } catch (err) {
      await this.rollback(lease);
      throw err;
    }
    try {
      await lease.client.query(PG_WIRE_SQL.commit);
    } catch (err) {
      await this.rollback(lease);
      throw translatePgError(err, { operation: op, timeoutMs: this.timeoutMs, table });
    }
    return result;
  }

  protected async describeWith(run: SqlRunner, table: string): Promise<TableColumn[] | undefined> {
    const { schema, table: name } = splitTable(table);
    const rows = await run.query(PG_WIRE_SQL.describe, [schema ?? 'public', name]);
    if (rows.length === 0) return undefined;
    return rows.map((r) => ({ name: String(r.column_name), type: columnTypeOf(String(r.data_type)), required: r.is_nullable === 'NO' }));
  }

  /**
   * Streams text or bytes into `COPY … FROM STDIN` on the lease. An abort destroys both streams;
   * pg-copy-streams then sends CopyFail, which ends the COPY. Errors are translated as a merge's.
   */
  /**
   * Runs `COPY … TO STDOUT` on the lease and hands its output to `sink` (which must read it to the end);
   * answers the rows copied. Errors are translated as a query's.
   */
  protected async copyOut(lease: Lease, copySql: string, sink: (out: Readable) => Promise<unknown>, signal?: AbortSignal): Promise<number> {
    const out = lease.client.query(copyTo(copySql));
    try {
      await sink(out);
    } catch (err) {
      // The COPY may still be running on this connection: it is not handed to the next caller.
      lease.discard = true;
      out.destroy();
      if (signal?.aborted) throw signal.reason;
      throw translatePgError(err, { operation: 'query', timeoutMs: 0 });
    }
    return Number(out.rowCount ?? 0);
  }

  protected async copyIn(lease: Lease, copySql: string, source: Readable, table: string, signal?: AbortSignal): Promise<void> {
    try {
      await pipeline(source, lease.client.query(copyFrom(copySql)), signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw translatePgError(err, { operation: 'merge', timeoutMs: 0, table });
    }
  }
}
