import type { ColumnTypeName, ParamType, SqlDialect, TimeGrain } from '../port.js';
import { quoteIdent, quoteTable } from '../sql.js';

const CAST: Record<ParamType, string> = { string: 'text', number: 'float8', boolean: 'boolean', date: 'date', timestamp: 'timestamp' };

const TYPES: Record<ColumnTypeName, string> = {
  string: 'text',
  integer: 'integer',
  bigint: 'bigint',
  decimal: 'numeric(18,4)',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  json: 'jsonb',
};

/** PostgreSQL SQL. `date_trunc('week', …)` truncates to the ISO week's Monday. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quoteIdent,
  quoteTable,
  param: (index, type) => (type ? `$${index}::${CAST[type]}` : `$${index}`),
  truncTime: (grain: TimeGrain, expr) =>
    grain === 'hour' ? `date_trunc('hour', (${expr})::timestamp)` : `date_trunc('${grain}', (${expr})::timestamp)::date`,
  toFloat: (expr) => `(${expr})::float8`,
  contains: (expr, param) => `strpos(${expr}, ${param}) > 0`,
  startsWith: (expr, param) => `starts_with(${expr}, ${param})`,
  columnType: (type) => TYPES[type],
};
