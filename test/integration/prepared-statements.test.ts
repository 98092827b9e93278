/**
 * Plans cached per statement shape (QueryOptions.prepare): named prepared statements per pooled
 * connection on PostgreSQL (and the Redshift adapter, run on its PostgreSQL engine), prepared statements
 * per connection on DuckDB. Against real databases: answers with changing parameters, the bound on
 * statements kept per connection, a statement whose table changed under it, and the serving layer's use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { PreparedStatementCache } from '../../src/warehouse/duckdb/prepared.js';
import { QueryRunner } from '../../src/serving/query-runner.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import type { TableSpec, Warehouse } from '../../src/warehouse/port.js';
import { WAREHOUSE_DIALECTS, freshWarehouse } from '../support/warehouses.js';

const SPEC: TableSpec = {
  table: 'prep.sales',
  key: ['id'],
  columns: [
    { name: 'id', type: 'integer', required: true },
    { name: 'region', type: 'string' },
    { name: 'amount', type: 'integer' },
  ],
};
const REGIONS = ['north', 'south', 'east', 'west'];
/** 200 rows: id i, region REGIONS[i % 4], amount i * 3 — sums computed below in JavaScript. */
const ROWS = Array.from({ length: 200 }, (_, i) => [i, REGIONS[i % 4], i * 3] as const);
function expectedSum(region: string, minId: number): number {
  return ROWS.filter(([id, r]) => r === region && id >= minId).reduce((s, [, , a]) => s + a, 0);
}

const SHAPE = `SELECT region, sum(amount) AS total, count(*) AS n FROM prep.sales WHERE region = $1 AND id >= $2 GROUP BY region`;

