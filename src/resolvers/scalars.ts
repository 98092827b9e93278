/**
 * Custom scalars of the API. Time values travel as ISO 8601 strings: a calendar date for day and
 * coarser grains (`2026-01-01`, what a spreadsheet or BI tool reads as a date without a time zone
 * surprise) and a UTC timestamp for hours (`2026-01-01T13:00:00Z`).
 */
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';
import { isIsoDate, isoSeconds, parseIsoDateTime } from '../semantic/time-values.js';

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

function stringLiteral(ast: ValueNode, scalar: string): string {
  if (ast.kind !== Kind.STRING) throw badInput(`${scalar}: expected a string, got a ${ast.kind.toLowerCase()} literal`);
  return ast.value;
}

function parseTimeValue(value: unknown): string {
  if (typeof value === 'string') {
    if (isIsoDate(value)) return value;
    const d = parseIsoDateTime(value);
    if (d) return isoSeconds(d);
  }
  throw badInput(`TimeValue: expected an ISO date (2026-01-01) or timestamp (2026-01-01T13:00:00Z), got ${JSON.stringify(value)}`);
}

/** A date (`2026-01-01`) or a UTC timestamp (`2026-01-01T13:00:00Z`): time dimensions and their filters. */
export const TimeValueScalar = new GraphQLScalarType<string, string>({
  name: 'TimeValue',
  description: 'An ISO 8601 date (`2026-01-01`) for day and coarser grains, or an ISO 8601 UTC timestamp (`2026-01-01T13:00:00Z`) for hours.',
  serialize: (value) => (value instanceof Date ? isoSeconds(value) : String(value)),
  parseValue: parseTimeValue,
  parseLiteral: (ast) => parseTimeValue(stringLiteral(ast, 'TimeValue')),
});

function parseDate(value: unknown): string {
  if (typeof value === 'string' && isIsoDate(value)) return value;
  throw badInput(`Date: expected an ISO date such as 2026-01-01, got ${JSON.stringify(value)}`);
}

/** A calendar date, `2026-01-01`. */
export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  description: 'An ISO 8601 calendar date, `2026-01-01`.',
  serialize: (value) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10)),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(stringLiteral(ast, 'Date')),
});

function parseDateTime(value: unknown): string {
  const d = typeof value === 'string' ? parseIsoDateTime(value) : undefined;
  if (d) return d.toISOString();
  throw badInput(`DateTime: expected an ISO timestamp such as 2026-01-01T13:00:00Z, got ${JSON.stringify(value)}`);
}

/** An instant, serialised as an ISO 8601 UTC timestamp with milliseconds. */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO 8601 UTC timestamp, `2026-01-01T13:00:00.000Z`.',
  serialize: (value) => {
    if (value instanceof Date) return value.toISOString();
    const d = parseIsoDateTime(String(value));
    return d ? d.toISOString() : String(value);
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(stringLiteral(ast, 'DateTime')),
});

/** Any JSON value: cells of generic `metrics` rows and filter values of `SemanticQueryInput`. */
export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables ?? undefined),
});
