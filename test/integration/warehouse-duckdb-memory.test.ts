/**
 * DuckDB under a memory limit (SEXTANT_DUCKDB_MEMORY_LIMIT): a merge whose staged batch is larger than
 * the limit spills to the warehouse file's temp directory and gives the same rows and counts, for a
 * batch of unique new keys (no de-duplication, empty target) and for one that repeats and overlaps keys.
 * Staged batches live in the file's `__sextant_staging` schema (not TEMP tables), which is empty after
 * every merge and replace and emptied when the file opens; the allocator hands freed memory back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { STAGING_SCHEMA, openDuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { SqlValue, TableSpec, Warehouse } from '../../src/warehouse/port.js';

const SPEC: TableSpec = {
  table: 'social.posts',
  key: ['platform', 'post_id', 'metric_date'],
  columns: [
    { name: 'platform', type: 'string', required: true },
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'impressions', type: 'integer' },
    { name: 'note', type: 'string' },
  ],
};
const COLUMNS = SPEC.columns.map((c) => c.name);
const N = 400_000;

/** Rows p<from>..p<to-1>, each with a 65-character note so that the batch outweighs the limit. */
async function* posts(from: number, to: number, impressions: (i: number) => number): AsyncGenerator<SqlValue[]> {
  for (let i = from; i < to; i++) yield ['facebook', `p${i}`, `2026-01-${String((i % 28) + 1).padStart(2, '0')}`, impressions(i), `note ${String(i).padStart(60, '0')}`];
}

