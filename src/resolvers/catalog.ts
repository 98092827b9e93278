/**
 * `Query.catalog`: what the principal can ask — teams, models, members with their types, formats and
 * descriptions, joins — and how fresh each model's table is (`lastLoadedAt`, the latest `_loaded_at`).
 */
import type { Model, SemanticProject } from '../semantic/types.js';
import type { QueryRunner } from './query-runner.js';
import { camelCase } from './names.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';
import { teamModels } from './metrics-schema.js';

/** The lineage column every loaded row carries (SPEC §2.2). */
const LOADED_AT = '_loaded_at';

/**
 * The latest `_loaded_at` of a model's table, or null when the model reads SQL rather than a table,
 * the table has no such column (it was not loaded by Sextant) or it is empty.
 */
export async function lastLoadedAt(runner: Pick<QueryRunner, 'warehouse' | 'cachedQuery'>, model: Model): Promise<string | null> {
  if (!model.table) return null;
  const warehouse = runner.warehouse;
  const columns = await warehouse.describeTable(model.table);
  if (!columns?.some((c) => c.name === LOADED_AT)) return null;
  const d = warehouse.dialect;
  // Cached like metrics and dropped by the same invalidation after a load: a max() over a large
  // table is not free, and the catalog is read often (the query page asks it on every load).
  const rows = await runner.cachedQuery(`SELECT max(${d.quoteIdent(LOADED_AT)}) AS ${d.quoteIdent('v')} FROM ${d.quoteTable(model.table)}`, [], [model.table]);
  const v = rows[0]?.v;
  return v === null || v === undefined ? null : String(v);
}

function catalogModel(model: Model) {
  return {
    id: model.id,
    team: model.team,
    name: model.name,
    fieldName: camelCase(model.name),
    description: model.description ?? null,
    table: model.table ?? null,
    grain: model.grain,
    dimensions: model.dimensions.map((d) => ({ name: d.name, fieldName: camelCase(d.name), type: d.type, description: d.description ?? null })),
    measures: model.measures.map((m) => ({ name: m.name, fieldName: camelCase(m.name), type: m.type, format: m.format ?? null, description: m.description ?? null })),
    joins: model.joins.map((j) => ({ name: j.name, model: j.model, relationship: j.relationship })),
    /** Kept for the lastLoadedAt resolver, which only queries the warehouse when the field is asked. */
    source: model,
  };
}

type CatalogModelValue = ReturnType<typeof catalogModel>;

/** Resolvers of `Query.catalog` and its freshness field. */
export function catalogResolvers(project: SemanticProject, runner: Pick<QueryRunner, 'warehouse' | 'cachedQuery'>): ResolverMap<RequestContext> {
  const catalog = (_parent: unknown, _args: unknown, ctx: RequestContext) => {
    const teams = ctx.teams
      .map((team) => ({ name: team, fieldName: camelCase(team), models: teamModels(project, team).map(catalogModel) }))
      .filter((t) => t.models.length > 0);
    return { teams, models: teams.flatMap((t) => t.models) };
  };
  return {
    Query: { catalog: catalog as FieldResolver<RequestContext> },
    CatalogModel: { lastLoadedAt: ((parent: CatalogModelValue) => lastLoadedAt(runner, parent.source)) as FieldResolver<RequestContext> },
  };
}
