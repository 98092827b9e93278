/**
 * GraphQL names derived from model names. Models are written in snake_case (`post_performance`,
 * `engagement_rate`); GraphQL fields are camelCase and types PascalCase, as GraphQL clients expect.
 */

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** `engagement_rate` → `engagementRate`. */
export function camelCase(name: string): string {
  const parts = name.split(/[_\-\s]+/).filter(Boolean);
  return parts.map((p, i) => (i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1))).join('');
}

/** `post_performance` → `PostPerformance`. */
export function pascalCase(name: string): string {
  const c = camelCase(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

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

/** Type names of a model (`social`, `post_performance` → `SocialPostPerformanceRow`, …). */
export function modelTypeNames(team: string, model: string): ModelTypeNames {
  const base = `${pascalCase(team)}${pascalCase(model)}`;
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
