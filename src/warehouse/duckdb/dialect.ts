import type { ColumnTypeName, ParamType, SqlDialect, TimeGrain } from '../port.js';
import { quoteIdent, quoteTable } from '../sql.js';

const CAST: Record<ParamType, string> = { string: 'VARCHAR', number: 'DOUBLE', boolean: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMP' };

const TYPES: Record<ColumnTypeName, string> = {
  string: 'VARCHAR',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  decimal: 'DECIMAL(18,4)',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

/** DuckDB SQL. `date_trunc('week', …)` is ISO (Monday) in DuckDB, as in PostgreSQL. */
export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  quoteIdent,
  quoteTable,
  param: (index, type) => (type ? `CAST($${index} AS ${CAST[type]})` : `$${index}`),
  truncTime: (grain: TimeGrain, expr) =>
    grain === 'hour' ? `date_trunc('hour', CAST(${expr} AS TIMESTAMP))` : `CAST(date_trunc('${grain}', CAST(${expr} AS TIMESTAMP)) AS DATE)`,
  toFloat: (expr) => `CAST(${expr} AS DOUBLE)`,
  contains: (expr, param) => `strpos(${expr}, ${param}) > 0`,
  startsWith: (expr, param) => `starts_with(${expr}, ${param})`,
  columnType: (type) => TYPES[type],
};
