/** openWarehouse picks the adapter from the parsed SEXTANT_WAREHOUSE; DuckDB files persist. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';
import { openWarehouse, redshiftLoadOptions } from '../../src/warehouse/open.js';
import { testPgUrl } from '../support/env.js';
import { pgUrlFor } from '../support/warehouses.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-wh-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openWarehouse', () => {
  it('opens a DuckDB file, creating its folder, and keeps the data across reopening', async () => {
    const path = join(dir, 'nested', 'deeper', 'warehouse.duckdb');
    const config = loadConfig({ SEXTANT_WAREHOUSE: `duckdb:${path}` }, dir);
    const first = await openWarehouse(config.warehouse, { statementTimeoutMs: 5_000 });
    expect(first.dialect.name).toBe('duckdb');
    await first.ensureTable({ table: 'ops.kv', key: ['k'], columns: [{ name: 'k', type: 'string', required: true }, { name: 'v', type: 'integer' }] });
    await first.merge({ spec: { table: 'ops.kv', key: ['k'], columns: [{ name: 'k', type: 'string', required: true }, { name: 'v', type: 'integer' }] }, columns: ['k', 'v'], rows: [['a', 1]] });
    await first.close();
    expect(existsSync(path)).toBe(true);

    const second = await openWarehouse({ kind: 'duckdb', path }, { statementTimeoutMs: 5_000 });
    expect(await second.query('SELECT k, v FROM ops.kv')).toEqual([{ k: 'a', v: 1 }]);
    await second.close();
  });

  it('says so when another process holds the DuckDB file', async () => {
    const path = join(dir, 'locked', 'warehouse.duckdb');
    const first = await openWarehouse({ kind: 'duckdb', path }, { statementTimeoutMs: 5_000 });
    await first.close();
    // DuckDB's file lock is per process, so the holder must be another process.
    const holder = spawn(
      process.execPath,
      ['-e', `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path)}).then(() => { console.log('open'); setInterval(() => {}, 1000); })`],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve, reject) => {
        holder.stdout.once('data', resolve);
        holder.once('exit', reject);
      });
      const err = await openWarehouse({ kind: 'duckdb', path }, { statementTimeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('WAREHOUSE_IN_USE');
      expect((err as UserError).message).toContain(path);
    } finally {
      holder.kill();
    }
  });

  it('opens an in-memory DuckDB for duckdb::memory:', async () => {
    const config = loadConfig({ SEXTANT_WAREHOUSE: 'duckdb::memory:' }, dir);
    const wh = await openWarehouse(config.warehouse, { statementTimeoutMs: 5_000 });
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await wh.close();
  });

  it('opens PostgreSQL for postgres:// and the Redshift adapter for redshift://', async () => {
    const database = `sextant_open_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const url = pgUrlFor(database);
      const pgConfig = loadConfig({ SEXTANT_WAREHOUSE: url }, dir);
      const pgWh = await openWarehouse(pgConfig.warehouse, { statementTimeoutMs: 5_000, poolSize: 2 });
      expect(pgWh.dialect.name).toBe('postgres');
      expect(await pgWh.query('SELECT current_database() AS db')).toEqual([{ db: database }]);
      await pgWh.close();

      // The Redshift adapter speaks the same protocol, so its sessions open on PostgreSQL too.
      const env = { SEXTANT_WAREHOUSE: url.replace(/^postgres(ql)?:/, 'redshift:'), SEXTANT_OBJECT_STORE: 's3://lake/sextant', SEXTANT_REDSHIFT_IAM_ROLE: 'arn:aws:iam::123456789012:role/sextant-copy' };
      const rsConfig = loadConfig(env, dir);
      expect(rsConfig.warehouse).toEqual({ kind: 'redshift', url });
      const staged = new Map<string, string>();
      const store = {
        put: async (key: string, body: unknown) => void staged.set(key, String(body)),
        get: async () => Readable.from([]),
        delete: async (key: string) => void staged.delete(key),
      };
      const redshift = await redshiftLoadOptions(rsConfig, store);
      expect(redshift?.iamRole).toBe(env.SEXTANT_REDSHIFT_IAM_ROLE);
      expect(redshift?.staging.url('_staging/t/1/manifest.json')).toBe('s3://lake/sextant/_staging/t/1/manifest.json');
      const rsWh = await openWarehouse(rsConfig.warehouse, { statementTimeoutMs: 5_000, poolSize: 2, redshift });
      expect(rsWh.dialect.name).toBe('redshift');
      expect(await rsWh.query('SELECT current_database() AS db')).toEqual([{ db: database }]);
      await rsWh.close();

      // Without the load options (an S3 store and the IAM role) it refuses to open.
      const refused = await openWarehouse(rsConfig.warehouse, { statementTimeoutMs: 5_000 }).catch((e: unknown) => e);
      expect((refused as UserError).code).toBe('CONFIG_INVALID');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('refuses a Redshift warehouse without an S3 object store and an IAM role, naming both', () => {
    const err = (() => {
      try {
        loadConfig({ SEXTANT_WAREHOUSE: 'redshift://u:p@cluster.example:5439/dev' }, dir);
      } catch (e) {
        return e;
      }
      throw new Error('expected CONFIG_INVALID');
    })() as UserError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.problems.map((p) => p.path).sort()).toEqual(['SEXTANT_OBJECT_STORE', 'SEXTANT_REDSHIFT_IAM_ROLE']);
    const badRole = (() => {
      try {
        loadConfig({ SEXTANT_WAREHOUSE: 'redshift://h:5439/dev', SEXTANT_OBJECT_STORE: 's3://b', SEXTANT_REDSHIFT_IAM_ROLE: 'sextant-copy' }, dir);
      } catch (e) {
        return e;
      }
      throw new Error('expected CONFIG_INVALID');
    })() as UserError;
    expect(badRole.problems).toEqual([expect.objectContaining({ path: 'SEXTANT_REDSHIFT_IAM_ROLE', message: expect.stringContaining('arn:aws:iam::') })]);
  });
});
