/// <reference types="office-js" />
/**
 * What the add-in does to the workbook, through Office.js only (no DOM), so the unit tests run it
 * under office-addin-mock: write a `metrics` result as an Excel table — range values first, then
 * `tables.add` over them (the fast path; adding rows to a table one call at a time is slow) — in
 * chunks whose payload stays under the 5 MB Excel on the web accepts per request; remember every
 * table it made in the document's settings; and refresh them all in place.
 */
import type { MetricsResult } from '../api.js';
import type { SemanticQueryInput } from '../question.js';

/** Where the add-in keeps its tables, in the workbook's own settings (they travel with the file). */
export const SETTINGS_KEY = 'sextant.tables';

/**
 * Excel on the web rejects a request or response over 5 MB (RequestPayloadSizeLimitExceeded); our
 * estimate is JSON text, which is what Office.js sends, and we keep a margin for its envelope.
 */
export const MAX_SYNC_BYTES = 4_000_000;

/** A table the add-in made: enough to run its question again and put the answer in the same place. */
export interface TableRecord {
  name: string;
  query: SemanticQueryInput;
  sheet: string;
  row: number;
  column: number;
  rows: number;
  refreshedAt: string;
  /** The model's freshness when the table was last refreshed. */
  lastLoadedAt: string | null;
  /** True when the answer had more rows than were written (a sheet holds about a million). */
  truncated: boolean;
}

/** The part of Office.Settings the add-in uses. */
export interface SettingsLike {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  saveAsync(callback?: (result: Office.AsyncResult<void>) => void): void;
}

type Column = MetricsResult['columns'][number];

/** Excel's number format for a column: the measure's format, dates as dates, text as text. */
export function numberFormatOf(column: Column): string {
  if (column.kind === 'measure' || column.type === 'number') {
    switch (column.format) {
      case 'percent':
        return '0.0%';
      case 'currency':
        return '#,##0.00';
      case 'integer':
        return '#,##0';
      case 'decimal':
        return '#,##0.00';
      case 'duration':
        return '[h]:mm:ss';
      default:
        return 'General';
    }
  }
  if (column.type === 'timestamp') return 'yyyy-mm-dd hh:mm';
  if (column.type === 'date') return 'yyyy-mm-dd';
  if (column.type === 'boolean') return 'General';
  // Text stays text: a value such as "=1+1" or "+44…" must not become a formula or a number.
  return '@';
}

const DAY_MS = 86_400_000;
/** Excel's serial day of 1970-01-01 (its epoch is 1899-12-30). */
const EXCEL_EPOCH_OFFSET = 25_569;

/** A value as Excel takes it: dates as serial days, durations (seconds) as days, null as empty. */
export function cellValue(value: unknown, column: Column): string | number | boolean {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return column.format === 'duration' ? value / 86_400 : value;
  if (typeof value === 'boolean') return value;
  if (column.type === 'date' || column.type === 'timestamp') {
    const text = String(value);
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(ms)) return ms / DAY_MS + EXCEL_EPOCH_OFFSET;
  }
  return String(value);
}

