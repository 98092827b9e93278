/**
 * SQL that turns one text field read by `read_csv` into its column's value exactly as the loader's
 * converter (src/ingest/convert-value.ts) would, or stops the statement with {@link NOT_CANONICAL} when the
 * value has a form it might read differently (the loader then converts the file itself and reports errors).
 * Only the common, unambiguous forms are taken: integers and dates as DuckDB prints them, plain decimals, ISO dates and UTC
 * timestamps with at most milliseconds, the six boolean words; JSON values are always left to the loader.
 */
import type { ColumnTypeName, TableColumn } from '../port.js';
import { quoteIdent } from '../sql.js';

/** The message of the error a non-canonical value raises: loadCsv declines the file when it sees it. */
export const NOT_CANONICAL = 'sextant: a value read_csv may read differently than the converter';

/** JavaScript's `String.prototype.trim` whitespace, for RE2: a value of only these is missing (isMissing). */
const JS_SPACE = '[\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]*';
const NUMBER = '[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?';
/** At most 13 digits before the point: the converter's double never rounds up to its 10^14 limit. */
const DECIMAL = '-?(?:[0-9]{1,13}(?:\\.[0-9]*)?|\\.[0-9]+)';
const DATE = '[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])';
/** Date.UTC reads years below 100 as 19xx: the converter's calendar check differs there. */
const YEAR_FROM_100 = (v: string) => `substr(${v}, 1, 2) <> '00'`;
const TIMESTAMP = `${DATE}(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,3})?)?Z?`;

const fail = `error('${NOT_CANONICAL}')`;

/** True when `v` (SQL) is a missing value: NULL (an empty field) or whitespace only. */
export function missingSql(v: string): string {
  return `(${v} IS NULL OR regexp_full_match(${v}, '${JS_SPACE}'))`;
}

/** The checked conversion of a present value, per column type: [condition, value]. */
function present(type: ColumnTypeName, v: string): [string, string] {
  // Integers and dates are canonical when they print back as written: cheaper than a regular expression.
  const roundTrip = (sqlType: string): [string, string] => [`CAST(TRY_CAST(${v} AS ${sqlType}) AS VARCHAR) = ${v}`, `TRY_CAST(${v} AS ${sqlType})`];
  switch (type) {
    case 'string':
      return ['true', v];
    case 'integer':
      return roundTrip('INTEGER');
    case 'bigint':
      return roundTrip('BIGINT');
    case 'double':
      return [`regexp_full_match(${v}, '${NUMBER}') AND isfinite(TRY_CAST(${v} AS DOUBLE))`, `TRY_CAST(${v} AS DOUBLE)`];
    case 'decimal':
      return [`regexp_full_match(${v}, '${DECIMAL}') AND TRY_CAST(${v} AS DECIMAL(18,4)) IS NOT NULL`, `TRY_CAST(${v} AS DECIMAL(18,4))`];
    case 'boolean':
      return [`lower(${v}) IN ('true', '1', 'yes', 'false', '0', 'no')`, `lower(${v}) IN ('true', '1', 'yes')`];
    case 'date': {
      const [ok, value] = roundTrip('DATE');
      return [`${ok} AND ${YEAR_FROM_100(v)}`, value];
    }
    case 'timestamp': {
      const plain = `replace(replace(${v}, 'T', ' '), 'Z', '')`;
      return [`regexp_full_match(${v}, '${TIMESTAMP}') AND ${YEAR_FROM_100(v)} AND TRY_CAST(${plain} AS TIMESTAMP) IS NOT NULL`, `TRY_CAST(${plain} AS TIMESTAMP)`];
    }
    case 'json':
      return ['false', 'NULL'];
  }
}

/**
 * The value of `column` from the text field `field` (a column of the `read_csv` relation): NULL when
 * missing (an error when the column is required), the converted value when canonical, else an error.
 * A canonical value is never blank, so the costlier blank test runs only on the values that are not.
 */
export function fieldValueSql(column: TableColumn, field: string): string {
  const v = quoteIdent(field);
  const [ok, value] = present(column.type, v);
  const missing = column.required ? fail : 'NULL';
  const blank = `regexp_full_match(${v}, '${JS_SPACE}')`;
  if (column.type === 'string') return `CASE WHEN ${v} IS NULL THEN ${missing} WHEN ${blank} THEN ${missing} ELSE ${v} END`;
  return `CASE WHEN ${v} IS NULL THEN ${missing} WHEN ${ok} THEN ${value} WHEN ${blank} THEN ${missing} ELSE ${fail} END`;
}
