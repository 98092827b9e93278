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
import { isLimitError, LIMIT_ERROR_CODE } from './limits/graphql-limits.js';

/** Apollo's `formatError` hook for Sextant. */
export function createErrorFormatter(log: Logger): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
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
