/**
 * Value conversion between JavaScript and DuckDB, in both directions, so that rows leave this adapter
 * in the port's normal form (SqlValue: dates `YYYY-MM-DD`, timestamps ISO in UTC, numbers as numbers).
 */
import {
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBDataChunk,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import type { Row, SqlValue } from '../port.js';

/** Milliseconds since the epoch → ISO string; out-of-range values (e.g. `infinity`) keep DuckDB's own text. */
function isoFromMillis(ms: number, fallback: string): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? fallback : d.toISOString();
}

function timestampToIso(value: DuckDBValue): string {
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) {
    return isoFromMillis(Math.floor(Number(value.micros) / 1000), value.toString());
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) return isoFromMillis(Number(value.millis), value.toString());
  if (value instanceof DuckDBTimestampSecondsValue) return isoFromMillis(Number(value.seconds) * 1000, value.toString());
  if (value instanceof DuckDBTimestampNanosecondsValue) return isoFromMillis(Math.floor(Number(value.nanos) / 1e6), value.toString());
  return String(value);
}

/**
 * DuckDB value → SqlValue. Big integers become numbers because the port promises JSON numbers
 * (measures are Float in GraphQL); beyond 2^53 they lose precision, which aggregates of marketing
 * counts do not reach. Nested values (lists, structs) become their JSON text.
 */
export const toSqlValue: DuckDBValueConverter<SqlValue> = (value: DuckDBValue, type: DuckDBType): SqlValue => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return Boolean(value);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return Number(value);
    case DuckDBTypeId.DECIMAL:
      return value instanceof DuckDBDecimalValue ? value.toDouble() : Number(value);
    case DuckDBTypeId.DATE:
      // DuckDBDateValue prints as YYYY-MM-DD (and `infinity` as itself).
      return value instanceof DuckDBDateValue ? value.toString() : String(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestampToIso(value);
    case DuckDBTypeId.VARCHAR: // JSON is a VARCHAR with the alias JSON: its text is what we want
    case DuckDBTypeId.ENUM:
      return typeof value === 'string' ? value : String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
      return JSON.stringify(JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter));
    default:
      // TIME, INTERVAL, UUID, BLOB, BIT …: DuckDB's own text form.
      return String(value);
  }
};

/** Converts one chunk into row objects keyed by the result's (de-duplicated) column names. */
export function rowsFromChunk(chunk: DuckDBDataChunk, names: readonly string[]): Row[] {
  const values = chunk.convertRows(toSqlValue);
  const rows: Row[] = new Array(values.length);
  for (let r = 0; r < values.length; r++) {
    const source = values[r];
    const row: Row = {};
    for (let c = 0; c < names.length; c++) row[names[c]] = source[c] ?? null;
    rows[r] = row;
  }
  return rows;
}

/**
 * A bound parameter. Strings, numbers, booleans and bigints bind as themselves (DuckDB infers
 * VARCHAR/INTEGER/BIGINT/DOUBLE/BOOLEAN/HUGEINT); a Date binds as its ISO text, which the dialect's
 * `CAST($n AS TIMESTAMP)` reads in UTC; objects bind as JSON text.
 */
export function toDuckDbParam(value: unknown): DuckDBValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
    case 'object':
      return value instanceof Date ? value.toISOString() : JSON.stringify(value);
    default:
      throw new TypeError(`cannot bind a ${typeof value} as a DuckDB parameter`);
  }
}

/** A SqlValue as the text that DuckDB casts back to the column type when staging a merge. */
export function toStageText(value: SqlValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return String(value);
}
