/** SQL text helpers shared by the dialects. */

import { UserError } from '../errors.js';
import { MAX_REPLACED_TABLE_NAME, type TableColumn, type TableSpec } from './port.js';

/** Sequence column of a merge's staging table: orders in-batch duplicates so that the last occurrence wins. */
export const STAGE_SEQ_COLUMN = '__sextant_seq';

/** Double-quotes an identifier, doubling embedded quotes (ANSI; PostgreSQL, DuckDB and Redshift agree). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` → `"schema"."table"`; a name without a schema is quoted as one identifier. */
export function quoteTable(qualified: string): string {
  return qualified.split('.').map(quoteIdent).join('.');
}

/** Splits `schema.table` into its parts; the schema defaults to `main`/`public` by the caller. */
export function splitTable(qualified: string): { schema: string | undefined; table: string } {
  const i = qualified.indexOf('.');
  return i < 0 ? { schema: undefined, table: qualified } : { schema: qualified.slice(0, i), table: qualified.slice(i + 1) };
}

/**
 * Checks a table spec before DDL: a schema-qualified-or-plain name, at least one column, a non-empty
 * key made of declared columns, no duplicate column. Shared by the adapters' ensureTable and merge.
 */
export function checkTableSpec(spec: TableSpec): void {
  const names = new Set<string>();
  for (const c of spec.columns) {
    if (names.has(c.name)) throw new UserError('TARGET_INVALID', `table ${spec.table}: column "${c.name}" is declared twice`);
    names.add(c.name);
  }
  if (spec.columns.length === 0) throw new UserError('TARGET_INVALID', `table ${spec.table}: expected at least one column`);
  if (spec.key.length === 0) throw new UserError('TARGET_INVALID', `table ${spec.table}: expected a key (the columns a load upserts on)`);
  for (const k of spec.key) {
    if (!names.has(k)) throw new UserError('TARGET_INVALID', `table ${spec.table}: key column "${k}" is not one of the columns`);
  }
}

/**
 * The spec columns of a merge batch, in the batch's order. Every batch column must be declared and
 * every key column supplied, since rows are matched on the key.
 */
export function mergeColumns(spec: TableSpec, columns: readonly string[]): TableColumn[] {
  checkTableSpec(spec);
  const byName = new Map(spec.columns.map((c) => [c.name, c] as const));
  const seen = new Set<string>();
  const out: TableColumn[] = [];
  for (const name of columns) {
    const col = byName.get(name);
    if (!col) throw new UserError('TARGET_INVALID', `merge into ${spec.table}: column "${name}" is not declared in the table spec`);
    if (seen.has(name)) throw new UserError('TARGET_INVALID', `merge into ${spec.table}: column "${name}" is supplied twice`);
    seen.add(name);
    out.push(col);
  }
  for (const k of spec.key) {
    if (!seen.has(k)) throw new UserError('TARGET_INVALID', `merge into ${spec.table}: key column "${k}" is missing from the batch`);
  }
  return out;
}


/**
 * Checks the spec of a replaced table (a name, columns, no duplicates; no key needed) and names the
 * tables beside it: `<table>__sx_next` (being written) and `<table>__sx_old` (swapped out, dropped).
 */
export function replaceNames(spec: TableSpec): { schema: string | undefined; name: string; next: string; old: string } {
  const { schema, table } = splitTable(spec.table);
  if (table.length === 0 || table.length > MAX_REPLACED_TABLE_NAME) {
    throw new UserError('TARGET_INVALID', `table ${spec.table}: a replaced table's name has 1 to ${MAX_REPLACED_TABLE_NAME} characters`);
  }
  const names = new Set<string>();
  for (const c of spec.columns) {
    if (names.has(c.name)) throw new UserError('TARGET_INVALID', `table ${spec.table}: column "${c.name}" is declared twice`);
    names.add(c.name);
  }
  if (spec.columns.length === 0) throw new UserError('TARGET_INVALID', `table ${spec.table}: expected at least one column`);
  return { schema, name: table, next: `${table}__sx_next`, old: `${table}__sx_old` };
}
