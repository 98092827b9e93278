/**
 * `Query.catalog`: what the principal can ask — teams, models, members with their types, formats and
 * descriptions, joins — and how fresh each model's table is (`lastLoadedAt`). The catalog is the semantic
 * layer's (semantic/catalog.ts), served per principal by serving/; this adds the GraphQL field names.
 */
import { camelCase } from '../semantic/names.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';

/** Resolvers of `Query.catalog` and its freshness field. */
export function catalogResolvers(): ResolverMap<RequestContext> {
  const catalog = async (_parent: unknown, _args: unknown, ctx: RequestContext) => {
    const served = await ctx.serving.catalog(ctx.principal, { freshness: false });
    const teams = served.teams.map((team) => ({
      name: team.name,
      fieldName: camelCase(team.name),
      models: team.models.map((m) => ({
        ...m,
        fieldName: camelCase(m.name),
        description: m.description ?? null,
        table: m.table ?? null,
        dimensions: m.dimensions.map((d) => ({ ...d, fieldName: camelCase(d.name), description: d.description ?? null })),
        measures: m.measures.map((x) => ({ ...x, fieldName: camelCase(x.name), format: x.format ?? null, description: x.description ?? null })),
        rollups: m.rollups ?? [],
      })),
    }));
    return { teams, models: teams.flatMap((t) => t.models) };
  };
  return {
    Query: { catalog: catalog as FieldResolver<RequestContext> },
    // Asked of the warehouse only when the field is selected.
    CatalogModel: {
      lastLoadedAt: ((parent: { id: string }, _args: unknown, ctx: RequestContext) =>
        ctx.serving.lastLoadedAt(ctx.serving.model(ctx.principal, parent.id))) as FieldResolver<RequestContext>,
    },
    CatalogRollup: {
      refreshedAt: ((parent: { id: string }, _args: unknown, ctx: RequestContext) => ctx.serving.rollupRefreshedAt(parent.id)) as FieldResolver<RequestContext>,
    },
  };
}
