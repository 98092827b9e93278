/**
 * The one naming rule of the public faces. Models are written in snake_case (`post_performance`,
 * `engagement_rate`); GraphQL fields and OData properties are camelCase, GraphQL types and OData entity
 * sets PascalCase. Model validation (load.ts, model-file.ts) checks that distinct names stay distinct
 * under this rule, and every face derives its names from it, so the two can never disagree.
 */

/** Names of models, teams, dimensions, measures and joins (`__` is reserved for result keys). */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/** True when `name` may name a model, team, dimension, measure or join. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name) && !name.includes('__');
}

/** `engagement_rate` → `engagementRate`. */
export function camelCase(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((p, i) => (i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1)))
    .join('');
}

/** `post_performance` → `PostPerformance`. */
export function pascalCase(name: string): string {
  const c = camelCase(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Checks that a derived name is a legal GraphQL name (and not reserved by introspection), so that a
 * model with an odd name fails schema generation with a clear message rather than a parser error.
 */
export function assertGraphQLName(name: string, origin: string): string {
  if (!GRAPHQL_NAME.test(name) || name.startsWith('__')) {
    throw new Error(`${origin} gives the GraphQL name "${name}", which is not a valid GraphQL name`);
  }
  return name;
}

/** The type names generated for one model of a team. */
export interface ModelTypeNames {
  row: string;
  where: string;
  having: string;
  orderBy: string;
  /** Object type of a join's nested field (`accounts { region }`). */
  join(joinName: string): string;
  /** Nested where input of a join. */
  joinWhere(joinName: string): string;
  /** Nested orderBy input of a join. */
  joinOrderBy(joinName: string): string;
}

/** Type name of a team's object (`social` → `SocialTeam`). */
export function teamTypeName(team: string): string {
  return `${pascalCase(team)}Team`;
}

/** The PascalCase stem every type of a model starts with (`social`, `post_performance` → `SocialPostPerformance`). */
export function modelTypeStem(team: string, model: string): string {
  return `${pascalCase(team)}${pascalCase(model)}`;
}

/** Type names of a model (`social`, `post_performance` → `SocialPostPerformanceRow`, …). */
export function modelTypeNames(team: string, model: string): ModelTypeNames {
  const base = modelTypeStem(team, model);
  return {
    row: `${base}Row`,
    where: `${base}Where`,
    having: `${base}Having`,
    orderBy: `${base}OrderBy`,
    join: (j) => `${base}${pascalCase(j)}`,
    joinWhere: (j) => `${base}${pascalCase(j)}Where`,
    joinOrderBy: (j) => `${base}${pascalCase(j)}OrderBy`,
  };
}
