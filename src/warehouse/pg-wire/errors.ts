/**
 * The one place where PostgreSQL errors (SQLSTATE codes, pg's DatabaseError) become Sextant errors.
 * The same codes come back from Redshift, which speaks the PostgreSQL protocol.
 */
import { UserError } from '../../errors.js';

/** What the adapter was doing; data errors only concern users during a merge (their rows). */
export type PgOperation = 'query' | 'merge';

/** SQLSTATE 57014: the statement was cancelled (statement_timeout or pg_cancel_backend). */
export const QUERY_CANCELED = '57014';

/** The fields of pg's DatabaseError that we read. */
interface PgDatabaseError extends Error {
  code: string;
  detail?: string;
  where?: string;
  column?: string;
}

function isDatabaseError(err: unknown): err is PgDatabaseError {
  const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** The SQLSTATE of an error from the server, if it is one. */
export function sqlState(err: unknown): string | undefined {
  return isDatabaseError(err) ? err.code : undefined;
}

/**
 * True when the connection itself failed: no SQLSTATE (socket errors, "Connection terminated"), class
 * 08 (connection exception) or 57P (the server shutting the session down). Such a connection is not reused.
 */
export function isConnectionFailure(err: unknown): boolean {
  const state = sqlState(err);
  return state === undefined ? err instanceof Error : state.startsWith('08') || state.startsWith('57P');
}

/** The user-facing error of a statement stopped by the statement timeout. */
export function queryTimeout(timeoutMs: number, cause?: unknown): UserError {
  return new UserError('QUERY_TIMEOUT', `The warehouse query ran longer than the statement timeout of ${timeoutMs} ms and was cancelled; narrow the query (filters, fewer dimensions, a smaller limit) or raise SEXTANT_STATEMENT_TIMEOUT_MS.`, {
    cause,
    details: { timeoutMs },
  });
}

/** COPY reports `COPY <table>, line N, column c: "value"`; line N is the batch's row N (no header). */
function rowOf(where: string | undefined): number | undefined {
  const m = where ? /COPY [^,]+, line (\d+)/.exec(where) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * Translates an error from the server. 57014 after a statement timeout → QUERY_TIMEOUT; data
 * exceptions (class 22) and integrity violations (class 23) of a merge → ROW_INVALID naming the row
 * and column. Everything else is a platform bug or an outage, returned unchanged to be masked as
 * INTERNAL_SERVER_ERROR and logged in full at the faces.
 */
export function translatePgError(err: unknown, context: { operation: PgOperation; timeoutMs: number; table?: string }): unknown {
  if (!isDatabaseError(err)) return err;
  if (err.code === QUERY_CANCELED) return queryTimeout(context.timeoutMs, err);
  const cls = err.code.slice(0, 2);
  if (context.operation === 'merge' && (cls === '22' || cls === '23')) {
    const row = rowOf(err.where);
    const column = err.column ?? (err.where ? /column ([^:]+):/.exec(err.where)?.[1] : undefined);
    const at = [row !== undefined ? `row ${row}` : undefined, column ? `column ${column}` : undefined].filter(Boolean).join(', ');
    return new UserError('ROW_INVALID', `The batch could not be merged into ${context.table ?? 'the table'} and nothing was written${at ? ` (${at})` : ''}: ${err.message}${err.detail ? ` — ${err.detail}` : ''}`, {
      cause: err,
      problems: [{ line: row, column, message: err.message }],
      details: { sqlState: err.code },
    });
  }
  return err;
}
