/**
 * The Redshift warehouse: the shared pg-protocol half (../pg-wire/: pool, sessions, timeouts and
 * cancels, transactions, cursor streams, describeTable) plus Redshift's own DDL and load.
 *
 * A merge stages its batch as CSV files and a manifest in the object store (no connection held while
 * the rows stream in), then in ONE transaction: a temp staging table, `COPY … FROM 's3://…' MANIFEST`
 * with the configured IAM role, deduplication on the key into a second temp table, `LOCK` of the
 * target, the counts, one `MERGE`, and the temp tables dropped. A failed COPY's rows are read from
 * SYS_LOAD_ERROR_DETAIL (STL_LOAD_ERRORS on clusters without it) and reported as located row errors.
 *
 * The `postgres` engine runs the very same statements on PostgreSQL ≥ 15 (which has MERGE), except
 * the two it cannot: DISTKEY/SORTKEY in the DDL, and COPY from S3, replaced by COPY FROM STDIN of the
 * same staged files read back through the manifest. That is how the load logic is proved on a real
 * database (test/integration/warehouse-conformance.test.ts); no test here talks to Amazon Redshift.
 */
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError } from '../../errors.js';
import type {
  ColumnTypeName,
  LoadStaging,
  MergeInput,
  MergeResult,
  ParamType,
  QueryOptions,
  RedshiftLoadOptions,
  ReplaceInput,
  SqlValue,
  TableColumn,
  TableSpec,
  UnloadRequest,
  UnloadResult,
  Warehouse,
  WarehouseOptions,
} from '../port.js';
import { checkTableSpec, mergeColumns, quoteIdent, replaceNames } from '../sql.js';

/** Parameters per INSERT of a write-back (PostgreSQL's wire protocol allows 65,535). */
const REPLACE_PARAMS = 30_000;

/** How a column's values are bound (casts where the dialect needs them). */
function paramTypeOf(type: ColumnTypeName): ParamType | undefined {
  if (type === 'date') return 'date';
  if (type === 'timestamp') return 'timestamp';
  if (type === 'boolean') return 'boolean';
  return undefined;
}
import { sqlState } from '../pg-wire/errors.js';
import { PgWireWarehouse, type Lease } from '../pg-wire/pg-wire-warehouse.js';
import { redshiftDialect } from './dialect.js';
import { STAGING_PREFIX, readManifest, removeStaged, stageBatch, type StagedBatch } from './staging.js';
import {
  addColumnStatement,
  copyOutStatement,
  createTableStatements,
  inlineParams,
  loadErrorsStatement,
  loadErrorsToUserError,
  mergeStatements,
  s3CopyStatement,
  stdinCopyStatement,
  unloadSelect,
  unloadStatement,
  type LoadErrorRow,
  type LoadErrorTable,
  type RedshiftEngine,
} from './statements.js';

/** SQLSTATEs of a concurrent creator winning a race on CREATE SCHEMA/TABLE or ADD COLUMN. */
const DUPLICATE_OBJECT = new Set(['23505', '42P06', '42P07', '42701', '42710']);
const ENSURE_ATTEMPTS = 4;

/** A COPY from S3 that failed: its load errors are read once the transaction has rolled back. */
class CopyFailed extends Error {
  constructor(readonly original: unknown) {
    super('COPY failed');
  }
}

class RedshiftWarehouse extends PgWireWarehouse {
  readonly dialect = redshiftDialect;
  /** Load-error table that answered last (`sys` first; `stl` on provisioned clusters without SYS views). */
  private loadErrorTable: LoadErrorTable = 'sys';

  constructor(
    url: string,
    options: WarehouseOptions,
    private readonly load: RedshiftLoadOptions,
    private readonly engine: RedshiftEngine,
  ) {
    super({ connectionString: url }, options);
  }