/** Splits rows into [start, end) runs whose estimated payload (values and formats) stays under `maxBytes`. */
export function chunkRows(rows: unknown[][], formats: string[], maxBytes = MAX_SYNC_BYTES): Array<[number, number]> {
  const formatBytes = formats.reduce((a, f) => a + f.length + 3, 2);
  const out: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const size = JSON.stringify(rows[i]).length + 1 + formatBytes;
    if (i > start && bytes + size > maxBytes) {
      out.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (rows.length > start) out.push([start, rows.length]);
  return out;
}

/** A1 letters of a 0-based column index. */
export function columnLetters(index: number): string {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/** A name Excel accepts for a table (letters, digits, underscores; unique in the workbook). */
export function tableName(model: string, taken: readonly string[]): string {
  const base = `Sextant_${model.replace(/[^A-Za-z0-9_]/g, '_')}`.slice(0, 240);
  const names = new Set(taken.map((t) => t.toLowerCase()));
  for (let i = 1; ; i++) {
    const name = `${base}_${i}`;
    if (!names.has(name.toLowerCase())) return name;
  }
}

export interface WriteOptions {
  sheet: Excel.Worksheet;
  row: number;
  column: number;
  name: string;
  maxSyncBytes?: number;
}

/** Writes header and rows at (row, column) of `sheet` in chunks, then makes them a table named `name`. Returns the number of syncs. */
export async function writeTable(context: Excel.RequestContext, result: MetricsResult, options: WriteOptions): Promise<number> {
  const { sheet, row, column, name } = options;
  const width = result.columns.length;
  const formats = result.columns.map(numberFormatOf);
  let syncs = 0;
  const header = sheet.getRangeByIndexes(row, column, 1, width);
  header.numberFormat = [formats.map(() => '@')];
  header.values = [result.columns.map((c) => (c.grain ? `${c.name} (${c.grain.toLowerCase()})` : c.name))];
  for (const [start, end] of chunkRows(result.rows, formats, options.maxSyncBytes)) {
    const range = sheet.getRangeByIndexes(row + 1 + start, column, end - start, width);
    // Formats before values, in the same batch: text columns are text before "=…" lands in them.
    range.numberFormat = result.rows.slice(start, end).map(() => formats);
    range.values = result.rows.slice(start, end).map((r) => r.map((v, i) => cellValue(v, result.columns[i])));
    await context.sync();
    syncs++;
  }
  const last = row + Math.max(1, result.rows.length);
  const address = `${columnLetters(column)}${row + 1}:${columnLetters(column + width - 1)}${last + 1}`;
  const table = sheet.tables.add(address, true);
  table.name = name;
  table.getRange().format.autofitColumns();
  await context.sync();
  return syncs + 1;
}

/** The tables the add-in made in this workbook. */
export function loadRecords(settings: SettingsLike): TableRecord[] {
  const value = settings.get(SETTINGS_KEY);
  return Array.isArray(value) ? (value as TableRecord[]) : [];
}

/** Stores the records in the document (saved with it). */
export function saveRecords(settings: SettingsLike, records: TableRecord[]): Promise<void> {
  settings.set(SETTINGS_KEY, records);
  return new Promise((resolve, reject) =>
    // AsyncResultStatus.Failed is the string "failed" at run time; compared as a string so this runs without Office loaded.
    settings.saveAsync((r) => (r && String(r.status) === 'failed' ? reject(new Error(r.error?.message ?? 'could not save the settings')) : resolve())),
  );
}

export type RunQuery = (query: SemanticQueryInput) => Promise<MetricsResult>;

/** Asks the question and writes the answer as a new table at the selected cell. */
export async function insertTable(
  context: Excel.RequestContext,
  settings: SettingsLike,
  query: SemanticQueryInput,
  run: RunQuery,
  lastLoadedAt: string | null,
): Promise<TableRecord> {
  const result = await run(query);
  const selected = context.workbook.getSelectedRange();
  selected.load('rowIndex,columnIndex');
  const sheet = context.workbook.worksheets.getActiveWorksheet();
  sheet.load('name');
  const existing = context.workbook.tables;
  existing.load('items/name');
  await context.sync();
  const records = loadRecords(settings);
  const name = tableName(query.model, [...existing.items.map((t) => t.name), ...records.map((r) => r.name)]);
  await writeTable(context, result, { sheet, row: selected.rowIndex, column: selected.columnIndex, name });
  const record: TableRecord = {
    name,
    query,
    sheet: sheet.name,
    row: selected.rowIndex,
    column: selected.columnIndex,
    rows: result.rows.length,
    refreshedAt: new Date().toISOString(),
    lastLoadedAt: result.lastLoadedAt ?? lastLoadedAt,
    truncated: result.hasMore === true,
  };
  await saveRecords(settings, [...records.filter((r) => r.name !== name), record]);
  return record;
}

/**
 * Runs each remembered table's question again and rewrites it in place: the old table becomes a plain
 * range, is cleared, and the new answer is written at the same top-left cell under the same name (the
 * answer may have more or fewer rows). A table the user deleted is written again where it was.
 */
export async function refreshTables(
  context: Excel.RequestContext,
  settings: SettingsLike,
  run: RunQuery,
  freshness: (model: string) => string | null,
): Promise<TableRecord[]> {
  const records = loadRecords(settings);
  const done: TableRecord[] = [];
  for (const record of records) {
    const result = await run(record.query);
    const table = context.workbook.tables.getItemOrNullObject(record.name);
    table.load('isNullObject');
    await context.sync();
    let sheet: Excel.Worksheet;
    let row = record.row;
    let column = record.column;
    if (!table.isNullObject) {
      sheet = table.worksheet;
      sheet.load('name');
      const range = table.getRange();
      range.load('rowIndex,columnIndex');
      await context.sync();
      row = range.rowIndex;
      column = range.columnIndex;
      table.convertToRange();
      range.clear();
      await context.sync();
    } else {
      const found = context.workbook.worksheets.getItemOrNullObject(record.sheet);
      found.load('isNullObject');
      await context.sync();
      sheet = found.isNullObject ? context.workbook.worksheets.add(record.sheet) : found;
      sheet.load('name');
    }
    await writeTable(context, result, { sheet, row, column, name: record.name });
    done.push({
      ...record,
      sheet: sheet.name,
      row,
      column,
      rows: result.rows.length,
      refreshedAt: new Date().toISOString(),
      lastLoadedAt: result.lastLoadedAt ?? freshness(record.query.model),
      truncated: result.hasMore === true,
    });
  }
  await saveRecords(settings, done);
  return done;
}
