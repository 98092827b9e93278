/**
 * Fresh, isolated warehouses for tests, one per call, for every dialect the suite runs against.
 * Tables are schema-qualified (`social.post_daily`), so PostgreSQL isolation is a whole database
 * (created on the test server, dropped by `close()`), not a schema.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { openPostgresWarehouse } from '../../src/warehouse/postgres/postgres-warehouse.js';
import { openRedshiftWarehouse, s3Staging } from '../../src/warehouse/redshift/redshift-warehouse.js';
import { openS3ObjectStore } from '../../src/storage/s3/s3-object-store.js';
import type { Warehouse, WarehouseOptions } from '../../src/warehouse/port.js';
import { testPgUrl, testS3 } from './env.js';

/** The dialects every warehouse-facing suite runs against (`describe.each(DIALECTS)`). */
export const DIALECTS = ['duckdb', 'postgres'] as const;
/**
 * {@link DIALECTS} plus `redshift`: the Redshift adapter with its PostgreSQL engine (the same staging,
 * COPY-from-manifest, dedupe, LOCK and MERGE statements on PostgreSQL 15, staged files on s3rver).
 * The warehouse conformance suite and the golden queries run it; no test talks to Amazon Redshift.
 */
export const WAREHOUSE_DIALECTS = [...DIALECTS, 'redshift'] as const;
/** One of {@link WAREHOUSE_DIALECTS}. */
export type TestDialect = (typeof WAREHOUSE_DIALECTS)[number];

/** The IAM role the Redshift adapter is configured with in tests (its PostgreSQL engine never uses it). */
export const TEST_IAM_ROLE = 'arn:aws:iam::000000000000:role/sextant-test-copy';

const DEFAULTS: WarehouseOptions = { statementTimeoutMs: 30_000, poolSize: 4 };

/** Runs one statement on the test server's maintenance database. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The test server's URL with another database name. */
export function pgUrlFor(database: string): string {
  const url = new URL(testPgUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A new empty warehouse: DuckDB in memory, or a new PostgreSQL database (`sextant_t_<random>`) that
 * its `close()` drops (for `redshift`, with the staging store under its own s3rver prefix). `url` is
 * set for PostgreSQL so a test can open a second connection to it.
 */
export async function freshWarehouse(dialect: TestDialect, options: Partial<WarehouseOptions> = {}): Promise<Warehouse & { url?: string }> {
  const opts: WarehouseOptions = { ...DEFAULTS, ...options };
  if (dialect === 'duckdb') return openDuckDbWarehouse(':memory:', opts);

  const database = `sextant_t_${process.pid}_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${database}`);
  const url = pgUrlFor(database);
  let warehouse: Warehouse;
  let closeStore = async (): Promise<void> => undefined;
  if (dialect === 'redshift') {
    const { endpoint, bucket } = testS3();
    const prefix = `redshift-${database}`;
    const store = await openS3ObjectStore({ bucket, prefix, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
    closeStore = () => store.close();
    warehouse = await openRedshiftWarehouse(url, { ...opts, redshift: { staging: s3Staging(store, { bucket, prefix }), iamRole: TEST_IAM_ROLE } }, 'postgres');
  } else {
    warehouse = await openPostgresWarehouse(url, opts);
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= warehouse
      .close()
      .then(closeStore)
      .then(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    return closed;
  };
  return {
    dialect: warehouse.dialect,
    url,
    query: (sql, params, queryOptions) => warehouse.query(sql, params, queryOptions),
    execute: (sql, params) => warehouse.execute(sql, params),
    transaction: (fn) => warehouse.transaction(fn),
    stream: (sql, params, streamOptions) => warehouse.stream(sql, params, streamOptions),
    ensureTable: (spec) => warehouse.ensureTable(spec),
    describeTable: (table) => warehouse.describeTable(table),
    merge: (input) => warehouse.merge(input),
    ...(warehouse.loadCsv ? { loadCsv: (input: Parameters<NonNullable<Warehouse['loadCsv']>>[0]) => warehouse.loadCsv!(input) } : {}),
    replaceTable: (input) => warehouse.replaceTable(input),
    ...(warehouse.unload ? { unload: (request: Parameters<NonNullable<Warehouse['unload']>>[0]) => warehouse.unload!(request) } : {}),
    ping: () => warehouse.ping(),
    close,
  };
}
