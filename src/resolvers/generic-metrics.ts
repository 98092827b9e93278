/**
 * `Query.metrics`: the same questions as the typed fields, asked with names as written in the models
 * (for clients that build queries at run time), answered as columns plus rows of values in column order.
 */
import { UserError } from '../errors.js';
import { FILTER_OPERATORS, type FilterNode, type FilterOperator, type OrderBy, type ResultColumn, type SemanticProject, type SemanticQuery, type TimeGrain } from '../semantic/types.js';
import type { SqlValue } from '../warehouse/port.js';
import { formatTimeValue } from './scalars.js';
import { resolvePage, type RowLimits } from './query-limits.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';
import { columnKey, DEFAULT_GRAIN } from './selection.js';
import { toMetricsRows } from './metrics-schema.js';

/** `SemanticQueryInput` as GraphQL hands it over (enums already mapped to their internal values). */
export interface SemanticQueryInput {
  model: string;
  measures: string[];
  dimensions?: Array<{ name: string; grain?: TimeGrain | null }> | null;
  filters?: Array<{ member: string; operator: FilterOperator; values?: unknown[] | null }> | null;
  orderBy?: Array<{ member: string; grain?: TimeGrain | null; direction?: 'ASC' | 'DESC' | null }> | null;
  limit?: number | null;
  offset?: number | null;
}

/** `MetricsColumn` of the response. */
export interface MetricsColumn {
  name: string;
  key: string;
  kind: ResultColumn['kind'];
  type: ResultColumn['type'];
  grain: TimeGrain | null;
  format: string | null;
}

/** Operators that take no value, one value, or a list. */
const NO_VALUE: readonly FilterOperator[] = ['IS_NULL', 'IS_NOT_NULL'];
const LIST: readonly FilterOperator[] = ['IN', 'NOT_IN'];

function checkValues(filter: { member: string; operator: FilterOperator; values?: unknown[] | null }, path: string): Array<string | number | boolean> {
  const values = filter.values ?? [];
  if (!FILTER_OPERATORS.includes(filter.operator)) throw new UserError('BAD_USER_INPUT', `${path}.operator: unknown operator "${String(filter.operator)}"`);
  values.forEach((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new UserError('BAD_USER_INPUT', `${path}.values[${i}]: expected a string, number or boolean, got ${JSON.stringify(v)}`);
    }
  });
  if (NO_VALUE.includes(filter.operator) && values.length > 0) {
    throw new UserError('BAD_USER_INPUT', `${path}: ${filter.operator} takes no values, got ${values.length}`);
  }
  if (!NO_VALUE.includes(filter.operator) && !LIST.includes(filter.operator) && values.length !== 1) {
    throw new UserError('BAD_USER_INPUT', `${path}: ${filter.operator} takes exactly one value, got ${values.length}`);
  }
  if (LIST.includes(filter.operator) && values.length === 0) {
    throw new UserError('BAD_USER_INPUT', `${path}: ${filter.operator} takes at least one value`);
  }
  return values as Array<string | number | boolean>;
}

/**
 * Finds a model the principal may read; a model of another team answers exactly like a model that
 * does not exist, so that a key cannot probe other teams' model names.
 */
export function visibleModel(project: SemanticProject, id: string, teams: readonly string[]) {
  const model = project.models.get(id);
  if (!model || !teams.includes(model.team)) {
    const known = [...project.models.values()].filter((m) => teams.includes(m.team)).map((m) => m.id).sort();
    throw new UserError('UNKNOWN_MODEL', `no model named "${id}"; expected one of: ${known.join(', ') || '(none visible to this key)'}`);
  }
  return model;
}

/** Converts and checks a SemanticQueryInput (shared with exportQuery). */
export function toSemanticQuery(project: SemanticProject, input: SemanticQueryInput, teams: readonly string[], limits: RowLimits): SemanticQuery {
  const model = visibleModel(project, input.model, teams);
  const page = resolvePage(input.limit, input.offset, limits);
  const filters: FilterNode[] = (input.filters ?? []).map((f, i) => {
    const values = checkValues(f, `query.filters[${i}]`);
    return NO_VALUE.includes(f.operator) ? { member: f.member, operator: f.operator } : { member: f.member, operator: f.operator, values };
  });
  const orderBy: OrderBy[] = (input.orderBy ?? []).map((o) => ({ member: o.member, direction: o.direction ?? 'ASC', ...(o.grain ? { grain: o.grain } : {}) }));
  return {
    model: model.id,
    measures: [...input.measures],
    dimensions: (input.dimensions ?? []).map((d) => (d.grain ? { name: d.name, grain: d.grain } : { name: d.name })),
    filters,
    orderBy,
    limit: page.limit,
    offset: page.offset,
  };
}

function cell(value: SqlValue | undefined, column: ResultColumn): SqlValue {
  if (value === undefined || value === null) return null;
  if (column.type === 'date' || column.type === 'timestamp') return formatTimeValue(value, column.grain ?? (column.type === 'timestamp' ? 'hour' : DEFAULT_GRAIN));
  return value;
}

/** Resolvers of `Query.metrics`. */
export function genericMetricsResolvers(project: SemanticProject, limits: RowLimits): ResolverMap<RequestContext> {
  const metrics = async (_parent: unknown, args: { query: SemanticQueryInput }, ctx: RequestContext) => {
    const query = toSemanticQuery(project, args.query, ctx.teams, limits);
    const result = await ctx.metrics.load(query);
    // Columns in the order asked (dimensions, then measures): the loader may have answered from an
    // equal query that listed them in another order.
    const wanted = [
      ...query.dimensions.map((d) => ({ name: d.name, grain: d.grain, kind: 'dimension' as const })),
      ...query.measures.map((m) => ({ name: m, grain: undefined, kind: 'measure' as const })),
    ];
    const seen = new Set<string>();
    const columns: ResultColumn[] = [];
    for (const w of wanted) {
      const key = columnKey(w.name, w.grain ?? undefined);
      if (seen.has(key)) continue;
      seen.add(key);
      const column =
        result.planned.columns.find((c) => c.name === w.name && c.kind === w.kind && (w.kind === 'measure' || (c.grain ?? undefined) === (w.grain ?? c.grain))) ??
        result.planned.columns.find((c) => c.name === w.name);
      if (column) columns.push(column);
    }
    const rows = toMetricsRows(result).map((row) => columns.map((c) => cell(row.get(columnKey(c.name, c.grain)), c)));
    const out: MetricsColumn[] = columns.map((c) => ({ name: c.name, key: c.key, kind: c.kind, type: c.type, grain: c.grain ?? null, format: c.format ?? null }));
    return { columns: out, rows };
  };
  return { Query: { metrics: metrics as FieldResolver<RequestContext> } };
}
