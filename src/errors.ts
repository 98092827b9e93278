/**
 * The error catalogue: every error a user may see has a stable code, a message written for them,
 * and the HTTP status it maps to. Anything that is not a {@link UserError} is masked to
 * INTERNAL_SERVER_ERROR at the faces and logged in full with an errorId.
 */

export const ERROR_CODES = {
  BAD_USER_INPUT: { status: 400, description: 'A request argument is invalid: unknown member, bad filter value, over a limit.' },
  CONFIG_INVALID: { status: 500, description: 'The environment or the project folder is invalid; start-up stops.' },
  MODEL_INVALID: { status: 500, description: 'A semantic model is invalid; start-up stops with every error listed.' },
  TARGET_INVALID: { status: 500, description: 'An ingestion target file is invalid.' },
  UNKNOWN_MODEL: { status: 400, description: 'The query names a model that does not exist (or is not visible to the key).' },
  UNKNOWN_TARGET: { status: 400, description: 'The request names an ingestion target that does not exist.' },
  UNKNOWN_SOURCE: { status: 400, description: 'The request names a source (sources/<name>.yml) that does not exist (or is not visible to the key).' },
  SOURCE_AUTH: { status: 502, description: 'A source\'s API rejected its credentials or lacks a permission; the run fails at once.' },
  SOURCE_FAILED: { status: 502, description: 'A source\'s API refused a request in a way a retry cannot fix (bad setting, unknown metric).' },
  UNKNOWN_JOB: { status: 404, description: 'No job has that id (or it is not visible to the key).' },
  ROW_INVALID: { status: 400, description: 'A row of an input file cannot be converted to the target contract.' },
  INPUT_INVALID: { status: 400, description: 'An input file is malformed as a whole: encoding, syntax, empty, too large.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'A request body or upload exceeds the configured size limit.' },
  UNAUTHENTICATED: { status: 401, description: 'The request carries no valid API key.' },
  FORBIDDEN: { status: 403, description: 'The API key may not do this or may not see this team.' },
  RATE_LIMITED: { status: 429, description: 'The API key sent more requests than its rate limit allows.' },
  QUERY_TOO_COMPLEX: { status: 400, description: 'The GraphQL operation exceeds a depth, alias, field or cost limit.' },
  WAREHOUSE_IN_USE: { status: 503, description: 'The embedded DuckDB warehouse file is open in another process (DuckDB allows one process per file).' },
  QUERY_TIMEOUT: { status: 504, description: 'The warehouse query ran past the statement timeout and was cancelled.' },
  JOB_CANCELLED: { status: 409, description: 'The job was cancelled.' },
  UNRECOVERABLE: { status: 500, description: 'A job failed in a way that a retry cannot fix.' },
  NOT_FOUND: { status: 404, description: 'No such resource.' },
  NOT_IMPLEMENTED: { status: 501, description: 'The OData request uses a query option, function or aggregation the feed does not answer (the client may evaluate it itself).' },
  NOT_AVAILABLE: { status: 501, description: 'The warehouse in use cannot do this (e.g. UNLOAD, which only Redshift has).' },
  INTERNAL_SERVER_ERROR: { status: 500, description: 'An unexpected error; it is logged with the errorId given.' },
} as const;

/** A stable error code known to clients (`extensions.code`). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One located problem inside a file: used to list every problem of a project or an input at once. */
export interface Problem {
  /** The file, relative to the project or the upload name. */
  file?: string;
  /** Path inside the file: `measures.engagement_rate.numerator`. */
  path?: string;
  line?: number;
  column?: number | string;
  message: string;
}

/** An error whose message is safe and useful to show to the user. */
export class UserError extends Error {
  readonly code: ErrorCode;
  readonly problems: readonly Problem[];
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { problems?: Problem[]; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.code = code;
    this.problems = options.problems ?? [];
    this.details = options.details;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** Formats one problem as `file → path: message` (the form docs/models.md shows). */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.path].filter(Boolean).join(' → ');
  const at = p.line !== undefined ? ` (line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''})` : '';
  return where ? `${where}${at}: ${p.message}` : `${p.message}${at}`;
}

/** Collects problems so that validation can report all of them at once. */
export class ProblemCollector {
  readonly problems: Problem[] = [];
  add(problem: Problem): void {
    this.problems.push(problem);
  }
  get empty(): boolean {
    return this.problems.length === 0;
  }
  /** Throws one UserError listing every problem, if any was collected. */
  throwIfAny(code: ErrorCode, heading: string): void {
    if (this.empty) return;
    const lines = this.problems.map((p) => `  - ${formatProblem(p)}`);
    throw new UserError(code, `${heading} (${this.problems.length} problem${this.problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
      problems: this.problems,
    });
  }
}

/** True when the error may be shown to a user as it is. */
export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
