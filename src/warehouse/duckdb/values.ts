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

type Convert = (value: DuckDBValue) => SqlValue;

/**
 * A whole number: a JS number while it is exact (|n| ≤ 2^53 − 1), else the driver's bigint, so that a
 * face which writes exact numbers (OData's Edm.Int64/Edm.Decimal) never sees a rounded value.
 */
export function exactInteger(v: bigint | number): number | bigint {
  if (typeof v === 'number') return v;
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

const asInteger: Convert = (v) => (typeof v === 'bigint' || typeof v === 'number' ? exactInteger(v) : Number(v));
const asText: Convert = (v) => (typeof v === 'string' ? v : String(v));

/**
 * The conversion of one column type, chosen once per column (not per value): big integers become
 * numbers while they are exact, and stay bigints beyond 2^53 (the port's SqlValue admits them; GraphQL
 * turns them into its Float, OData writes their digits). Nested values (lists, structs)
 * become their JSON text; TIME, INTERVAL, UUID, BLOB keep DuckDB's own text.
 */
function converterFor(type: DuckDBType): Convert {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return (v) => Boolean(v);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return (v) => v as number;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return asInteger;
    case DuckDBTypeId.DECIMAL:
      return (v) => {
        if (!(v instanceof DuckDBDecimalValue)) return Number(v);
        // A whole decimal (DECIMAL(38,0) ids, sums of bigints) stays exact; fractions are read as doubles.
        const unit = 10n ** BigInt(v.scale);
        return v.value % unit === 0n ? exactInteger(v.value / unit) : v.toDouble();
      };
    case DuckDBTypeId.DATE:
      // DuckDBDateValue prints as YYYY-MM-DD (and `infinity` as itself).
      return (v) => (v instanceof DuckDBDateValue ? v.toString() : String(v));
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestampToIso;
    case DuckDBTypeId.VARCHAR: // JSON is a VARCHAR with the alias JSON: its text is what we want
    case DuckDBTypeId.ENUM:
      return asText;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
      return (v) => JSON.stringify(JsonDuckDBValueConverter(v, type, JsonDuckDBValueConverter));
    default:
      return (v) => String(v);
  }
}

/** DuckDB value → SqlValue (one value; rowsFromChunk converts whole columns). */
export const toSqlValue: DuckDBValueConverter<SqlValue> = (value: DuckDBValue, type: DuckDBType): SqlValue =>
  value === null ? null : converterFor(type)(value);

/**
 * Converts one chunk into row objects keyed by the result's (de-duplicated) column names, column by
 * column: the library's row-wise conversion costs about twice as much per value.
 */
export function rowsFromChunk(chunk: DuckDBDataChunk, names: readonly string[]): Row[] {
  const count = chunk.rowCount;
  const rows: Row[] = new Array(count);
  for (let r = 0; r < count; r++) rows[r] = {};
  for (let c = 0; c < names.length; c++) {
    const vector = chunk.getColumnVector(c);
    const convert = converterFor(vector.type);
    const name = names[c];
    for (let r = 0; r < count; r++) {
      const value = vector.getItem(r);
      rows[r][name] = value === null ? null : convert(value);
    }
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