  /**
   * Creates the schema and table (no index; DISTKEY/SORTKEY), then adds missing columns one ALTER at a
   * time. Redshift has no advisory locks, so statements run on their own and a creator that loses a
   * race to another process (a duplicate-object error) looks again, a few times.
   */
  async ensureTable(spec: TableSpec): Promise<void> {
    checkTableSpec(spec);
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await this.describeTable(spec.table);
        if (!existing) for (const sql of createTableStatements(spec, this.engine)) await this.execute(sql);
        const have = new Set((existing ?? (await this.describeTable(spec.table)) ?? []).map((c) => c.name));
        for (const c of spec.columns) if (!have.has(c.name)) await this.execute(addColumnStatement(spec.table, c));
        return;
      } catch (err) {
        if (attempt >= ENSURE_ATTEMPTS || !DUPLICATE_OBJECT.has(sqlState(err) ?? '')) throw err;
        await delay(25 * attempt);
      }
    }
  }

  async merge(input: MergeInput): Promise<MergeResult> {
    const { spec, signal } = input;
    const columns = mergeColumns(spec, input.columns);
    if (signal?.aborted) throw signal.reason;
    const keyAt = spec.key.map((k) => input.columns.indexOf(k));
    // Checked while staging, before anything reaches the warehouse: Redshift does not enforce keys.
    const check = (row: readonly SqlValue[], index: number): void => {
      if (row.length !== columns.length) {
        throw new UserError('ROW_INVALID', `merge into ${spec.table}: row ${index + 1} has ${row.length} values, expected ${columns.length} (one per column: ${input.columns.join(', ')})`, {
          problems: [{ line: index + 1, message: `expected ${columns.length} values, got ${row.length}` }],
        });
      }
      for (const i of keyAt) {
        if (row[i] === null || row[i] === undefined) {
          const column = input.columns[i];
          throw new UserError('ROW_INVALID', `merge into ${spec.table}: row ${index + 1} has no value for key column ${column}`, {
            problems: [{ line: index + 1, column, message: 'a key column cannot be empty' }],
          });
        }
      }
    };
    const staged = await stageBatch(this.load.staging, spec.table, columns, input.rows, check, signal);
    try {
      if (staged.rows === 0) {
        // Nothing to load, but what must commit with a load (a source's state) still does.
        const after = input.afterMerge;
        if (after) await this.transaction((tx) => after(tx, { staged: undefined }));
        return { rowsStaged: 0, inserted: 0, updated: 0 };
      }
      return await this.withLease((lease) => this.mergeStaged(lease, input, columns, staged));
    } finally {
      await removeStaged(this.load.staging, staged.keys);
    }
  }

  /**
   * Write-back (reports): ONE transaction builds the new table beside the old one with multi-row
   * INSERTs (a report's answer is small next to a load, so no S3 round trip), then swaps the names;
   * readers see the whole old or the whole new table. Not run against real Redshift (docs/redshift.md).
   */
  async replaceTable(input: ReplaceInput): Promise<{ rows: number }> {
    const names = replaceNames(input.spec);
    const { spec, signal } = input;
    const q = quoteIdent;
    const inSchema = (name: string) => (names.schema ? `${q(names.schema)}.${q(name)}` : q(name));
    const options: QueryOptions = { timeoutMs: 0, ...(signal ? { signal } : {}) };
    return this.withLease((lease) =>
      this.inTransaction(
        lease,
        'merge',
        async (tx) => {
          if (names.schema) await tx.execute(`CREATE SCHEMA IF NOT EXISTS ${q(names.schema)}`);
          await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.next)}`);
          await tx.execute(`CREATE TABLE ${inSchema(names.next)} (${spec.columns.map((c) => `${q(c.name)} ${this.dialect.columnType(c.type)}`).join(', ')})`);
          const width = spec.columns.length;
          const perStatement = Math.max(1, Math.floor(REPLACE_PARAMS / width));
          let batch: SqlValue[] = [];
          let rows = 0;
          const flush = async () => {
            if (batch.length === 0) return;
            const count = batch.length / width;
            const tuples = Array.from({ length: count }, (_, r) => `(${spec.columns.map((c, i) => this.dialect.param(r * width + i + 1, paramTypeOf(c.type))).join(', ')})`);
            await tx.execute(`INSERT INTO ${inSchema(names.next)} VALUES ${tuples.join(', ')}`, batch);
            batch = [];
          };
          for await (const row of input.rows) {
            if (signal?.aborted) throw signal.reason;
            batch.push(...row);
            rows++;
            if (batch.length >= perStatement * width) await flush();
          }
          await flush();
          await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.old)}`);
          await tx.execute(`ALTER TABLE IF EXISTS ${inSchema(names.name)} RENAME TO ${q(names.old)}`);
          await tx.execute(`ALTER TABLE ${inSchema(names.next)} RENAME TO ${q(names.name)}`);
          await tx.execute(`DROP TABLE IF EXISTS ${inSchema(names.old)}`);
          if (input.inSwap) await input.inSwap(tx);
          return { rows };
        },
        spec.table,
        options,
      ),
    );
  }

  /**
   * A big export (docs/redshift.md, "Exports by UNLOAD"): the query's values are written into it as
   * literals (UNLOAD takes no bind parameters), and Redshift writes the CSV file and its manifest to S3
   * itself. The PostgreSQL engine, which has no UNLOAD, runs the same SELECT as `COPY (…) TO STDOUT`
   * into the same object key and writes the same manifest, so the plumbing is proved on a real database.
   */
  async unload(request: UnloadRequest): Promise<UnloadResult> {
    const { signal } = request;
    const select = unloadSelect(inlineParams(request.sql, request.params, this.engine), request.columns, request.order);
    const staging = this.load.staging;
    const manifestKey = `${request.prefix}manifest`;
    if (this.engine === 'redshift') {
      const sql = unloadStatement(select, { prefixUrl: staging.url(request.prefix), iamRole: this.load.iamRole, region: this.load.region });
      // No statement timeout: an unload lasts as long as the result is big; the signal still cancels it.
      await this.query(sql, [], { timeoutMs: 0, ...(signal ? { signal } : {}) });
    } else {
      const key = `${request.prefix}000.csv`;
      const rows = await this.withLease((lease) => this.copyOut(lease, copyOutStatement(select), (out) => staging.put(key, out, signal ? { signal } : {}), signal));
      const manifest = { entries: [{ url: staging.url(key), meta: { record_count: rows } }], meta: { record_count: rows } };
      await staging.put(manifestKey, JSON.stringify(manifest));
    }
    return readUnloadManifest(staging, manifestKey, staging.url(''));
  }

  private async mergeStaged(lease: Lease, input: MergeInput, columns: TableColumn[], staged: StagedBatch): Promise<MergeResult> {
    const { spec, signal } = input;
    const st = mergeStatements(spec, columns);
    // No statement timeout: COPY and MERGE last as long as the batch is big; the signal still stops them.
    const options: QueryOptions = { timeoutMs: 0, signal };
    try {
      return await this.inTransaction(
        lease,
        'merge',
        async (tx) => {
          for (const sql of st.dropLeftovers) await tx.execute(sql);
          await tx.execute(st.createStage);
          if (this.engine === 'redshift') {
            const copy = s3CopyStatement(columns, { manifestUrl: staged.manifestUrl, iamRole: this.load.iamRole, region: this.load.region });
            await tx.execute(copy).catch((err: unknown) => {
              throw signal?.aborted ? signal.reason : new CopyFailed(err);
            });
          } else {
            await this.copyStagedFromStore(lease, columns, staged, input);
          }
          await tx.execute(st.dedupe);
          await tx.execute(st.lock);
          const [counts] = await tx.query(st.count);
          await tx.execute(st.merge);
          if (input.afterMerge) await input.afterMerge(tx, { staged: st.latest });
          for (const sql of st.drop) await tx.execute(sql);
          const rowsStaged = Number(counts.staged);
          const updated = Number(counts.updated);
          return { rowsStaged, inserted: rowsStaged - updated, updated };
        },
        spec.table,
        options,
      );
    } catch (err) {
      if (err instanceof CopyFailed) throw await this.loadErrors(lease, spec.table, staged, err.original);
      // The connection may be mid-COPY or otherwise unsure; do not hand it to the next caller.
      lease.discard = true;
      throw err;
    }
  }

  /** PostgreSQL engine: the staged files, read back through their manifest, into COPY FROM STDIN. */
  private async copyStagedFromStore(lease: Lease, columns: TableColumn[], staged: StagedBatch, input: MergeInput): Promise<void> {
    const staging = this.load.staging;
    const base = `${staging.url(STAGING_PREFIX)}/`;
    const keyOfUrl = (url: string): string | undefined => (url.startsWith(base) ? `${STAGING_PREFIX}/${url.slice(base.length)}` : undefined);
    const keys = await readManifest(staging, staged.manifestKey, keyOfUrl);
    async function* bytes(): AsyncGenerator<Buffer | string> {
      for (const key of keys) for await (const chunk of await staging.get(key)) yield chunk as Buffer | string;
    }
    await this.copyIn(lease, stdinCopyStatement(columns), Readable.from(bytes()), input.spec.table, input.signal);
  }

  /** The located row errors of a failed COPY, read on the same session after the rollback. */
  private async loadErrors(lease: Lease, table: string, staged: StagedBatch, original: unknown): Promise<unknown> {
    lease.discard = true;
    const scope = { local: false, timeoutMs: lease.session.timeoutMs };
    for (const from of [this.loadErrorTable, this.loadErrorTable === 'sys' ? 'stl' : 'sys'] as const) {
      try {
        const rows = (await this.runOn(lease, scope, 'query', loadErrorsStatement(from), [staged.filePattern], {})) as unknown as LoadErrorRow[];
        this.loadErrorTable = from;
        if (rows.length > 0) return loadErrorsToUserError(table, rows, staged.parts, original);
        break;
      } catch {
        // This cluster has no such table (or the session is gone): try the other, then give up.
      }
    }
    return original;
  }
}