describe('DuckDB memory limit', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function open(memoryLimit: string | undefined): Promise<Warehouse> {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-duckdb-mem-'));
    const wh = await openDuckDbWarehouse(join(dir, 'w.duckdb'), { statementTimeoutMs: 0, ...(memoryLimit ? { memoryLimit } : {}) });
    cleanup.push(async () => {
      await wh.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return wh;
  }

  async function openIn(dir: string): Promise<Warehouse> {
    const wh = await openDuckDbWarehouse(join(dir, 'w.duckdb'), { statementTimeoutMs: 0 });
    cleanup.push(() => wh.close());
    return wh;
  }

  /** Every table of the staging schema, and every temporary table, by name. */
  async function stagedTables(wh: Warehouse): Promise<string[]> {
    const rows = await wh.query(`SELECT schema_name || '.' || table_name AS t FROM duckdb_tables() WHERE schema_name = $1 OR temporary ORDER BY 1`, [STAGING_SCHEMA]);
    return rows.map((r) => String(r.t));
  }

  it('stages merges and replaces in the file schema __sextant_staging, leaves it empty, and empties it at open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-duckdb-stage-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const wh = await openIn(dir);
    await wh.ensureTable(SPEC);
    const seen: string[] = [];
    async function* four(from: number, to: number, impressions: number): AsyncGenerator<SqlValue[]> {
      for await (const r of posts(from, to, () => impressions)) yield r.slice(0, 4);
    }
    // Twice the same keys: the second merge de-duplicates and replaces (the staged, latest and carried tables).
    const merged = await wh.merge({ spec: SPEC, columns: COLUMNS.slice(0, 4), rows: four(0, 100, 1), afterMerge: async (_tx, batch) => void seen.push(String(batch.staged)) });
    expect(merged).toEqual({ rowsStaged: 100, inserted: 100, updated: 0 });
    async function* twice(): AsyncGenerator<SqlValue[]> {
      yield* four(50, 150, 2);
      yield* four(50, 150, 3);
    }
    expect(await wh.merge({ spec: SPEC, columns: COLUMNS.slice(0, 4), rows: twice(), afterMerge: async (_tx, batch) => void seen.push(String(batch.staged)) })).toEqual({ rowsStaged: 100, inserted: 50, updated: 50 });
    // Into the empty table the batch is appended straight in: the table is the batch.
    expect(seen).toEqual([`"social"."posts"`, `"${STAGING_SCHEMA}"."__sextant_latest_1"`]);
    const [sum] = await wh.query('SELECT count(*) AS n, sum(impressions) AS s FROM social.posts');
    expect(sum).toEqual({ n: 150, s: 50 * 1 + 100 * 3 });
    async function* report(): AsyncGenerator<SqlValue[]> {
      for (let i = 0; i < 10; i++) yield [`r${i}`, i];
    }
    const spec: TableSpec = { table: 'analysis.weekly', key: [], columns: [{ name: 'name', type: 'string' }, { name: 'n', type: 'integer' }] };
    expect(await wh.replaceTable({ spec, rows: report() })).toEqual({ rows: 10 });
    expect(await stagedTables(wh)).toEqual([]);
    // No schema the product shows (information_schema, as BI tools list tables) has a staged table.
    const listed = await wh.query(`SELECT DISTINCT table_schema AS s FROM information_schema.tables ORDER BY 1`);
    expect(listed.map((r) => r.s)).toEqual(['analysis', 'social']);
    await wh.close();

    // A process that stopped mid-merge leaves its staged table behind: the next open drops it.
    const raw = await DuckDBInstance.create(join(dir, 'w.duckdb'));
    const conn = await raw.connect();
    await conn.run(`CREATE SCHEMA IF NOT EXISTS ${STAGING_SCHEMA}; CREATE TABLE ${STAGING_SCHEMA}.__sextant_stage_9 AS SELECT 1 AS x`);
    conn.closeSync();
    raw.closeSync();
    const reopened = await openIn(dir);
    expect(await stagedTables(reopened)).toEqual([]);
    const [setting] = await reopened.query(
      "SELECT current_setting('allocator_flush_threshold') AS f, current_setting('allocator_bulk_deallocation_flush_threshold') AS bulk, current_setting('allocator_background_threads') AS b",
    );
    expect(setting).toEqual({ f: '7.6 MiB', bulk: '7.6 MiB', b: true }); // 8MB = 8,000,000 bytes
  });

  it('fails a merge as a whole when the appender flushes a row the table refuses after rows it flushed before', async () => {
    const wh = await open(undefined);
    await wh.ensureTable(SPEC);
    // The appender writes into the table every few thousand rows: row 12,001 (a key without a value) comes after two flushes.
    async function* withNullKey(from: number): AsyncGenerator<SqlValue[]> {
      for await (const r of posts(from, from + 20_000, () => 1)) yield r[1] === `p${from + 12_000}` ? [r[0], null, ...r.slice(2)] : r;
    }
    const failure = async (rows: AsyncIterable<SqlValue[]>): Promise<unknown> => wh.merge({ spec: SPEC, columns: COLUMNS, rows }).then(() => undefined, (err: unknown) => err);
    const intoEmpty = await failure(withNullKey(0));
    expect(intoEmpty).toBeInstanceOf(UserError);
    expect((intoEmpty as UserError).code).toBe('ROW_INVALID');
    expect((await wh.query('SELECT count(*) AS n FROM social.posts'))[0].n).toBe(0);
    await wh.merge({ spec: SPEC, columns: COLUMNS, rows: posts(0, 100, () => 1) });
    const intoLoaded = await failure(withNullKey(50));
    expect(intoLoaded).toBeInstanceOf(UserError);
    expect((await wh.query('SELECT count(*) AS n, sum(impressions) AS s FROM social.posts'))[0]).toEqual({ n: 100, s: 100 });
    expect(await stagedTables(wh)).toEqual([]);
  });

  it('keeps the last row of a key repeated after the appender flushed its first row into an empty table', async () => {
    const wh = await open(undefined);
    await wh.ensureTable(SPEC);
    async function* repeated(): AsyncGenerator<SqlValue[]> {
      yield* posts(0, 20_000, () => 1);
      yield* posts(0, 10, () => 5);
    }
    expect(await wh.merge({ spec: SPEC, columns: COLUMNS, rows: repeated() })).toEqual({ rowsStaged: 20_000, inserted: 20_000, updated: 0 });
    expect((await wh.query('SELECT count(*) AS n, sum(impressions) AS s FROM social.posts'))[0]).toEqual({ n: 20_000, s: 19_990 + 50 });
  });

  it('is 128MB for a warehouse file when none is configured, and DuckDB\'s own for :memory:', async () => {
    const file = await open(undefined);
    const [setting] = await file.query("SELECT current_setting('memory_limit') AS m");
    expect(String(setting.m)).toMatch(/^12[12]\.\d+ MiB$/);
    const memory = await openDuckDbWarehouse(':memory:', { statementTimeoutMs: 0 });
    cleanup.push(() => memory.close());
    const [own] = await memory.query("SELECT current_setting('memory_limit') AS m");
    expect(String(own.m)).not.toMatch(/^12[12]\.\d+ MiB$/);
  });

  it('is applied to the instance, and merges batches larger than it with exact counts', async () => {
    const wh = await open('64MB');
    const [setting] = await wh.query("SELECT current_setting('memory_limit') AS m");
    expect(String(setting.m)).toMatch(/^6[01]\.\d+ MiB$/);
    await wh.ensureTable(SPEC);

    expect(await wh.merge({ spec: SPEC, columns: COLUMNS, rows: posts(0, N, (i) => i % 1000) })).toEqual({ rowsStaged: N, inserted: N, updated: 0 });

    // Overlapping the first half, and every key of the second half twice (the last one wins).
    async function* overlapping(): AsyncGenerator<SqlValue[]> {
      yield* posts(N / 2, N + N / 2, () => 1);
      yield* posts(N, N + N / 2, () => 2);
    }
    expect(await wh.merge({ spec: SPEC, columns: COLUMNS, rows: overlapping() })).toEqual({ rowsStaged: N, inserted: N / 2, updated: N / 2 });

    let kept = 0;
    for (let i = 0; i < N / 2; i++) kept += i % 1000;
    const [stats] = await wh.query('SELECT count(*) AS n, count(DISTINCT post_id) AS keys, sum(impressions) AS s FROM social.posts');
    expect(stats).toEqual({ n: N + N / 2, keys: N + N / 2, s: kept + N / 2 + 2 * (N / 2) });
  });
});

describe('SEXTANT_DUCKDB_MEMORY_LIMIT', () => {
  it('is read as a size and refused otherwise', () => {
    expect(loadConfig({ SEXTANT_DUCKDB_MEMORY_LIMIT: '256MB' }, '/tmp').duckdbMemoryLimit).toBe('256MB');
    expect(loadConfig({}, '/tmp').duckdbMemoryLimit).toBeUndefined();
    let error: unknown;
    try {
      loadConfig({ SEXTANT_DUCKDB_MEMORY_LIMIT: 'lots' }, '/tmp');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['SEXTANT_DUCKDB_MEMORY_LIMIT: expected a size such as 256MB or 2GB, got "lots"']);
  });
});