describe.each(WAREHOUSE_DIALECTS)('prepared statements on %s', (dialect) => {
  let wh: (Warehouse & { url?: string }) | undefined;
  afterEach(async () => {
    await wh?.close();
    wh = undefined;
  });

  async function open(preparedStatements?: number): Promise<Warehouse> {
    // One connection, so that every statement below runs on the connection that holds the prepared ones.
    wh = await freshWarehouse(dialect, { poolSize: 1, ...(preparedStatements === undefined ? {} : { preparedStatements }) });
    await wh.ensureTable(SPEC);
    await wh.merge({ spec: SPEC, columns: ['id', 'region', 'amount'], rows: ROWS });
    return wh;
  }

  /** Names and texts of the connection's prepared statements (PostgreSQL's view of its session). */
  async function serverStatements(w: Warehouse): Promise<Array<{ name: string; statement: string }>> {
    const rows = await w.query(`SELECT name, statement FROM pg_prepared_statements ORDER BY name`);
    return rows.map((r) => ({ name: String(r.name), statement: String(r.statement) }));
  }

  it('answers the same shape with other parameters correctly, again and again', async () => {
    const w = await open();
    for (let round = 0; round < 3; round++) {
      for (const [i, region] of REGIONS.entries()) {
        const minId = round * 37 + i * 11;
        const rows = await w.query(SHAPE, [region, minId], { prepare: true });
        expect(rows).toEqual([{ region, total: expectedSum(region, minId), n: ROWS.filter(([id, r]) => r === region && id >= minId).length }]);
      }
    }
    // An empty answer and a null parameter go through the same statement.
    expect(await w.query(SHAPE, ['nowhere', 0], { prepare: true })).toEqual([]);
    expect(await w.query(SHAPE, [null, 0], { prepare: true })).toEqual([]);
    if (dialect !== 'duckdb') {
      const named = (await serverStatements(w)).filter((s) => s.statement === SHAPE);
      expect(named).toHaveLength(1);
      expect(named[0].name).toMatch(/^sx_[0-9a-f]{40}$/);
    }
  });

  it('keeps at most the configured number of statements per connection, and an evicted one still answers', async () => {
    const w = await open(5);
    const shape = (k: number) => `SELECT sum(amount) + ${k} AS total FROM prep.sales WHERE id < $1`;
    const below = (n: number) => ROWS.filter(([id]) => id < n).reduce((s, [, , a]) => s + a, 0);
    for (let k = 0; k < 40; k++) {
      expect(await w.query(shape(k), [k + 10], { prepare: true })).toEqual([{ total: below(k + 10) + k }]);
    }
    if (dialect !== 'duckdb') {
      const kept = await serverStatements(w);
      // The five most recently used, nothing else.
      expect(kept.map((s) => s.statement).sort()).toEqual([35, 36, 37, 38, 39].map(shape).sort());
    }
    // Shape 0 was deallocated long ago: it is prepared again, not bound to a statement the server forgot.
    expect(await w.query(shape(0), [100], { prepare: true })).toEqual([{ total: below(100) }]);
    expect(await w.query(shape(0), [50], { prepare: true })).toEqual([{ total: below(50) }]);
    if (dialect !== 'duckdb') expect(await serverStatements(w)).toHaveLength(5);
  });

  it('prepares nothing when the bound is 0 or the caller does not ask', async () => {
    const w = await open(0);
    expect(await w.query(SHAPE, ['north', 0], { prepare: true })).toEqual([{ region: 'north', total: expectedSum('north', 0), n: 50 }]);
    await w.query(SHAPE, ['south', 0]);
    if (dialect !== 'duckdb') expect(await serverStatements(w)).toEqual([]);
  });

  it('still answers after DDL changed the table under a prepared statement (a column added by ensureTable)', async () => {
    const w = await open();
    const star = `SELECT * FROM prep.sales WHERE id = $1`;
    expect(await w.query(star, [7], { prepare: true })).toEqual([{ id: 7, region: 'west', amount: 21 }]);
    await w.ensureTable({ ...SPEC, columns: [...SPEC.columns, { name: 'channel', type: 'string' }] });
    await w.merge({ spec: SPEC, columns: ['id', 'region', 'amount'], rows: [[7, 'west', 22]] });
    // PostgreSQL refuses the old plan ("cached plan must not change result type"): the adapter prepares it again.
    expect(await w.query(star, [7], { prepare: true })).toEqual([{ id: 7, region: 'west', amount: 22, channel: null }]);
    expect(await w.query(star, [8], { prepare: true })).toEqual([{ id: 8, region: 'north', amount: 24, channel: null }]);
    if (dialect !== 'duckdb') expect((await serverStatements(w)).filter((s) => s.statement === star)).toHaveLength(1);
  });

  it('a statement that fails to prepare is not kept, and the connection goes on answering', async () => {
    const w = await open(3);
    await expect(w.query(`SELECT nope FROM prep.sales WHERE id = $1`, [1], { prepare: true })).rejects.toThrow();
    expect(await w.query(SHAPE, ['east', 0], { prepare: true })).toEqual([{ region: 'east', total: expectedSum('east', 0), n: 50 }]);
    if (dialect !== 'duckdb') expect((await serverStatements(w)).map((s) => s.statement)).toEqual([SHAPE]);
  });

  it('reads every row of an answer larger than one DuckDB chunk (2,048 rows), in order', async () => {
    const w = await open();
    const series = `SELECT g AS n, g * 3 AS triple FROM generate_series(1, $1) AS t(g) ORDER BY g`;
    for (const count of [5_000, 2_048, 1, 2_049]) {
      const rows = await w.query(series, [count], { prepare: true });
      expect(rows).toHaveLength(count);
      expect(rows.reduce((s, r) => s + Number(r.n), 0)).toBe((count * (count + 1)) / 2);
      expect(rows.every((r, i) => Number(r.n) === i + 1 && Number(r.triple) === 3 * (i + 1))).toBe(true);
    }
    expect(await w.query(series, [0], { prepare: true })).toEqual([]);
  });

  it("the serving layer's reads are prepared", async () => {
    const w = await open();
    const runner = new QueryRunner({ project: { models: new Map() } as unknown as SemanticProject, warehouse: w });
    const rows = await runner.cachedQuery(SHAPE, ['west', 100], ['prep.sales']);
    expect(rows).toEqual([{ region: 'west', total: expectedSum('west', 100), n: 25 }]);
    if (dialect !== 'duckdb') expect((await serverStatements(w)).map((s) => s.statement)).toEqual([SHAPE]);
  });
});

describe('DuckDB prepared statement cache', () => {
  it('destroys the least recently used statement beyond its bound', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const cache = new PreparedStatementCache(conn, 3);
      const first = await cache.get('SELECT 1 + $1 AS v');
      const statements = [first];
      for (let k = 2; k <= 5; k++) {
        statements.push(await cache.get(`SELECT ${k} + $1 AS v`));
        // Using the first again keeps it the most recently used, so it survives.
        expect(await cache.get('SELECT 1 + $1 AS v')).toBe(first);
      }
      expect(cache.size).toBe(3);
      first.bind([41]);
      const reader = await first.runAndReadAll();
      expect(Number(reader.getRowObjects()[0].v)).toBe(42);
      // Shapes 2 and 3 were evicted: destroyed, so a new get prepares a new statement.
      expect(await cache.get('SELECT 2 + $1 AS v')).not.toBe(statements[1]);
      expect(cache.size).toBe(3);
      cache.clear();
      expect(cache.size).toBe(0);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
