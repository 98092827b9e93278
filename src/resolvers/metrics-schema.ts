/**
 * The typed metrics schema, generated from the models (docs/graphql.md): one field per team on Query, one
 * field per model on the team, one field per dimension and measure on the model's row type. Each
 * model field turns its selection set into ONE SemanticQuery, run through the request's loader.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { UserError } from '../errors.js';
import type { Dimension, DimensionType, Model, SemanticProject, SemanticQuery, TimeGrain } from '../semantic/types.js';
import { havingToFilters, orderByToOrder, whereToFilters } from './filter-input.js';
import { bindModel, type ModelBinding } from './model-binding.js';
import { camelCase, teamTypeName } from '../semantic/names.js';
import { resolvePage, type RowLimits } from '../serving/row-limits.js';
import type { Answer } from '../serving/types.js';
import type { SqlValue } from '../serving/types.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';
import { columnKey, DEFAULT_GRAIN, readSelection, type JoinedRow, type MetricsRow } from './selection.js';

/** The generated part of the schema for a set of teams. */
export interface MetricsSchema {
  typeDefs: string;
  resolvers: ResolverMap<RequestContext>;
}

export interface MetricsSchemaOptions {
  limits: RowLimits;
}

const OUTPUT_TYPE: Record<DimensionType, string> = { string: 'String', number: 'Float', boolean: 'Boolean', time: 'TimeValue' };
const FILTER_TYPE: Record<DimensionType, string> = { string: 'StringFilter', number: 'NumberFilter', boolean: 'BooleanFilter', time: 'TimeFilter' };

/** A GraphQL description block; `"""` inside the text is escaped as the spec requires. */
function describe(text: string | undefined, indent = ''): string {
  if (!text) return '';
  return `${indent}"""\n${indent}${text.replace(/"""/g, '\\"""').replace(/\n/g, `\n${indent}`)}\n${indent}"""\n`;
}

function measureDescription(m: { type: string; format?: string; description?: string }): string {
  return [m.description, `${m.type} measure${m.format ? `, format ${m.format}` : ''}.`].filter(Boolean).join('\n\n');
}

function dimensionField(field: string, dimension: Dimension): string {
  const args = dimension.type === 'time' ? '(grain: TimeGrain = DAY)' : '';
  return `${describe(dimension.description, '  ')}  ${field}${args}: ${OUTPUT_TYPE[dimension.type]}\n`;
}

function modelTypeDefs(b: ModelBinding): string {
  const n = b.names;
  const joins = [...b.joins.values()].filter((j) => j.dimensions.size > 0);
  let sdl = '';

  sdl += describe(b.model.description);
  sdl += `type ${n.row} {\n`;
  for (const [field, d] of b.dimensions) sdl += dimensionField(field, d);
  for (const [field, m] of b.measures) sdl += `${describe(measureDescription(m), '  ')}  ${field}: Float\n`;
  for (const j of joins) sdl += `${describe(`Dimensions of ${j.target.id}, joined ${j.join.relationship}.`, '  ')}  ${j.fieldName}: ${n.join(j.fieldName)}!\n`;
  sdl += '}\n\n';

  for (const j of joins) {
    sdl += `type ${n.join(j.fieldName)} {\n`;
    for (const [field, d] of j.dimensions) sdl += dimensionField(field, d);
    sdl += `}\n\ninput ${n.joinWhere(j.fieldName)} {\n`;
    for (const [field, d] of j.dimensions) sdl += `  ${field}: ${FILTER_TYPE[d.type]}\n`;
    sdl += `}\n\ninput ${n.joinOrderBy(j.fieldName)} {\n`;
    for (const [field] of j.dimensions) sdl += `  ${field}: SortDirection\n`;
    sdl += '}\n\n';
  }

  sdl += `"Conditions on the dimensions of ${b.model.id}; all must hold."\ninput ${n.where} {\n`;
  for (const [field, d] of b.dimensions) sdl += `  ${field}: ${FILTER_TYPE[d.type]}\n`;
  for (const j of joins) sdl += `  ${j.fieldName}: ${n.joinWhere(j.fieldName)}\n`;
  sdl += `  "Every condition group must hold."\n  AND: [${n.where}!]\n  "At least one condition group must hold."\n  OR: [${n.where}!]\n}\n\n`;

  sdl += `"Conditions on the aggregated measures of ${b.model.id} (SQL HAVING); all must hold."\ninput ${n.having} {\n`;
  for (const [field] of b.measures) sdl += `  ${field}: MeasureFilter\n`;
  sdl += `  AND: [${n.having}!]\n  OR: [${n.having}!]\n}\n\n`;

  sdl += `"One member to sort by; give one entry per member, in the order to apply them."\ninput ${n.orderBy} {\n`;
  for (const [field] of b.dimensions) sdl += `  ${field}: SortDirection\n`;
  for (const [field] of b.measures) sdl += `  ${field}: SortDirection\n`;
  for (const j of joins) sdl += `  ${j.fieldName}: ${n.joinOrderBy(j.fieldName)}\n`;
  sdl += '}\n\n';
  return sdl;
}

