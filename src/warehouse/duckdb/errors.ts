/**
 * The one place where DuckDB errors become Sextant errors. DuckDB reports errors as plain `Error`s
 * whose message starts with the error class ("Conversion Error: …", "Constraint Error: …",
 * "INTERRUPT Error: Interrupted!"), so the class prefix is what we match.
 */
import { UserError } from '../../errors.js';

/** What the adapter was doing when the error happened; data errors only concern users during a merge. */
export type DuckDbOperation = 'query' | 'merge';

/** DuckDB error classes caused by the data of a merge batch, not by the SQL the platform wrote. */
const DATA_ERROR_CLASSES = ['Conversion Error', 'Constraint Error', 'Invalid Input Error', 'Out of Range Error'] as const;

/** The user-facing error of a statement stopped by the statement timeout. */
export function queryTimeout(timeoutMs: number, cause?: unknown): UserError {
  return new UserError('QUERY_TIMEOUT', `The warehouse query ran longer than the statement timeout of ${timeoutMs} ms and was cancelled; narrow the query (filters, fewer dimensions, a smaller limit) or raise SEXTANT_STATEMENT_TIMEOUT_MS.`, {
    cause,
    details: { timeoutMs },
  });
}

/**
 * Translates a DuckDB error. Data errors of a merge become ROW_INVALID (the batch was rejected and the
 * table left unchanged); anything else is a platform bug or an outage and is returned unchanged, to
 * be masked as INTERNAL_SERVER_ERROR and logged in full at the faces.
 */
export function translateDuckDbError(err: unknown, operation: DuckDbOperation, table?: string): unknown {
  if (!(err instanceof Error) || err instanceof UserError) return err;
  if (operation === 'merge' && DATA_ERROR_CLASSES.some((c) => err.message.startsWith(c))) {
    return new UserError('ROW_INVALID', `The batch could not be merged into ${table ?? 'the table'} and nothing was written: ${err.message}`, { cause: err });
  }
  return err;
}

/**
 * Translates a failure to open the database file. DuckDB allows one writing process per file, and a
 * second `sextant serve` (or a `sextant ingest` beside a running service) is the usual cause.
 */
export function translateOpenError(err: unknown, path: string): unknown {
  if (err instanceof Error && /Could not set lock on file/i.test(err.message)) {
    const pid = /\(PID (\d+)\)/.exec(err.message)?.[1];
    return new UserError(
      'WAREHOUSE_IN_USE',
      `The DuckDB warehouse ${path} is in use by another process${pid ? ` (PID ${pid}, most likely \`sextant serve\`)` : ''}: DuckDB allows one process per file. Stop that process first, or point SEXTANT_WAREHOUSE at PostgreSQL, which any number of processes share.`,
      { cause: err, details: { path, ...(pid ? { pid: Number(pid) } : {}) } },
    );
  }
  return err;
}
