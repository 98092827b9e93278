/**
 * SQL text of a model's own expressions, shared by the planner (planner.ts) and the statements that build
 * rollups (rollup-plan.ts), so that a rollup groups exactly what a question over the base table groups.
 * Only model SQL (loaded at start-up) is ever tokenised here, never a client string.
 */
import type { SqlDialect } from '../warehouse/port.js';
import type { Join, Model } from './types.js';
import { isPlainColumn, withoutComments } from './sql-tokens.js';

const strippedCache = new Map<string, string>();

/** Model SQL without its comments (cached per text: the set of model texts is fixed at start-up). */
export function stripped(sql: string): string {
  let out = strippedCache.get(sql);
  if (out === undefined) {
    out = withoutComments(sql);
    strippedCache.set(sql, out);
  }
  return out;
}

/** SQL text of a model expression: a plain column is quoted, anything else parenthesised without comments. */
export function renderExpr(sql: string, dialect: SqlDialect): string {
  return isPlainColumn(sql) ? dialect.quoteIdent(sql.trim()) : `(${stripped(sql)})`;
}

/** What a model reads: its table, or its SQL as a subquery. */
export function fromClause(model: Model, dialect: SqlDialect): string {
  return model.table !== undefined ? dialect.quoteTable(model.table) : `(${stripped(model.sql ?? '')}) ${dialect.quoteIdent('_m')}`;
}

/**
 * A join as a subquery grouped by the joined model's grain, so that a duplicated key in the joined table
 * can never multiply a row: `left join (select <keys> as _k0…, min(<dim>) as <alias>… group by <keys>) <alias> on …`.
 * @param cols joined dimension name → the column alias it is projected as
 * @param local the SQL reference of one of this model's columns (the `on` side of this model)
 */
export function joinClause(join: Join, remote: Model, cols: ReadonlyMap<string, string>, alias: string, local: (column: string) => string, dialect: SqlDialect): string {
  const q = (n: string): string => dialect.quoteIdent(n);
  const byName = new Map(remote.dimensions.map((d) => [d.name, d]));
  const keys = Object.entries(join.on).map(([localCol, grainCol], i) => {
    const d = byName.get(grainCol);
    return { local: localCol, remoteExpr: d ? renderExpr(d.sql, dialect) : dialect.quoteIdent(grainCol), alias: `_k${i}` };
  });
  const projected = [...cols].map(([dimName, colAlias]) => {
    const d = byName.get(dimName);
    if (!d) throw new Error(`dimension ${dimName} is not in ${remote.id}`);
    const fn = d.type === 'boolean' ? 'bool_or' : 'min';
    return `${fn}(${renderExpr(d.sql, dialect)}) as ${q(colAlias)}`;
  });
  const sub = `select ${[...keys.map((k) => `${k.remoteExpr} as ${q(k.alias)}`), ...projected].join(', ')} from ${fromClause(remote, dialect)} group by ${keys.map((k) => k.remoteExpr).join(', ')}`;
  const on = keys.map((k) => `${local(k.local)} = ${q(alias)}.${q(k.alias)}`).join(' and ');
  return ` left join (${sub}) ${q(alias)} on ${on}`;
}
