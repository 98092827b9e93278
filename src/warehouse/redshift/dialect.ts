import type { ColumnTypeName, ParamType, SqlDialect, TimeGrain } from '../port.js';
import { quoteIdent, quoteTable } from '../sql.js';

/**
 * Redshift's longest VARCHAR. Its `TEXT` is `VARCHAR(256)`, which would cut longer strings (a COPY
 * rejects them), so strings are declared and cast at the maximum; unused length costs no storage.
 */
const VARCHAR_MAX = 'varchar(65535)';

const CAST: Record<ParamType, string> = { string: VARCHAR_MAX, number: 'float8', boolean: 'boolean', date: 'date', timestamp: 'timestamp' };

/**
 * Target column types. `json` is kept as its text in a VARCHAR: SUPER would need `JSON_PARSE` on every
 * load, and the semantic layer reads JSON columns as text anyway (describeTable then reports `string`).
 */
const TYPES: Record<ColumnTypeName, string> = {
  string: VARCHAR_MAX,
  integer: 'integer',
  bigint: 'bigint',
  decimal: 'decimal(18,4)',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  json: VARCHAR_MAX,
};

/**
 * Redshift SQL. What differs from PostgreSQL's: no `starts_with` (`strpos(…) = 1` instead), no `text`
 * casts (VARCHAR(256) there), JSON as VARCHAR. `date_trunc('week', …)` truncates to Monday in Redshift
 * too. Everything the planner emits is also valid PostgreSQL, which is how the golden queries run it
 * on a real database (test/golden).
 */
export const redshiftDialect: SqlDialect = {
  name: 'redshift',
  quoteIdent,
  quoteTable,
  param: (index, type) => (type ? `$${index}::${CAST[type]}` : `$${index}`),
  truncTime: (grain: TimeGrain, expr) =>
    grain === 'hour' ? `date_trunc('hour', (${expr})::timestamp)` : `date_trunc('${grain}', (${expr})::timestamp)::date`,
  toFloat: (expr) => `(${expr})::float8`,
  contains: (expr, param) => `strpos(${expr}, ${param}) > 0`,
  startsWith: (expr, param) => `strpos(${expr}, ${param}) = 1`,
  columnType: (type) => TYPES[type],
};
