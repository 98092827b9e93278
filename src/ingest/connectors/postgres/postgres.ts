/**
 * `postgres`: rows of a query against another PostgreSQL (or Redshift) database, incremental on a cursor
 * column (docs/connectors/postgres.md). The query names the last committed cursor as `:cursor`; each
 * run reads the rows past it in batches (one raw page per batch) and commits the largest cursor value
 * it read with its last batch. The database URL is a credential (`url: ${ENV}`): it holds a password.
 */
import { UserError } from '../../../errors.js';
import type { SqlValue } from '../../../warehouse/port.js';
import type { ConnectorType } from '../types.js';

export interface PostgresSettings {
  query: string;
  cursor: string;
  batchSize: number;
  /** The cursor of the first run (default: the source's start_date, else no lower bound is possible). */
  initialCursor: string | undefined;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/i;

/** The larger of two cursor values: numbers by value, text (ISO dates and timestamps) by order. */
export function maxCursor(a: SqlValue | undefined, b: SqlValue): SqlValue {
  if (a === undefined || a === null) return b;
  if (b === null) return a;
  if (typeof a === 'number' && typeof b === 'number') return b > a ? b : a;
  return String(b) > String(a) ? b : a;
}

export const postgresType: ConnectorType<PostgresSettings> = {
  name: 'postgres',
  description: 'Rows of a query against another PostgreSQL or Redshift database, incremental on a cursor column.',
  mode: 'cursor',
  credentials: ['url'],
  streams: { rows: { description: 'The query\'s rows, one record each, fields named as the query\'s columns.', key: [] } },
  parseSettings(raw, problem) {
    for (const k of Object.keys(raw)) if (!['query', 'cursor', 'batch_size', 'initial_cursor'].includes(k)) problem(k, `unknown setting "${k}"; expected query, cursor, batch_size, initial_cursor`);
    const query = typeof raw.query === 'string' ? raw.query.trim().replace(/;\s*$/, '') : '';
    if (!query) problem('query', 'expected a SELECT whose WHERE names the last cursor as :cursor, e.g. "select * from orders where updated_at > :cursor"');
    else if (!/:cursor\b/.test(query)) problem('query', 'the query must use :cursor (the last committed cursor value), e.g. "… where updated_at > :cursor"');
    else if (!/^(select|with)\b/i.test(query)) problem('query', 'expected a SELECT (or WITH … SELECT) query');
    else if (/;/.test(query)) problem('query', 'expected one statement (no ";")');
    const cursor = raw.cursor;
    if (typeof cursor !== 'string' || !IDENT.test(cursor)) problem('cursor', 'expected the name of the column the query returns that only grows (updated_at, id)');
    const batchSize = raw.batch_size ?? 5000;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) problem('batch_size', `expected a whole number from 1 to 100000, got "${String(batchSize)}"`);
    const initial = raw.initial_cursor;
    if (initial !== undefined && typeof initial !== 'string' && typeof initial !== 'number') problem('initial_cursor', 'expected a value of the cursor column (text or number)');
    return { query, cursor: String(cursor), batchSize: typeof batchSize === 'number' ? batchSize : 5000, initialCursor: initial === undefined ? undefined : String(initial) };
  },
  async *pull(ctx, cursor) {
    if (!ctx.openDatabase) throw new UserError('SOURCE_FAILED', `source "${ctx.source.name}": this process cannot open other databases`);
    const start = cursor ?? ctx.settings.initialCursor ?? ctx.source.startDate;
    if (start === undefined) throw new UserError('SOURCE_FAILED', `source "${ctx.source.name}": the first run needs a lower bound for :cursor; set start_date or settings.initial_cursor`);
    const failed = (err: unknown, what: string): Error => {
      if (err instanceof UserError || ctx.signal.aborted) return err as Error;
      const message = (err as Error).message;
      // Wrong user or password (SQLSTATE 28P01/28000): a retry cannot fix it.
      if (/password authentication failed|authentication failed|role ".*" does not exist|no pg_hba\.conf entry/i.test(message)) {
        return new UserError('SOURCE_AUTH', `source "${ctx.source.name}", stream rows: the database refused the credentials (${message})`);
      }
      // Anything else (a connection refused, a restart) may pass: the job's retries take it.
      return new Error(`source "${ctx.source.name}", stream rows: ${what}: ${message}`);
    };
    let db;
    try {
      db = await ctx.openDatabase(ctx.credentials.url);
      await db.ping();
    } catch (err) {
      await db?.close().catch(() => undefined);
      throw failed(err, 'could not connect to the database');
    }
    try {
      // :cursor is a parameter, never text in the SQL; the query itself is the project's, not a client's.
      const sql = ctx.settings.query.replace(/:cursor\b/g, '$1');
      let max: SqlValue | undefined;
      for await (const rows of db.stream(sql, [start], { batchSize: ctx.settings.batchSize, signal: ctx.signal, timeoutMs: 0 })) {
        if (rows.length > 0 && !(ctx.settings.cursor in rows[0])) {
          throw new UserError('SOURCE_FAILED', `source "${ctx.source.name}": the query returns no column "${ctx.settings.cursor}" (settings.cursor); it returns ${Object.keys(rows[0]).join(', ')}`);
        }
        for (const r of rows) max = maxCursor(max, r[ctx.settings.cursor]);
        yield { stream: 'rows', body: JSON.stringify(rows), records: () => rows, ...(max !== undefined && max !== null ? { cursor: String(max) } : {}) };
      }
    } catch (err) {
      throw failed(err, 'the query failed');
    } finally {
      await db.close();
    }
  },
};
