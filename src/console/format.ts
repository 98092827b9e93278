/**
 * How the console and the add-in show a value: by the measure's format (docs/models.md — integer, decimal,
 * percent, currency, duration) and, for dimensions, by type and grain. DOM-free, so the unit tests
 * run it in Node.
 */

/** A column of a `metrics` result, as the API answers it. */
export interface ResultColumn {
  name: string;
  key: string;
  kind: string;
  type: string;
  grain?: string | null;
  format?: string | null;
}

/** Intl formatters are slow to build and a table formats thousands of cells: one per locale and style. */
const numberFormats = new Map<string, Intl.NumberFormat>();
function nf(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    numberFormats.set(key, f);
  }
  return f;
}

/** Seconds as `2h 03m`, `4m 05s` or `12.3s`. */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s < 60) return `${sign}${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (h > 0) return `${sign}${h}h ${String(m).padStart(2, '0')}m`;
  return `${sign}${m}m ${String(rest).padStart(2, '0')}s`;
}

/** A measure's value by its format: 0.0139 percent → `1.4%`, 1234567 integer → `1,234,567`. */
export function formatNumber(value: number, format: string | null | undefined, locale?: string): string {
  switch (format) {
    case 'percent':
      return nf(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
    case 'currency':
      // Models carry no currency code, so amounts get two decimals and no guessed symbol.
      return nf(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    case 'integer':
      return nf(locale, { maximumFractionDigits: 0 }).format(value);
    case 'duration':
      return formatDuration(value);
    case 'decimal':
      return nf(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    default:
      // No format: integers as integers, other numbers with up to 2 decimals.
      return nf(locale, { maximumFractionDigits: Number.isInteger(value) ? 0 : 2 }).format(value);
  }
}

/** A time dimension's value by its grain: `2026-03` for a month, `2026-Q1` for a quarter. */
export function formatTime(value: string, grain: string | null | undefined): string {
  const g = (grain ?? '').toUpperCase();
  if (g === 'YEAR') return value.slice(0, 4);
  if (g === 'QUARTER') return `${value.slice(0, 4)}-Q${Math.floor((Number(value.slice(5, 7)) - 1) / 3) + 1}`;
  if (g === 'MONTH') return value.slice(0, 7);
  if (g === 'HOUR') return `${value.slice(0, 10)} ${value.slice(11, 16)}`;
  return value.slice(0, 10);
}

/** Any cell of a result, as text. Null shows as an empty string (the table marks it). */
export function formatCell(value: unknown, column: ResultColumn, locale?: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return formatNumber(value, column.format, locale);
  if (column.type === 'date' || column.type === 'timestamp') return formatTime(String(value), column.grain);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/** "3 h ago" for a freshness stamp, from `now`. */
export function formatAge(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return 'never loaded';
  const ms = now.getTime() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return 'unknown';
  const min = Math.round(ms / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}
