/**
 * XLSX uploads: workbooks written by exceljs (shared strings, as Excel writes them; and the streaming
 * writer's inline strings) read back as records: the first sheet or a named one, the header by name,
 * numbers, dates, booleans, formulas and rich text as Excel stores them, `line` = the sheet's row, and
 * clear errors naming the cell.
 */
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseRecords, type ParseRecordsOptions } from '../../src/ingest/parsers/parse-records.js';
import { columnLetter } from '../../src/ingest/parsers/xlsx-parser.js';
import type { ParsedRecord } from '../../src/ingest/parsers/parsed-record.js';

type Cell = ExcelJS.CellValue;

async function workbook(sheets: Record<string, Cell[][]>, merge?: { sheet: string; range: string }): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    rows.forEach((r, i) => {
      const row = ws.getRow(i + 1);
      r.forEach((v, c) => {
        if (v === undefined) return;
        const cell = row.getCell(c + 1);
        cell.value = v;
        if (v instanceof Date) cell.numFmt = 'yyyy-mm-dd';
      });
      row.commit();
    });
    if (merge?.sheet === name) ws.mergeCells(merge.range);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function parse(bytes: Buffer, file = 'posts.xlsx', options: Partial<ParseRecordsOptions> = {}): Promise<ParsedRecord[]> {
  const out: ParsedRecord[] = [];
  for await (const r of parseRecords(chunked(bytes, 1000), { file, ...options })) out.push(r);
  return out;
}

