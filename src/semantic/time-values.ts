/**
 * Time values as every face shows them: a calendar date for day and coarser grains (`2026-01-01`, what a
 * spreadsheet or BI tool reads as a date without a time zone surprise) and a UTC timestamp for hours
 * (`2026-01-01T13:00:00Z`). Parsing of client time literals into parameters is in filter-values.ts.
 */
import type { TimeGrain } from './types.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Days in a month of the proleptic Gregorian calendar (JavaScript's Date's). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * True for a real calendar date `YYYY-MM-DD` (rejects 2026-02-30). Checked by arithmetic rather than by a
 * round trip through Date, whose string parsing cost a percent of a GraphQL request's CPU (every date
 * literal of a filter passes here).
 */
export function isIsoDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(m[1]), month);
}

/** `2026-01-01T13:00:00.000Z` → `2026-01-01T13:00:00Z` (seconds precision is what hour buckets need). */
export function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/**
 * Parses an ISO timestamp; a timestamp without an offset is taken as UTC, which is how the warehouse
 * stores them. Returns undefined when the text is not a timestamp.
 */
export function parseIsoDateTime(value: string): Date | undefined {
  const m = DATE_TIME.exec(value);
  if (!m || !isIsoDate(`${m[1]}-${m[2]}-${m[3]}`)) return undefined;
  const zone = m[8] === undefined ? 'Z' : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8];
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7] ?? ''}${zone}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Formats a warehouse time value at a grain: a date for day and coarser, a UTC timestamp for hour.
 * The adapters already return dates as `YYYY-MM-DD` and timestamps as ISO strings; this only fixes
 * the shape, it never shifts a value between days.
 */
export function formatTimeValue(value: unknown, grain: TimeGrain): string | null {
  if (value === null || value === undefined) return null;
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (grain !== 'hour') return text.slice(0, 10);
  if (isIsoDate(text)) return `${text}T00:00:00Z`;
  const d = parseIsoDateTime(text);
  return d ? isoSeconds(d) : text;
}

