import { buildSchema, getIntrospectionQuery, GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRAPHQL_LIMITS, graphqlLimitRules, graphqlParseOptions, isLimitError, LIMIT_ERROR_CODE } from '../../src/http/limits/graphql-limits.js';

/** A schema shaped like Sextant's: teams → models with `limit`, the generic `metrics`, and cyclic job/source types. */
const schema = buildSchema(/* GraphQL */ `
  enum Grain { DAY MONTH }
  input StringFilter { equals: String, in: [String!] }
  input PostPerformanceWhere { platform: StringFilter }
  type Account { region: String, name: String }
  type PostPerformanceRow { metricDate(grain: Grain): String, platform: String, impressions: Float, engagementRate: Float, accounts: Account }
  type Social { postPerformance(where: PostPerformanceWhere, limit: Int, offset: Int): [PostPerformanceRow!]! }
  input SemanticQueryInput { model: String!, measures: [String!]!, limit: Int }
  type Column { name: String!, type: String! }
  type MetricsResult { columns: [Column!]!, rows: [[String]]! }
  type Source { name: String!, lastRun: Job }
  type Job { id: ID!, status: String!, source: Source }
  type Query {
    social: Social
    metrics(query: SemanticQueryInput!): MetricsResult!
    jobs(limit: Int = 50): [Job!]!
    job(id: ID!): Job
  }
`);

function check(query: string, limits = {}): readonly GraphQLError[] {
  return validate(schema, parse(query), [...specifiedRules, ...graphqlLimitRules(limits)]);
}

function limitErrors(query: string, limits = {}): GraphQLError[] {
  return check(query, limits).filter((e) => e.extensions.code === LIMIT_ERROR_CODE);
}

