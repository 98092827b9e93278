/** openWarehouse picks the adapter from the parsed SEXTANT_WAREHOUSE; DuckDB files persist. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';
import { openWarehouse } from '../../src/warehouse/open.js';
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
      expect((err as UserError).code).toBe('CONFIG_INVALID');
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

  it('opens PostgreSQL for postgres:// and, for now, for redshift:// too', async () => {
    const database = `sextant_open_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const url = pgUrlFor(database);
      for (const raw of [url, url.replace(/^postgres(ql)?:/, 'redshift:')]) {
        const config = loadConfig({ SEXTANT_WAREHOUSE: raw }, dir);
        const wh = await openWarehouse(config.warehouse, { statementTimeoutMs: 5_000, poolSize: 2 });
        expect(wh.dialect.name).toBe('postgres');
        expect(await wh.query('SELECT current_database() AS db')).toEqual([{ db: database }]);
        await wh.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
