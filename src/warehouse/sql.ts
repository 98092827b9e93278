/** SQL text helpers shared by the dialects. */

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
