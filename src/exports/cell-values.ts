/**
 * How each result column becomes a spreadsheet cell: the Excel number format of its measure format or
 * column type, and the value converted to what Excel stores (numbers, dates as serial dates, text made
 * inert). The CSV writer uses only the text side; the XLSX writer both.
 */
import type { ColumnType, Format } from '../semantic/types.js';
import type { SqlValue } from '../warehouse/port.js';
import { inertText } from './inert.js';

/** Excel's limit on the characters of one cell; longer text is cut there (and says so). */
export const MAX_CELL_CHARS = 32_767;

/**
 * Number formats by measure format. Percent measures are fractions (0.053 is 5.30%). Currency has no
 * symbol because a model does not say which currency it holds; negatives show in parentheses as in
 * accounting. Durations are seconds in the warehouse and become Excel time values (days) so that they
 * add up and show as hours:minutes:seconds.
 */
export const FORMAT_NUMFMT: Record<Format, string> = {
  integer: '#,##0',
  decimal: '#,##0.00',
  percent: '0.00%',
  currency: '#,##0.00_);(#,##0.00)',
  duration: '[h]:mm:ss',
};

/** Number formats by column type, for dimensions and measures without a format. */
const TYPE_NUMFMT: Partial<Record<ColumnType, string>> = {
  date: 'yyyy-mm-dd',
  timestamp: 'yyyy-mm-dd hh:mm:ss',
};

const SECONDS_PER_DAY = 86_400;

/** The Excel number format of a column, if it has one. */
export function numFmtOf(column: { type: ColumnType; format?: Format | undefined }): string | undefined {
  if (column.format) return FORMAT_NUMFMT[column.format];
  return TYPE_NUMFMT[column.type];
}

/** `YYYY-MM-DD` or an ISO timestamp as a UTC Date; undefined when it is neither. */
export function parseWhen(value: string, type: 'date' | 'timestamp'): Date | undefined {
  const iso = type === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Text as it goes into a cell: inert, and cut at Excel's limit. */
export function cellText(value: string): string {
  const text = inertText(value);
  return text.length > MAX_CELL_CHARS ? text.slice(0, MAX_CELL_CHARS) : text;
}

/** A cell value for the XLSX writer. */
export type XlsxValue = string | number | boolean | Date | null;

/** Converts one value of a column for an XLSX cell. */
export function xlsxValue(value: SqlValue | undefined, column: { type: ColumnType; format?: Format | undefined }): XlsxValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return column.format === 'duration' ? value / SECONDS_PER_DAY : value;
  }
  if (typeof value === 'boolean') return value;
  // A whole number past 2^53 (a bigint): Excel holds numbers as doubles, so the cell is the nearest one.
  if (typeof value === 'bigint') return Number(value);
  if (column.type === 'date' || column.type === 'timestamp') {
    const when = parseWhen(value, column.type);
    if (when) return when;
  }
  if (column.type === 'number') {
    // Some drivers hand back big numbers (bigint, decimal) as text; a number column stays a number.
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return column.format === 'duration' ? n / SECONDS_PER_DAY : n;
  }
  return cellText(value);
}

/** Converts one value for a CSV field (before RFC 4180 quoting): numbers as JavaScript prints them, text inert. */
export function csvText(value: SqlValue | undefined, column: { type: ColumnType }): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'bigint') return value.toString(); // exact digits
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (column.type === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return value;
  return inertText(value);
}