async function parseError(bytes: Buffer, file = 'posts.xlsx', options: Partial<ParseRecordsOptions> = {}): Promise<UserError> {
  try {
    await parse(bytes, file, options);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected an error');
}

describe('XLSX parser', () => {
  it('reads the first sheet: header by name, values as Excel stores them, line = sheet row', async () => {
    const bytes = await workbook({
      Posts: [
        [],
        ['Platform', 'Post ID', 'Date', 'Impressions', 'Rate', 'Paid', 'Total', 'Note'],
        ['facebook', 'p1', new Date(Date.UTC(2026, 0, 31)), 1200, 0.125, true, { formula: 'D3*2', result: 2400 } as Cell, { richText: [{ text: 'bold ' }, { text: 'plain' }] } as Cell],
        [],
        ['instagram', 12, new Date(Date.UTC(2026, 1, 1, 13, 45)), 7, undefined, false, undefined, '=HYPERLINK("x")'],
      ],
      Other: [['ignored'], ['x']],
    });
    const headers: string[][] = [];
    const records = await parse(bytes, 'posts.xlsx', { onHeader: (f) => headers.push(f) });
    expect(headers).toEqual([['Platform', 'Post ID', 'Date', 'Impressions', 'Rate', 'Paid', 'Total', 'Note']]);
    expect(records).toEqual([
      { line: 3, record: { Platform: 'facebook', 'Post ID': 'p1', Date: '2026-01-31', Impressions: 1200, Rate: 0.125, Paid: true, Total: 2400, Note: 'bold plain' } },
      { line: 5, record: { Platform: 'instagram', 'Post ID': 12, Date: '2026-02-01 13:45:00', Impressions: 7, Paid: false, Note: '=HYPERLINK("x")' } },
    ]);
  });

  it('reads the sheet the target names, and says which sheets exist when it is missing', async () => {
    const bytes = await workbook({ Summary: [['a'], [1]], Data: [['id', 'n'], ['x', 2]] });
    expect(await parse(bytes, 'book.xlsx', { sheet: 'Data' })).toEqual([{ line: 2, record: { id: 'x', n: 2 } }]);
    const err = await parseError(bytes, 'book.xlsx', { sheet: 'Raw' });
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toBe('book.xlsx: the workbook has no sheet named "Raw"; its sheets: "Summary", "Data"');
  });

  it('reads a workbook from the streaming writer (inline strings), whatever its name says', async () => {
    const chunks: Buffer[] = [];
    const out = new (await import('node:stream')).PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
    const ws = wb.addWorksheet('Export');
    ws.addRow(['id', 'when']).commit();
    for (let i = 1; i <= 3000; i++) {
      const row = ws.addRow([`r${i}`, new Date(Date.UTC(2026, 0, 1 + (i % 28)))]);
      row.getCell(2).numFmt = 'yyyy-mm-dd';
      row.commit();
    }
    await wb.commit();
    const records = await parse(Buffer.concat(chunks), 'upload.bin');
    expect(records).toHaveLength(3000);
    expect(records[2999]).toEqual({ line: 3001, record: { id: 'r3000', when: `2026-01-${String(1 + (3000 % 28)).padStart(2, '0')}` } });
  });

  it('skips a sheet before the one named without leaving exceljs a spooled sheet file to open after it is gone', async () => {
    // The streaming writer puts its sheets before the workbook's relationships, so the reader spools each
    // sheet to a temp file and reads it back afterwards. A sheet passed over unread had its temp file
    // deleted while its read stream was still opening: an uncaught ENOENT, now and then (vitest counts it).
    const chunks: Buffer[] = [];
    const out = new (await import('node:stream')).PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false });
    for (const name of ['Skipped', 'Other', 'Wanted']) {
      const ws = wb.addWorksheet(name);
      ws.addRow(['id', 'n']).commit();
      for (let i = 1; i <= 500; i++) ws.addRow([`${name}-${i}`, i]).commit();
      ws.commit();
    }
    await wb.commit();
    const bytes = Buffer.concat(chunks);
    for (let round = 0; round < 30; round++) {
      const records = await parse(bytes, 'upload.xlsx', { sheet: 'Wanted' });
      expect(records).toHaveLength(500);
      expect(records[499]).toEqual({ line: 501, record: { id: 'Wanted-500', n: 500 } });
    }
    // Give a stray open of a deleted temp file the time to fail, inside this test.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  it('reports an empty or merged header cell with its cell reference', async () => {
    const merged = await workbook({ S: [['id', 'Reach', undefined, 'n'], ['a', 1, 2, 3]] }, { sheet: 'S', range: 'B1:C1' });
    const err = await parseError(merged);
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/^posts\.xlsx, cell C1: sheet "S": the header cell C1 is empty; every column up to the last header \(D\) needs a name\. If it belongs to a merged cell, unmerge the header/);
    expect(err.problems[0]).toMatchObject({ file: 'posts.xlsx', line: 1, column: 'C' });
  });

  it('reports a duplicated header, a value without a header, an over-long cell, an empty sheet', async () => {
    expect((await parseError(await workbook({ S: [['id', 'ID'], ['a', 'b']] }))).message).toBe('posts.xlsx, cell B1: sheet "S": the header "ID" appears twice, in A1 and B1');
    expect((await parseError(await workbook({ S: [['id', 'n'], ['a', 1], ['b', 2, 'stray']] }))).message).toBe('posts.xlsx, cell C3: sheet "S": cell C3 has a value ("stray") but column C has no header');
    expect((await parseError(await workbook({ S: [['id'], ['x'.repeat(2000)]] }), 'posts.xlsx', { maxFieldBytes: 1000 })).message).toBe('posts.xlsx, cell A2: sheet "S": cell A2 holds more than 1000 bytes of text');
    expect((await parseError(await workbook({ S: [] }))).message).toBe('posts.xlsx: sheet "S" is empty: expected a header row naming the columns, then the data');
    expect((await parseError(await workbook({ S: [['id']] }))).message).toBe('posts.xlsx: sheet "S" has a header but no data rows');
  });

  it('refuses an .xlsx name on a file that is not a workbook', async () => {
    const err = await parseError(Buffer.from('id,n\na,1\n'), 'posts.xlsx');
    expect(err.message).toBe('posts.xlsx: this is not an XLSX workbook (it does not start like one); save it from Excel as "Excel Workbook (.xlsx)", or upload it as CSV');
  });

  it('names columns like Excel', () => {
    expect([1, 26, 27, 52, 703].map(columnLetter)).toEqual(['A', 'Z', 'AA', 'AZ', 'AAA']);
  });
});
