/**
 * Errors of the OData face. OData clients read `{"error":{"code","message","target"}}` (OData JSON
 * format §21); Power Query shows `message`, so it says what was wrong and where.
 */
import { isUserError, type ErrorCode } from '../../errors.js';

/** A refused OData request: 400 for a bad expression, 501 for something the feed does not support. */
export class ODataError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 406 | 501,
    readonly code: ErrorCode,
    message: string,
    /** The query option or path segment at fault (`$filter`, `$apply`). */
    readonly target?: string,
  ) {
    super(message);
    this.name = 'ODataError';
  }
}

/** A malformed or meaningless request (400), located in `target`. */
export function badRequest(target: string, message: string): ODataError {
  return new ODataError(400, 'BAD_USER_INPUT', `${target}: ${message}`, target);
}

/** Something valid OData that this feed does not answer (501): Power Query then evaluates it locally. */
export function notImplemented(target: string, message: string): ODataError {
  return new ODataError(501, 'NOT_IMPLEMENTED', `${target}: ${message}`, target);
}

/** The OData error body and status of an error, or undefined for an unexpected one (masked by the server). */
export function odataErrorOf(err: unknown): { status: number; body: { error: { code: string; message: string; target?: string } } } | undefined {
  if (err instanceof ODataError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...(err.target ? { target: err.target } : {}) } } };
  }
  if (isUserError(err)) return { status: err.status, body: { error: { code: err.code, message: err.message } } };
  return undefined;
}