/**
 * Reads a dimension's value from a row (serving already shaped it as its GraphQL type promises). The
 * row's keys are made once per member and grain, not per row and field: a key built by concatenation
 * is hashed again on every lookup, which cost more than the rest of the row fields together.
 */
function dimensionReader(member: string, dimension: Dimension): (row: MetricsRow, grain: TimeGrain | undefined) => unknown {
  if (dimension.type !== 'time') {
    const key = columnKey(member);
    return (row) => row.get(key) ?? null;
  }
  const keys = new Map<TimeGrain, string>();
  return (row, asked) => {
    const grain = asked ?? DEFAULT_GRAIN;
    let key = keys.get(grain);
    if (key === undefined) keys.set(grain, (key = columnKey(member, grain)));
    return row.get(key) ?? null;
  };
}

/** An answer's rows → rows keyed by {@link columnKey} (member and grain), how the row fields read them. */
export function toMetricsRows(answer: Pick<Answer, 'columns' | 'rows'>): MetricsRow[] {
  const from = answer.columns.map((c) => c.key);
  const to = answer.columns.map((c) => columnKey(c.name, c.grain));
  const rows: MetricsRow[] = new Array(answer.rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = answer.rows[r];
    const out = new Map<string, SqlValue>();
    for (let c = 0; c < from.length; c++) out.set(to[c], graphqlValue(row[from[c]]));
    rows[r] = out;
  }
  return rows;
}

/** A value as GraphQL carries it: its Float is a double, so a bigint (a number dimension past 2^53) becomes one. */
export function graphqlValue(v: SqlValue | undefined): Exclude<SqlValue, bigint> {
  return v === undefined ? null : typeof v === 'bigint' ? Number(v) : v;
}

function modelResolvers(b: ModelBinding): ResolverMap<RequestContext> {
  const n = b.names;
  const row: Record<string, FieldResolver<RequestContext>> = {};
  for (const [field, d] of b.dimensions) {
    const read = dimensionReader(d.name, d);
    row[field] = ((parent: MetricsRow, args: { grain?: TimeGrain }) => read(parent, args.grain)) as FieldResolver<RequestContext>;
  }
  for (const [field, m] of b.measures) {
    const key = columnKey(m.name);
    row[field] = ((parent: MetricsRow) => parent.get(key) ?? null) as FieldResolver<RequestContext>;
  }
  const out: ResolverMap<RequestContext> = { [n.row]: row };
  for (const j of b.joins.values()) {
    if (j.dimensions.size === 0) continue;
    row[j.fieldName] = ((parent: MetricsRow): JoinedRow => ({ row: parent, join: j.join.name })) as FieldResolver<RequestContext>;
    const joined: Record<string, FieldResolver<RequestContext>> = {};
    for (const [field, d] of j.dimensions) {
      const read = dimensionReader(`${j.join.name}.${d.name}`, d);
      joined[field] = ((parent: JoinedRow, args: { grain?: TimeGrain }) => read(parent.row, args.grain)) as FieldResolver<RequestContext>;
    }
    out[n.join(j.fieldName)] = joined;
  }
  return out;
}

