/**
 * XLSX → records, streamed through exceljs's WorkbookReader: rows are read one at a time from the zip
 * (a sheet stored before the shared strings is spooled to a temporary file by exceljs, not to memory).
 * One sheet is read: the target's `sheet:` by name, else the workbook's first sheet. Its first row with
 * a value is the header, matched by name like a CSV header; each later row is a record whose `line` is
 * the sheet's row number, so errors point at the row a user sees in Excel.
 *
 * Values are taken as Excel stores them: numbers stay numbers, cells with a date format become ISO
 * dates (`2026-01-31`, or `2026-01-31 13:45:00` when they carry a time), booleans stay booleans, text
 * stays text, a formula gives its stored result, an error cell its code (`#N/A`), which the target's
 * types then accept or reject with the cell's row and column.
 */
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { UserError } from '../../errors.js';
import { DEFAULT_MAX_FIELD_BYTES, type ParsedRecord, type ParseOptions } from './parsed-record.js';

/** Options of {@link parseXlsx}. */
export interface XlsxParseOptions extends ParseOptions {
  /** The sheet to read, by name; default the first sheet of the workbook. */
  sheet?: string | undefined;
}

/** `A`, `B`, … `Z`, `AA` … for 1-based column numbers. */
export function columnLetter(col: number): string {
  let out = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) out = String.fromCharCode(65 + ((n - 1) % 26)) + out;
  return out;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** An Excel date (read by exceljs as a UTC instant) as ISO text: a date, or a timestamp when it has a time. */
function isoOfDate(d: Date): string {
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const ms = d.getUTCMilliseconds();
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && ms === 0) return date;
  return `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms ? `.${pad(ms, 3)}` : ''}`;
}

/** A cell's value as a parser value: string, number, boolean, or null for an empty cell. */
function plainValue(value: ExcelJS.CellValue): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return isoOfDate(value);
  if (typeof value === 'object') {
    if ('richText' in value && Array.isArray(value.richText)) return value.richText.map((r) => r.text).join('');
    if ('error' in value) return String(value.error);
    if ('formula' in value || 'sharedFormula' in value) {
      const result = (value as { result?: ExcelJS.CellValue }).result;
      return result === undefined ? null : plainValue(result as ExcelJS.CellValue);
    }
    if ('text' in value) {
      const text = (value as { text: unknown }).text;
      return typeof text === 'string' ? text : plainValue(text as ExcelJS.CellValue);
    }
  }
  return String(value);
}

function invalid(file: string, message: string, line?: number, column?: string): UserError {
  return new UserError('INPUT_INVALID', `${file}${line !== undefined ? `, ${column ? `cell ${column}${line}` : `row ${line}`}` : ''}: ${message}`, {
    problems: [{ file, ...(line !== undefined ? { line } : {}), ...(column ? { column } : {}), message }],
  });
}

interface SheetReader extends AsyncIterable<ExcelJS.Row> {
  name?: string;
  id?: number | string;
}

/**
 * Streams the records of one sheet of an XLSX workbook. Malformed input — not a workbook, no such sheet,
 * no header, an empty or duplicated header cell (merged header cells leave all but their first cell
 * empty), a value in a column without a header, an over-long cell — is INPUT_INVALID with the file and
 * the cell.
 */
export async function* parseXlsx(source: Readable, options: XlsxParseOptions): AsyncGenerator<ParsedRecord> {
  const { file } = options;
  const maxField = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(source, {
    entries: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache',
    worksheets: 'emit',
  });
  const names: string[] = [];
  let found = false;
  try {
    for await (const sheet of reader as unknown as AsyncIterable<SheetReader>) {
      const workbookSheets = (reader as unknown as { model?: { sheets?: Array<{ name: string }> } }).model?.sheets ?? [];
      const name = sheet.name ?? `Sheet${String(sheet.id ?? names.length + 1)}`;
      names.push(name);
      const wanted = options.sheet !== undefined ? name === options.sheet : workbookSheets.length > 0 ? name === workbookSheets[0].name : names.length === 1;
      if (!wanted) {
        // Read to its end all the same: exceljs deletes a spooled sheet's temp file (a workbook whose sheets
        // come before its relationships, as streaming writers make them) once we move on, and a sheet left
        // unread still has its read stream opening that file — an uncaught ENOENT.
        for await (const _row of sheet) void _row;
        continue;
      }
      found = true;
      yield* sheetRecords(sheet, name, file, maxField, options.onHeader);
      return;
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw invalid(file, `this is not a readable XLSX workbook (${message}); save it again from Excel as "Excel Workbook (.xlsx)", or as CSV UTF-8`);
  }
  if (!found) {
    if (options.sheet !== undefined) throw invalid(file, `the workbook has no sheet named "${options.sheet}"; its sheets: ${names.map((n) => `"${n}"`).join(', ') || '(none)'}`);
    throw invalid(file, 'the workbook has no sheet');
  }
}

async function* sheetRecords(
  sheet: SheetReader,
  sheetName: string,
  file: string,
  maxField: number,
  onHeader: ((fields: string[]) => void) | undefined,
): AsyncGenerator<ParsedRecord> {
  let header: Array<string | undefined> | undefined;
  let width = 0;
  let records = 0;
  const where = `sheet "${sheetName}"`;
  for await (const row of sheet) {
    const values = row.values as ExcelJS.CellValue[];
    if (!header) {
      const cells: Array<string | undefined> = [];
      for (let c = 1; c < values.length; c++) {
        const v = plainValue(values[c]);
        cells[c] = v === null ? undefined : String(v).trim() || undefined;
      }
      if (cells.every((c) => c === undefined)) continue;
      width = cells.length - 1;
      const seen = new Map<string, number>();
      for (let c = 1; c <= width; c++) {
        const name = cells[c];
        if (name === undefined) {
          throw invalid(
            file,
            `${where}: the header cell ${columnLetter(c)}${row.number} is empty; every column up to the last header (${columnLetter(width)}) needs a name. If it belongs to a merged cell, unmerge the header so that each column has its own name`,
            row.number,
            columnLetter(c),
          );
        }
        const key = name.toLowerCase();
        const before = seen.get(key);
        if (before !== undefined) {
          throw invalid(file, `${where}: the header "${name}" appears twice, in ${columnLetter(before)}${row.number} and ${columnLetter(c)}${row.number}`, row.number, columnLetter(c));
        }
        seen.set(key, c);
      }
      header = cells;
      onHeader?.(cells.slice(1) as string[]);
      continue;
    }
    const record: Record<string, unknown> = {};
    let any = false;
    for (let c = 1; c < values.length; c++) {
      const v = plainValue(values[c]);
      if (v === null || (typeof v === 'string' && v === '')) continue;
      if (c > width) {
        throw invalid(file, `${where}: cell ${columnLetter(c)}${row.number} has a value (${JSON.stringify(v).slice(0, 40)}) but column ${columnLetter(c)} has no header`, row.number, columnLetter(c));
      }
      if (typeof v === 'string' && Buffer.byteLength(v, 'utf8') > maxField) {
        throw invalid(file, `${where}: cell ${columnLetter(c)}${row.number} holds more than ${maxField} bytes of text`, row.number, columnLetter(c));
      }
      record[header[c] as string] = v;
      any = true;
    }
    if (!any) continue;
    records++;
    yield { line: row.number, record };
  }
  if (!header) throw invalid(file, `${where} is empty: expected a header row naming the columns, then the data`);
  if (records === 0) throw invalid(file, `${where} has a header but no data rows`);
}
