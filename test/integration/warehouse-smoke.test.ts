import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';
import type { Warehouse } from '../../src/warehouse/port.js';

describe.each(DIALECTS)('warehouse smoke (%s)', (dialect) => {
  let wh: Warehouse | undefined;
  afterEach(async () => {
    await wh?.close();
    wh = undefined;
  });
  it('queries, merges and streams', async () => {
    wh = await freshWarehouse(dialect);
    await wh.ping();
    const [row] = await wh.query(`select 1 as a, ${wh.dialect.param(1, 'string')} as s, ${wh.dialect.param(2, 'date')} as d`, ['x', '2026-01-02']);
    expect(row).toEqual({ a: 1, s: 'x', d: '2026-01-02' });
    const spec = { table: 'social.post', key: ['id'], columns: [{ name: 'id', type: 'string' as const, required: true }, { name: 'n', type: 'integer' as const }] };
    await wh.ensureTable(spec);
    expect(await wh.merge({ spec, columns: ['id', 'n'], rows: [['a', 1], ['b', 2], ['a', 3]] })).toEqual({ rowsStaged: 2, inserted: 2, updated: 0 });
    expect(await wh.merge({ spec, columns: ['id', 'n'], rows: [['a', 5], ['c', 2]] })).toEqual({ rowsStaged: 2, inserted: 1, updated: 1 });
    expect(await wh.query('select id, n from social.post order by id')).toEqual([{ id: 'a', n: 5 }, { id: 'b', n: 2 }, { id: 'c', n: 2 }]);
    let n = 0;
    for await (const batch of wh.stream('select * from social.post', [], { batchSize: 2 })) n += batch.length;
    expect(n).toBe(3);
  });
});