/**
 * The files and rows an unload wrote, from its manifest (MANIFEST VERBOSE: an entry per file, each with
 * its `record_count`). Files are named by their URL; they become object-store keys under `base`.
 */
async function readUnloadManifest(staging: LoadStaging, manifestKey: string, base: string): Promise<UnloadResult> {
  const chunks: Buffer[] = [];
  for await (const c of await staging.get(manifestKey)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entries?: Array<{ url?: unknown; meta?: { record_count?: unknown } }> };
  const keys: string[] = [];
  let rows = 0;
  for (const e of parsed.entries ?? []) {
    const url = String(e.url ?? '');
    if (!url.startsWith(base)) throw new Error(`the unload manifest ${manifestKey} lists ${url}, outside ${base}`);
    keys.push(url.slice(base.length));
    rows += Number(e.meta?.record_count ?? 0);
  }
  if (keys.length === 0) throw new Error(`the unload manifest ${manifestKey} lists no file`);
  return { rows, keys };
}

/**
 * Opens the Redshift warehouse at a `postgres://` URL (`redshift://` rewritten by config/env.ts; add
 * `?sslmode=require` for Amazon Redshift). `engine: 'postgres'` runs the same load on PostgreSQL ≥ 15.
 */
export async function openRedshiftWarehouse(url: string, options: WarehouseOptions, engine: RedshiftEngine = 'redshift'): Promise<Warehouse> {
  if (!options.redshift) {
    throw new UserError(
      'CONFIG_INVALID',
      'A Redshift warehouse loads through S3: it needs SEXTANT_OBJECT_STORE=s3://bucket/prefix (where batches are staged) and SEXTANT_REDSHIFT_IAM_ROLE (the role COPY reads them with).',
    );
  }
  return new RedshiftWarehouse(url, options, options.redshift, engine);
}

/** Adapts an object store to where Redshift stages its loads: `s3://bucket/prefix/key` URLs. */
export function s3Staging(
  store: Pick<LoadStaging, 'put' | 'get' | 'delete'>,
  location: { bucket: string; prefix: string },
): LoadStaging {
  const prefix = location.prefix.replace(/^\/+|\/+$/g, '');
  const base = `s3://${location.bucket}/${prefix ? `${prefix}/` : ''}`;
  return {
    put: (key, body, options) => store.put(key, body, options),
    get: (key) => store.get(key),
    delete: (key) => store.delete(key),
    url: (key) => `${base}${key}`,
  };
}
