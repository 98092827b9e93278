/**
 * Exact numbers on the OData feed: a BIGINT past 2^53 leaves the warehouse as a bigint and reaches the
 * client digit for digit; decimals never appear in exponent notation (odata.net #2137).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertValidProject } from '../../src/semantic/load.js';
import { get, readAll, startODataHarness, type ODataHarness } from './odata-harness.js';

let h: ODataHarness;
beforeAll(async () => {
  const project = await assertValidProject(fileURLToPath(new URL('../fixtures/odata/bigint-project', import.meta.url)));
  h = await startODataHarness({
    project,
    seed: async (wh) => {
      await wh.execute('CREATE SCHEMA finance');
      await wh.execute('CREATE TABLE finance.ledger (entry_id BIGINT, booked_on DATE, account VARCHAR, amount DECIMAL(38, 9))');
      await wh.execute(`INSERT INTO finance.ledger VALUES
        (9007199254740993, DATE '2026-01-02', 'a', 0.000008675),
        (-9007199254740993, DATE '2026-01-03', 'b', 1000000000000000000000),
        (1, DATE '2026-01-03', 'b', -0.5),
        (NULL, DATE '2026-01-04', NULL, NULL)`);
    },
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('exact numbers', () => {
  it('round-trips a bigint of 9007199254740993 digit for digit', async () => {
    const res = await get(h.app, '/odata/finance/Ledger?$select=entryId,account&$orderby=entryId%20desc', h.keys.admin);
    expect(res.status).toBe(200);
    expect(res.text).toContain('"entryId":9007199254740993,');
    expect(res.text).toContain('"entryId":-9007199254740993,');
    expect(res.text).toContain('"entryId":1,');
    // A JSON parser that keeps big integers (as Power Query's does) reads the exact value back.
    const ids = [...res.text.matchAll(/"entryId":(-?\d+|null)/g)].map((m) => m[1]);
    expect(ids).toEqual(['9007199254740993', '1', '-9007199254740993', 'null']);
    const metadata = await get(h.app, '/odata/finance/$metadata', h.keys.admin);
    expect(metadata.text).toContain('<Property Name="entryId" Type="Edm.Decimal" Scale="variable">');
  });

  it('keeps the bigint exact in the row key and across pages', async () => {
    const { rows, pages } = await readAll(h.app, '/odata/finance/Ledger', h.keys.admin, { prefer: 'odata.maxpagesize=1' });
    expect(rows).toHaveLength(4);
    expect(pages).toHaveLength(4);
    expect(pages.map((p) => p.text).join('')).toContain('"rowKey":"[\\"9007199254740993\\",\\"2026-01-02\\",\\"a\\"]"');
  });

  it('writes no number in exponent notation', async () => {
    const res = await get(h.app, '/odata/finance/Ledger?$select=account,amount&$orderby=account', h.keys.admin);
    expect(res.text).toContain('"amount":0.000008675');
    expect(res.text).toContain('"amount":1000000000000000000000');
    expect(res.text).not.toMatch(/\d[eE][+-]?\d/);
  });

  it('writes Int64 and Decimal as strings when the client asks for IEEE754Compatible', async () => {
    const res = await get(h.app, '/odata/finance/Ledger?$select=entryId,entries,amount&$orderby=entryId%20desc&$top=1', h.keys.admin, {
      accept: 'application/json;odata.metadata=minimal;IEEE754Compatible=true',
    });
    expect(res.json.value).toEqual([{ entryId: '9007199254740993', entries: '1', amount: 0.000008675 }]);
  });

  it('refuses to filter on a whole number it could not compare exactly', async () => {
    const res = await get(h.app, '/odata/finance/Ledger?$filter=entryId%20eq%209007199254740993', h.keys.admin);
    expect(res.status).toBe(501);
    expect(res.json.error.message).toContain('9007199254740993 is beyond ±2^53');
    const ok = await get(h.app, '/odata/finance/Ledger?$filter=entryId%20eq%201&$select=entryId', h.keys.admin);
    expect(ok.json.value).toEqual([{ entryId: 1 }]);
  });
});
