/**
 * Named prepared statements per pooled connection (the plans PostgreSQL caches per statement shape).
 *
 * node-postgres prepares a query config that has a `name` once per connection and afterwards only binds
 * and executes it. The server keeps every prepared statement of a session in memory until it is
 * DEALLOCATEd, so a connection keeps at most `max` of them, least recently used evicted first: an
 * unbounded variety of shapes (every filter combination a client can send) cannot exhaust the server.
 */
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';

/** Prepared statements kept per connection unless SEXTANT_PREPARED_STATEMENTS says otherwise. */
export const DEFAULT_PREPARED_STATEMENTS = 100;

/**
 * The statement's name: a hash of its text, so that one text always has the same name on every
 * connection and two texts never share one (node-postgres refuses a name reused for another text).
 */
export function statementName(sql: string): string {
  return `sx_${createHash('sha256').update(sql).digest('hex').slice(0, 40)}`;
}

/** Drops one of our named statements (a name from {@link statementName}: no quoting needed). Redshift has DEALLOCATE too. */
export function deallocateSql(name: string): string {
  return `DEALLOCATE ${name}`;
}

/**
 * node-postgres remembers which names it has parsed on a connection (`connection.parsedStatements`) and
 * sends only Bind/Execute for them. After a DEALLOCATE it must forget the name too, or its next use
 * would bind a statement the server no longer has. That map is not public API, hence this one accessor
 * (test/integration/prepared-statements.test.ts fails if a pg upgrade moves it).
 */
function parsedStatements(client: PoolClient): Record<string, string | undefined> | undefined {
  return (client as unknown as { connection?: { parsedStatements?: Record<string, string | undefined> } }).connection?.parsedStatements;
}

/** Whether node-postgres has `name` prepared on this connection. */
export function isPrepared(client: PoolClient, name: string): boolean {
  return parsedStatements(client)?.[name] !== undefined;
}

/** Deallocates `name` on the server and makes node-postgres forget it, so that its next use prepares again. */
export async function deallocate(client: PoolClient, name: string): Promise<void> {
  const parsed = parsedStatements(client);
  if (parsed?.[name] === undefined) return;
  await client.query(deallocateSql(name));
  delete parsed[name];
}

/** The names prepared on one connection, in order of use (a Map keeps insertion order: first = least recent). */
export class PreparedStatements {
  private readonly names = new Map<string, true>();

  constructor(readonly max: number) {}

  /**
   * Marks `name` as used now and returns the names to deallocate before it is prepared (the least
   * recently used beyond `max`).
   */
  use(name: string): string[] {
    if (this.names.delete(name)) {
      this.names.set(name, true);
      return [];
    }
    const evicted: string[] = [];
    for (const old of this.names.keys()) {
      if (this.names.size - evicted.length < this.max) break;
      evicted.push(old);
    }
    for (const old of evicted) this.names.delete(old);
    this.names.set(name, true);
    return evicted;
  }

  forget(name: string): void {
    this.names.delete(name);
  }

  get size(): number {
    return this.names.size;
  }
}
