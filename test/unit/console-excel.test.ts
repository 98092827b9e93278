/**
 * The add-in's workbook code (src/console/excel/workbook.ts) under office-addin-mock: a result becomes
 * an Excel table (values, then tables.add) with the measures' number formats, in syncs that stay
 * under Excel on the web's 5 MB payload limit even for 100k rows; the tables it made are remembered in
 * the document's settings and refreshed in place.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, type MetricsResult } from '../../src/console/api.js';
import { fetchAll, type AskPage } from '../../src/console/excel/fetch-all.js';
import { MAX_SYNC_BYTES, SETTINGS_KEY, chunkRows, columnLetters, insertTable, loadRecords, refreshTables, tableName } from '../../src/console/excel/workbook.js';
import type { SemanticQueryInput } from '../../src/console/question.js';
import { resolvePage } from '../../src/serving/row-limits.js';
import { fakeWorkbook } from '../support/excel-mock.js';

const COLUMNS: MetricsResult['columns'] = [
  { name: 'metric_date', key: 'metric_date', kind: 'dimension', type: 'date', grain: 'MONTH', format: null },
  { name: 'platform', key: 'platform', kind: 'dimension', type: 'string', grain: null, format: null },
  { name: 'impressions', key: 'impressions', kind: 'measure', type: 'number', grain: null, format: 'integer' },
  { name: 'engagement_rate', key: 'engagement_rate', kind: 'measure', type: 'number', grain: null, format: 'percent' },
];
const QUERY: SemanticQueryInput = { model: 'social.post_performance', measures: ['impressions', 'engagement_rate'], dimensions: [{ name: 'metric_date', grain: 'MONTH' }, { name: 'platform' }] };
/** Excel's serial day of a UTC date. */
const serial = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000 + 25_569;

describe('the add-in writes Excel tables', () => {
  it('writes the header and rows at the selected cell, then adds a table with the measures’ formats', async () => {
    const wb = fakeWorkbook();
    wb.select('Report', 2, 1); // C3... column B (index 1), row 3 (index 2)
    const result: MetricsResult = {
      columns: COLUMNS,
      rows: [
        ['2026-01-01', 'facebook', 120000, 0.0139],
        ['2026-01-01', '=HYPERLINK("x")', 5, null],
      ],
      hasMore: true,
      lastLoadedAt: '2026-03-02T06:00:00.000Z',
    };
    const record = await wb.excel.run((ctx) => insertTable(ctx, wb.settings, QUERY, async () => result, '2026-03-01T06:00:00.000Z'));
    // The answer's own freshness wins over the catalog's; a cut answer is marked.
    expect(record).toMatchObject({ name: 'Sextant_social_post_performance_1', sheet: 'Report', row: 2, column: 1, rows: 2, lastLoadedAt: '2026-03-02T06:00:00.000Z', truncated: true });
    expect(wb.values('Report', 2, 1, 3, 4)).toEqual([
      ['metric_date (month)', 'platform', 'impressions', 'engagement_rate'],
      [serial('2026-01-01'), 'facebook', 120000, 0.0139],
      [serial('2026-01-01'), '=HYPERLINK("x")', 5, ''],
    ]);
    // Text is formatted as text ("@") in the same batch as the values, so "=…" stays inert.
    expect([wb.format('Report', 3, 1), wb.format('Report', 3, 2), wb.format('Report', 3, 3), wb.format('Report', 3, 4)]).toEqual(['yyyy-mm-dd', '@', '#,##0', '0.0%']);
    expect(wb.tables()).toEqual([{ name: 'Sextant_social_post_performance_1', sheet: 'Report', row: 2, column: 1, height: 3, width: 4, converted: false }]);
    expect(loadRecords(wb.settings)).toEqual([record]);
    expect(wb.settings.get(SETTINGS_KEY)).toHaveLength(1);
  });

  it('writes 100k rows in syncs of under 5 MB each', async () => {
    const wb = fakeWorkbook();
    const rows = Array.from({ length: 100_000 }, (_, i) => [`2026-${String((i % 12) + 1).padStart(2, '0')}-01`, `account-${i % 997}-${'x'.repeat(20)}`, 1_000_000 + i, i / 100_000]);
    await wb.excel.run((ctx) => insertTable(ctx, wb.settings, QUERY, async () => ({ columns: COLUMNS, rows }), null));
    const dataSyncs = wb.syncBytes.filter((b) => b > 0);
    expect(dataSyncs.length).toBeGreaterThan(1);
    expect(Math.max(...wb.syncBytes)).toBeLessThan(5 * 1024 * 1024);
    expect(wb.values('Sheet1', 100_000, 0, 1, 4)).toEqual([[serial('2026-04-01'), `account-${99_999 % 997}-${'x'.repeat(20)}`, 1_099_999, 0.99999]]);
    expect(wb.tables()[0]).toMatchObject({ height: 100_001, width: 4 });
    console.log(`100k rows × 4 columns: ${wb.syncBytes.length} syncs, largest ${(Math.max(...wb.syncBytes) / 1e6).toFixed(2)} MB`);
  });

  it('refreshes every table it made in place, and writes a deleted one again where it was', async () => {
    const wb = fakeWorkbook();
    let answer: unknown[][] = [
      ['2026-01-01', 'facebook', 10, 0.1],
      ['2026-02-01', 'facebook', 20, 0.2],
      ['2026-03-01', 'facebook', 30, 0.3],
    ];
    const run = async () => ({ columns: COLUMNS, rows: answer });
    wb.select('Sheet1', 0, 0);
    const first = await wb.excel.run((ctx) => insertTable(ctx, wb.settings, QUERY, run, null));
    wb.select('Sheet1', 0, 6);
    const second = await wb.excel.run((ctx) => insertTable(ctx, wb.settings, { ...QUERY, measures: ['impressions'] }, run, null));
    expect(second.name).toBe('Sextant_social_post_performance_2');

    answer = [['2026-01-01', 'instagram', 11, 0.5]];
    wb.deleteTable(second.name);
    const done = await wb.excel.run((ctx) => refreshTables(ctx, wb.settings, run, () => '2026-04-01T00:00:00.000Z'));
    expect(done.map((r) => [r.name, r.rows, r.lastLoadedAt])).toEqual([
      [first.name, 1, '2026-04-01T00:00:00.000Z'],
      [second.name, 1, '2026-04-01T00:00:00.000Z'],
    ]);
    // The first table shrank: its old rows are gone, the new one is in place, under the same name.
    expect(wb.values('Sheet1', 0, 0, 4, 4)).toEqual([
      ['metric_date (month)', 'platform', 'impressions', 'engagement_rate'],
      [serial('2026-01-01'), 'instagram', 11, 0.5],
      [undefined, undefined, undefined, undefined],
      [undefined, undefined, undefined, undefined],
    ]);
    expect(wb.tables().map((t) => [t.name, t.row, t.column, t.height])).toEqual([
      [first.name, 0, 0, 2],
      [second.name, 0, 6, 2],
    ]);
    expect(loadRecords(wb.settings).map((r) => r.rows)).toEqual([1, 1]);
  });

  it('chunks by payload size, names columns and tables as Excel wants', () => {
    const rows = Array.from({ length: 1000 }, () => ['x'.repeat(100)]);
    const chunks = chunkRows(rows, ['@'], 10_000);
    // A row is 104 bytes of JSON, a comma and 6 of formats: 90 rows fit in 10,000 bytes.
    expect(chunks[0]).toEqual([0, 90]);
    expect(chunks.at(-1)![1]).toBe(1000);
    expect(chunks.every(([a, b]) => b > a)).toBe(true);
    expect(chunkRows([], ['@'])).toEqual([]);
    expect(MAX_SYNC_BYTES).toBeLessThan(5 * 1024 * 1024);
    expect([0, 25, 26, 701, 702].map(columnLetters)).toEqual(['A', 'Z', 'AA', 'ZZ', 'AAA']);
    expect(tableName('web.traffic', ['sextant_web_traffic_1'])).toBe('Sextant_web_traffic_2');
  });
});

