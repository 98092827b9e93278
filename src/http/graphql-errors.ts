/**
 * What a GraphQL client may see of an error. A {@link UserError} keeps its code and message (that is
 * what it is for); errors GraphQL itself raised (syntax, validation, variable coercion, limits) keep
 * theirs; anything else is masked to INTERNAL_SERVER_ERROR with an errorId, and logged in full under
 * that id so an operator can find it. Stack traces never reach a response.
 */
import { randomUUID } from 'node:crypto';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isUserError } from '../errors.js';
import type { Logger } from '../log.js';
import { camelCase } from '../semantic/names.js';
import { isLimitError, LIMIT_ERROR_CODE } from './limits/graphql-limits.js';

/** `Cannot query field "web" on type "Query". Did you mean "job"?`: graphql-js's message for an unknown field. */
const UNKNOWN_QUERY_FIELD = /^Cannot query field "([^"]+)" on type "Query"/;

/**
 * Apollo's `formatError` hook for Sextant. `teams` are every team of the project: a principal's schema
 * holds only the teams it may read, so asking for another team's field fails validation; that error
 * says so (FORBIDDEN, "this API key cannot read team web") instead of graphql-js's spelling hint.
 */
export function createErrorFormatter(log: Logger, teams: readonly string[] = []): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  const teamOfField = new Map(teams.map((t) => [camelCase(t), t]));
  return (formatted, error) => {
    const original = unwrapResolverError(error);
    const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
    if (isUserError(original)) {
      return {
        message: original.message,
        ...where,
        extensions: {
          code: original.code,
          ...(original.problems.length > 0 ? { problems: original.problems } : {}),
          ...(original.details ? { details: original.details } : {}),
        },
      };
    }
    if (original instanceof GraphQLError) {
      const team = teamOfField.get(UNKNOWN_QUERY_FIELD.exec(original.message)?.[1] ?? '');
      if (team !== undefined) {
        return { message: `this API key cannot read team ${team}`, ...where, extensions: { code: 'FORBIDDEN' } };
      }
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      // Apollo files every validation error under GRAPHQL_VALIDATION_FAILED; limit rejections keep their own code.
      if (isLimitError(original)) extensions.code = LIMIT_ERROR_CODE;
      return { ...formatted, extensions };
    }
    const errorId = randomUUID();
    log.error('unexpected error in a GraphQL request', { errorId, err: original, path: formatted.path });
    return {
      message: `Internal server error; quote errorId ${errorId} when reporting it`,
      ...where,
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
    };
  };
}
