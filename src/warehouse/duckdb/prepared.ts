/**
 * Prepared statements per DuckDB connection: the serving layer asks a few statement shapes again and
 * again with other values, and preparing one (parse, bind, plan) costs about as much as running a
 * selective aggregate. Each connection keeps at most `max` of them, least recently used destroyed first,
 * so an unbounded variety of shapes holds bounded memory.
 */
import { ResultReturnType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import type { Row } from '../port.js';
import { rowsFromChunk } from './values.js';

/** Prepared statements kept per connection unless SEXTANT_PREPARED_STATEMENTS says otherwise. */
export const DEFAULT_PREPARED_STATEMENTS = 100;

/** The statements prepared on one connection, by text, in order of use (first = least recently used). */
export class PreparedStatementCache {
  private readonly statements = new Map<string, DuckDBPreparedStatement>();

  constructor(
    private readonly connection: DuckDBConnection,
    readonly max: number,
  ) {}

  /** The statement for `sql`, prepared on first use; marks it as used now. */
  async get(sql: string): Promise<DuckDBPreparedStatement> {
    const cached = this.statements.get(sql);
    if (cached) {
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const prepared = await this.connection.prepare(sql);
    for (const [old, statement] of this.statements) {
      if (this.statements.size < this.max) break;
      this.statements.delete(old);
      statement.destroySync();
    }
    this.statements.set(sql, prepared);
    return prepared;
  }

  /** Destroys the statement for `sql` (after a failure its state is not trusted); the next use prepares again. */
  forget(sql: string): void {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    statement.destroySync();
  }

  /** Destroys every statement (before the connection is closed). */
  clear(): void {
    for (const statement of this.statements.values()) statement.destroySync();
    this.statements.clear();
  }

  get size(): number {
    return this.statements.size;
  }
}

/**
 * Runs a bound prepared statement and reads its rows: executed whole in one call (a materialized result,
 * whose chunks are then read without going back to DuckDB's thread), where a streaming result costs a
 * round trip to a libuv thread per chunk plus one for the empty chunk that ends it — three for a small
 * answer instead of one. For the serving layer's reads, whose answers are bounded by the row limit.
 */
export async function runAndRead(statement: DuckDBPreparedStatement): Promise<Row[]> {
  const result = await statement.run();
  // DML answers a one-row "Count" result in DuckDB and no rows in PostgreSQL; the port says no rows.
  if (result.returnType !== ResultReturnType.QUERY_RESULT) return [];
  const names = result.deduplicatedColumnNames();
  const count = result.chunkCount;
  if (count === 1) return rowsFromChunk(result.getChunk(0), names);
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) for (const row of rowsFromChunk(result.getChunk(i), names)) rows.push(row);
  return rows;
}