describe('the add-in asks for the whole answer, page by page', () => {
  /** A service over `all` rows with the serving layer's own limit rules (and its error message). */
  const service = (all: unknown[][], maxRows: number) => {
    const calls: Array<{ limit: number; offset: number; orderBy: unknown }> = [];
    const ask: AskPage = async (q) => {
      calls.push({ limit: q.limit, offset: q.offset, orderBy: q.orderBy });
      let page: { limit: number; offset: number };
      try {
        page = resolvePage(q.limit, q.offset, { defaultRows: 1000, maxRows });
      } catch (err) {
        throw new ApiError((err as Error).message, (err as { code: string }).code, 200);
      }
      const rows = all.slice(page.offset, page.offset + page.limit);
      return { columns: COLUMNS, rows, hasMore: page.offset + rows.length < all.length, lastLoadedAt: '2026-03-01T00:00:00.000Z' };
    };
    return { ask, calls };
  };
  const rows = Array.from({ length: 120_000 }, (_, i) => ['2026-01-01', `p${i}`, i, 0.5]);

  it('pages past the service’s row limit, ordered by every dimension', async () => {
    const { ask, calls } = service(rows, 50_000);
    const result = await fetchAll(QUERY, ask);
    expect(result.rows).toHaveLength(120_000);
    expect(result.rows[119_999]).toEqual(rows[119_999]);
    expect(result.hasMore).toBe(false);
    expect(calls.map((c) => [c.offset, c.limit])).toEqual([
      [0, 50_000],
      [50_000, 50_000],
      [100_000, 50_000],
    ]);
    expect(calls[0].orderBy).toEqual([
      { member: 'metric_date', grain: 'MONTH', direction: 'ASC' },
      { member: 'platform', direction: 'ASC' },
    ]);
  });

  it('learns a lower cap from the service’s refusal', async () => {
    const { ask, calls } = service(rows.slice(0, 45_000), 20_000);
    const result = await fetchAll(QUERY, ask);
    expect(result.rows).toHaveLength(45_000);
    expect(calls.map((c) => [c.offset, c.limit])).toEqual([
      [0, 50_000],
      [0, 20_000],
      [20_000, 20_000],
      [40_000, 20_000],
    ]);
  });
});