describe('GraphQL limit rules', () => {
  it('accept an ordinary metrics query', () => {
    expect(
      check(`{ social { postPerformance(where: { platform: { in: ["facebook"] } }, limit: 100) { metricDate(grain: MONTH) platform impressions accounts { region } } } }`),
    ).toEqual([]);
  });

  it('accept the full standard introspection query', () => {
    expect(check(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }))).toEqual([]);
  });

  it('reject a depth bomb with the numbers', () => {
    let q = 'id';
    for (let i = 0; i < 10; i++) q = `source { lastRun { ${q} } }`;
    const errors = limitErrors(`query Deep { job(id: "1") { ${q} } }`);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^Query too complex: operation "Deep" is nested 22 levels deep; the depth limit is 12/);
    expect(errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 12, actual: 22 });
  });

  it('count depth through fragments and inline fragments', () => {
    const errors = limitErrors(
      `query { job(id: "1") { ...A } }
       fragment A on Job { source { lastRun { ...B } } }
       fragment B on Job { ... on Job { source { lastRun { source { name } } } } }`,
      { maxDepth: 5 },
    );
    // job › source › lastRun › source › lastRun › source › name
    expect(errors.map((e) => e.extensions.actual)).toEqual([7]);
  });

  it('reject an alias bomb', () => {
    const fields = Array.from({ length: 31 }, (_, i) => `a${i}: jobs(limit: 1) { id }`).join(' ');
    const errors = limitErrors(`{ ${fields} }`);
    expect(errors.map((e) => e.extensions.limit)).toEqual(['aliases']);
    expect(errors[0].message).toContain('uses 31 aliases; the aliases limit is 30');
  });

  it('count aliases spread through fragments as many times as they are spread', () => {
    const errors = limitErrors(
      `{ a: job(id: "1") { ...F } b: job(id: "2") { ...F } c: job(id: "3") { ...F } }
       fragment F on Job { x: id y: status z: id }`,
      { maxAliases: 10 },
    );
    expect(errors.map((e) => e.extensions.actual)).toEqual([12]);
  });

  it('reject a fragment bomb by its expanded field count, measuring it in linear time', () => {
    // Each fragment spreads the previous one twice: 2^25 leaves once expanded.
    const defs = ['fragment F0 on Job { id }'];
    for (let i = 1; i <= 25; i++) defs.push(`fragment F${i} on Job { ...F${i - 1} ... on Job { ...F${i - 1} } }`);
    const errors = limitErrors(`{ job(id: "1") { ...F25 } } ${defs.join('\n')}`);
    expect(errors.map((e) => e.extensions.limit)).toEqual(['fields', 'cost']);
    expect(errors[0].extensions.actual).toBe(2 ** 25 + 1);
  });

  it('stay finite on a fragment cycle, which graphql-js reports itself', () => {
    const errors = check(`{ job(id: "1") { ...A } } fragment A on Job { source { lastRun { ...B } } } fragment B on Job { ...A }`);
    expect(errors.some((e) => /Cannot spread fragment "A" within itself/.test(e.message))).toBe(true);
  });

  it('reject too many directives', () => {
    const dirs = Array.from({ length: 51 }, () => '@include(if: true)').join(' ');
    expect(limitErrors(`{ job(id: "1") { id ${dirs} } }`).map((e) => e.extensions.limit)).toEqual(['directives']);
  });

  it('reject too many tokens', () => {
    const errors = limitErrors(`{ job(id: "1") { ${'id '.repeat(60)} } }`, { maxTokens: 50 });
    expect(errors.map((e) => e.extensions.limit)).toEqual(['tokens']);
    expect(errors[0].message).toContain('the document has');
  });

  it('give the parser a token cap as an early guard', () => {
    expect(graphqlParseOptions({ maxTokens: 100 }).maxTokens).toBe(200);
    expect(() => parse(`{ ${'a '.repeat(300)} }`, graphqlParseOptions({ maxTokens: 100 }))).toThrow(/more th.. 200 tokens/);
  });

  it('price a model field by its limit, so many large model queries exceed the cost', () => {
    const one = (alias: string, limit: number) =>
      `${alias}: postPerformance(limit: ${limit}) { metricDate platform impressions engagementRate accounts { region name } }`;
    // 10 + ceil(50000/1000) × (1+1+1+1+(1+2)) = 360 per field.
    expect(limitErrors(`{ social { ${one('a', 50_000)} } }`)).toEqual([]);
    const many = Array.from({ length: 14 }, (_, i) => one(`q${i}`, 50_000)).join(' ');
    const errors = limitErrors(`{ social { ${many} } }`);
    expect(errors.map((e) => e.extensions.limit)).toEqual(['cost']);
    expect(errors[0].extensions.actual).toBe(1 + 14 * 360);
    // The same fields at the default limit cost 50 times less per row-column.
    const small = Array.from({ length: 14 }, (_, i) => one(`q${i}`, 1000)).join(' ');
    expect(limitErrors(`{ social { ${small} } }`)).toEqual([]);
  });

  it('price the generic metrics field by the limit inside its input, and a variable limit at the row cap', () => {
    const lit = limitErrors(`{ metrics(query: { model: "m", measures: ["x"], limit: 50000 }) { columns { name } rows } }`, { maxCost: 10 });
    expect(lit.map((e) => e.extensions.actual)).toEqual([10 + 50 * 3]);
    const variable = limitErrors(`query Q($q: SemanticQueryInput!) { metrics(query: $q) { rows } }`, { maxCost: 10, variableLimit: 20_000 });
    expect(variable.map((e) => e.extensions.actual)).toEqual([10 + 20 * 1]);
  });

  it('use an argument default limit when none is given', () => {
    const errors = limitErrors(`{ jobs { id } }`, { maxCost: 1, rowsBase: 10 });
    expect(errors.map((e) => e.extensions.actual)).toEqual([10 + 5 * 1]);
  });

  it('derive the cost weights from the service config', () => {
    const rules = graphqlLimitRules({ limits: { defaultRows: 100, maxRows: 1000, statementTimeoutMs: 1, maxUploadBytes: 1, maxBodyBytes: 1, rateLimitPerMinute: 1 } });
    const errors = validate(schema, parse(`{ social { postPerformance(limit: 1000) { platform } } }`), rules);
    expect(errors).toEqual([]);
    const big = Array.from({ length: 500 }, (_, i) => `q${i}: postPerformance { platform }`).join(' ');
    // 500 aliases, each 10 + 1×1 at the default 100 rows.
    const found = validate(schema, parse(`{ social { ${big} } }`), rules).map((e) => e.extensions.limit);
    expect(found).toEqual(expect.arrayContaining(['aliases', 'cost', 'fields']));
  });

  it('recognise its errors after a server wraps them', () => {
    const [error] = limitErrors(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: job(id: "1") { id }`).join(' ')} }`);
    const wrapped = new GraphQLError('wrapped', { originalError: error, extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(isLimitError(wrapped)).toBe(true);
    expect(isLimitError(new Error('Query too complex: no'))).toBe(false);
  });

  it('expose its defaults', () => {
    expect(DEFAULT_GRAPHQL_LIMITS).toMatchObject({ maxDepth: 12, maxAliases: 30, maxFields: 500 });
  });
});