/** Arguments of a model field. */
interface ModelArgs {
  where?: unknown;
  having?: unknown;
  orderBy?: unknown;
  limit?: number | null;
  offset?: number | null;
}

/** Builds the SemanticQuery a model field asks (exported for the unit tests). */
export function modelFieldQuery(b: ModelBinding, args: ModelArgs, info: GraphQLResolveInfo, limits: RowLimits): SemanticQuery {
  const selection = readSelection(b, info);
  const page = resolvePage(args.limit, args.offset, limits);
  const grainOf = (member: string) => selection.dimensions.find((d) => d.name === member)?.grain;
  return {
    model: b.model.id,
    measures: selection.measures,
    dimensions: selection.dimensions,
    filters: [...whereToFilters(b, args.where), ...havingToFilters(b, args.having)],
    orderBy: orderByToOrder(b, args.orderBy, grainOf),
    limit: page.limit,
    offset: page.offset,
  };
}

function modelField(b: ModelBinding, limits: RowLimits): FieldResolver<RequestContext> {
  return (async (_parent: unknown, args: ModelArgs, ctx: RequestContext, info: GraphQLResolveInfo) => {
    // The schema only holds the principal's teams; this re-check keeps a schema cached for one
    // team set from ever answering another principal.
    if (!ctx.teams.includes(b.model.team)) throw new UserError('UNKNOWN_MODEL', `no model named "${b.model.id}"`);
    const query = modelFieldQuery(b, args, info, limits);
    return toMetricsRows(await ctx.metrics.load(query));
  }) as FieldResolver<RequestContext>;
}

/** The models of a team, in a stable order (by name). */
export function teamModels(project: SemanticProject, team: string): Model[] {
  return [...project.models.values()].filter((m) => m.team === team).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The typed metrics schema for `teams` (other teams' types are absent, not just unreachable): type
 * definitions extending Query, and their resolvers.
 */
export function buildMetricsSchema(project: SemanticProject, teams: readonly string[], options: MetricsSchemaOptions): MetricsSchema {
  let typeDefs = '';
  const queryFields: Record<string, FieldResolver<RequestContext>> = {};
  let resolvers: ResolverMap<RequestContext> = {};
  const teamFields: string[] = [];

  for (const team of teams) {
    const models = teamModels(project, team);
    if (models.length === 0) continue;
    const teamType = teamTypeName(team);
    const teamField = camelCase(team);
    teamFields.push(`  "Metrics of the ${team} team."\n  ${teamField}: ${teamType}!\n`);
    queryFields[teamField] = () => ({});
    let teamSdl = `"The models of the ${team} team."\ntype ${teamType} {\n`;
    const teamResolvers: Record<string, FieldResolver<RequestContext>> = {};
    for (const model of models) {
      const b = bindModel(project, model);
      if (b.dimensions.size + b.measures.size === 0) continue;
      teamSdl += describe(model.description, '  ');
      teamSdl += `  ${b.fieldName}(where: ${b.names.where}, having: ${b.names.having}, orderBy: [${b.names.orderBy}!], "Rows to return; default ${options.limits.defaultRows}, at most ${options.limits.maxRows}." limit: Int, offset: Int = 0): [${b.names.row}!]!\n`;
      teamResolvers[b.fieldName] = modelField(b, options.limits);
      typeDefs += modelTypeDefs(b);
      resolvers = { ...resolvers, ...modelResolvers(b) };
    }
    typeDefs += `${teamSdl}}\n\n`;
    resolvers[teamType] = teamResolvers;
  }
  if (teamFields.length > 0) {
    typeDefs += `extend type Query {\n${teamFields.join('')}}\n`;
    resolvers.Query = queryFields;
  }
  return { typeDefs, resolvers };
}
