/**
 * The repeated-key check of DuckDB loads (keysShape): a larger table is checked in passes, one residue of the key
 * hashes at a time, so that one pass never holds every hash. Whatever the number of passes, a key repeated anywhere
 * is found and a table of distinct keys is found so; the row count is the table's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysShape, openDuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../../src/warehouse/port.js';

describe('DuckDB repeated-key check', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await openDuckDbWarehouse(':memory:', { statementTimeoutMs: 60_000 });
    // 20,000 distinct (platform, post_id, day) keys.
    await wh.execute(`CREATE TABLE distinct_keys AS SELECT ['facebook', 'x'][(i % 2) + 1] AS platform, 'p' || i AS post_id, DATE '2026-01-01' + (i % 30)::INTEGER AS day FROM range(20000) t(i)`);
    // The same, and one key again at the very end (the 20,001st row repeats the 7th).
    await wh.execute(`CREATE TABLE one_repeat AS SELECT * FROM distinct_keys UNION ALL SELECT * FROM distinct_keys WHERE post_id = 'p6'`);
    // Keys equal in two columns but not the third are distinct keys.
    await wh.execute(`CREATE TABLE near_misses AS SELECT platform, post_id, day FROM distinct_keys UNION ALL SELECT platform, post_id, day + 1 FROM distinct_keys WHERE post_id = 'p6'`);
  });
  afterAll(async () => {
    await wh.close();
  });

  const KEYS = 'platform, post_id, day';
  it.each([1, 3, 7, 20, 100])('answers the same in %i pass(es)', async (passes) => {
    const rowsPerPass = Math.ceil(20_001 / passes);
    await wh.transaction(async (tx) => {
      expect(await keysShape(tx, 'distinct_keys', KEYS, rowsPerPass)).toEqual({ rows: 20_000, unique: true });
      expect(await keysShape(tx, 'one_repeat', KEYS, rowsPerPass)).toEqual({ rows: 20_001, unique: false });
      expect(await keysShape(tx, 'near_misses', KEYS, rowsPerPass)).toEqual({ rows: 20_001, unique: true });
    });
  });

  it('answers an empty table as unique with no rows', async () => {
    await wh.execute(`CREATE TABLE nothing (platform VARCHAR, post_id VARCHAR, day DATE)`);
    await wh.transaction(async (tx) => expect(await keysShape(tx, 'nothing', KEYS)).toEqual({ rows: 0, unique: true }));
  });
});
