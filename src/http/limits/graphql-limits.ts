/**
 * GraphQL operation limits (OWASP GraphQL cheat sheet: depth, amount and cost limiting) as graphql-js
 * validation rules, so that an oversized operation is refused before anything runs. Each rejection is
 * a QUERY_TOO_COMPLEX error naming the limit and both numbers.
 *
 * Written here rather than taken from @escape.tech/graphql-armor: its rules report plain "Syntax
 * Error" messages without an error code, and its cost model knows nothing of `limit` arguments.
 */
import { GraphQLError, Lexer, TokenKind, type ASTVisitor, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { Config } from '../../config/env.js';
import { OperationMeasurer, type CostWeights, type OperationMeasure } from './measure-operation.js';

/** The limits; see {@link DEFAULT_GRAPHQL_LIMITS}. */
export interface GraphqlLimits extends CostWeights {
  maxDepth: number;
  maxAliases: number;
  /** Fields in the operation, fragments expanded where they are spread. */
  maxFields: number;
  maxDirectives: number;
  /** Lexical tokens of the whole document. */
  maxTokens: number;
  maxCost: number;
}

/**
 * Defaults. Depth 12 is far above the deepest real query (team → model → joined model → field);
 * introspection (15 deep in the standard query) does not count toward depth or cost, since graphql-js's
 * MaxIntrospectionDepthRule bounds it, but its fields and tokens do count; 30 aliases and 500 fields leave room for dashboards
 * that ask a dozen questions in one request; a cost of 5,000 allows e.g. ten model queries of 50,000
 * rows with ten columns each.
 */
export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = Object.freeze({
  maxDepth: 12,
  maxAliases: 30,
  maxFields: 500,
  maxDirectives: 50,
  maxTokens: 5_000,
  maxCost: 5_000,
  fieldCost: 1,
  queryFieldCost: 10,
  rowsBase: 1_000,
  variableLimit: 50_000,
  defaultLimit: 1_000,
});

/** The GraphQL error code of every limit rejection. */
export const LIMIT_ERROR_CODE = 'QUERY_TOO_COMPLEX';

type LimitName = 'depth' | 'aliases' | 'fields' | 'directives' | 'tokens' | 'cost';

const ADVICE: Record<LimitName, string> = {
  depth: 'nest fewer fields',
  aliases: 'use fewer aliases, or split the operation',
  fields: 'select fewer fields, or split the operation',
  directives: 'use fewer directives',
  tokens: 'send a shorter document',
  cost: 'ask for fewer rows (a lower limit) or fewer model fields, or split the operation',
};

const LABEL: Record<LimitName, string> = {
  depth: 'is nested',
  aliases: 'uses',
  fields: 'selects',
  directives: 'uses',
  tokens: 'has',
  cost: 'has an estimated cost of',
};

const UNIT: Record<LimitName, string> = {
  depth: ' levels deep',
  aliases: ' aliases',
  fields: ' fields (fragments counted where spread)',
  directives: ' directives',
  tokens: ' tokens',
  cost: '',
};

/** A QUERY_TOO_COMPLEX error: which limit, the allowed maximum and what the operation has. */
export function limitError(limit: LimitName, max: number, actual: number, operation?: OperationDefinitionNode): GraphQLError {
  const what = operation?.name ? `operation "${operation.name.value}"` : limit === 'tokens' ? 'the document' : 'the operation';
  const shown = Number.isFinite(actual) && actual < 1e15 ? String(actual) : 'an enormous number of';
  return new GraphQLError(`Query too complex: ${what} ${LABEL[limit]} ${shown}${UNIT[limit]}; the ${limit} limit is ${max}: ${ADVICE[limit]}.`, {
    nodes: operation,
    extensions: { code: LIMIT_ERROR_CODE, limit, max, actual: Number.isFinite(actual) ? actual : null },
  });
}

/** True when `error` (or what it wraps, as Apollo wraps validation errors) is a limit rejection. */
export function isLimitError(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof GraphQLError && e.extensions?.limit !== undefined && e.message.startsWith('Query too complex:')) return true;
    e = e instanceof GraphQLError ? e.originalError : undefined;
  }
  return false;
}

/** The limits for a configuration: the row defaults shape the cost estimate. */
export function resolveGraphqlLimits(config: Partial<GraphqlLimits> | Pick<Config, 'limits'> = {}): GraphqlLimits {
  if ('limits' in config && config.limits && typeof config.limits === 'object') {
    const { defaultRows, maxRows } = config.limits;
    return { ...DEFAULT_GRAPHQL_LIMITS, rowsBase: defaultRows, defaultLimit: defaultRows, variableLimit: maxRows };
  }
  return { ...DEFAULT_GRAPHQL_LIMITS, ...(config as Partial<GraphqlLimits>) };
}

/** Parse options to hand to the server (Apollo's `parseOptions`): stops a token flood while parsing. */
export function graphqlParseOptions(config: Partial<GraphqlLimits> | Pick<Config, 'limits'> = {}): ParseOptions {
  // One over the limit, so that the validation rule (with its QUERY_TOO_COMPLEX code) reports documents
  // just past the limit, and the parser only cuts off a flood it would be wasteful to read to the end.
  return { maxTokens: resolveGraphqlLimits(config).maxTokens * 2 };
}

/** Measures each operation of a document once, shared by the rules of one {@link graphqlLimitRules} call. */
function createMeasureCache(limits: GraphqlLimits): (schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode) => OperationMeasure {
  const byDocument = new WeakMap<DocumentNode, { schema: GraphQLSchema; ops: Map<OperationDefinitionNode, OperationMeasure> }>();
  return (schema, doc, op) => {
    let entry = byDocument.get(doc);
    if (!entry || entry.schema !== schema) {
      entry = { schema, ops: new Map() };
      byDocument.set(doc, entry);
    }
    let m = entry.ops.get(op);
    if (!m) {
      m = new OperationMeasurer(schema, doc, limits).measure(op);
      entry.ops.set(op, m);
    }
    return m;
  };
}

function operationRule(
  limit: Exclude<LimitName, 'tokens'>,
  max: number,
  measure: (schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode) => OperationMeasure,
): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const actual = measure(context.getSchema(), context.getDocument(), op)[limit];
      if (actual > max) context.reportError(limitError(limit, max, actual, op));
    },
  });
}

/** Counts the document's tokens (comments excluded, as graphql-js's own `maxTokens` does). */
function tokensRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(doc) {
      const source = doc.loc?.source;
      if (!source) return;
      const lexer = new Lexer(source);
      let count = 0;
      try {
        while (lexer.advance().kind !== TokenKind.EOF) if (++count > max) break;
      } catch {
        return; // the parser already accepted it; a lexing difference is not this rule's business
      }
      if (count > max) context.reportError(limitError('tokens', max, count));
    },
  });
}

/**
 * The limit rules, to pass to the server's validation rules (Apollo `validationRules`). Accepts the
 * service Config (row limits shape the cost) or explicit limits.
 */
export function graphqlLimitRules(config: Partial<GraphqlLimits> | Pick<Config, 'limits'> = {}): ValidationRule[] {
  const limits = resolveGraphqlLimits(config);
  const measure = createMeasureCache(limits);
  return [
    tokensRule(limits.maxTokens),
    operationRule('depth', limits.maxDepth, measure),
    operationRule('aliases', limits.maxAliases, measure),
    operationRule('fields', limits.maxFields, measure),
    operationRule('directives', limits.maxDirectives, measure),
    operationRule('cost', limits.maxCost, measure),
  ];
}
