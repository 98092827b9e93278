/**
 * `Query.metrics`: the same questions as the typed fields, asked with names as written in the models
 * (for clients that build queries at run time), answered as columns plus rows of values in column order,
 * with `hasMore` when `limit` cut the answer.
 */
import type { ResultColumn, TimeGrain } from '../semantic/types.js';
import type { SemanticQueryInput } from '../serving/types.js';
import { graphqlValue } from './metrics-schema.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';

/** `MetricsColumn` of the response. */
export interface MetricsColumn {
  name: string;
  key: string;
  kind: ResultColumn['kind'];
  type: ResultColumn['type'];
  grain: TimeGrain | null;
  format: string | null;
  description: string | null;
}

/** Resolvers of `Query.metrics`. */
export function genericMetricsResolvers(): ResolverMap<RequestContext> {
  const metrics = async (_parent: unknown, args: { query: SemanticQueryInput }, ctx: RequestContext) => {
    const query = ctx.serving.toQuery(ctx.principal, args.query);
    const answer = await ctx.metrics.load(query);
    // Columns in the order asked (dimensions, then measures): the loader may have answered from an
    // equal query that listed them in another order.
    const columns: typeof answer.columns = [];
    for (const d of query.dimensions) {
      const c = answer.columns.find((x) => x.kind === 'dimension' && x.name === d.name && (x.grain ?? undefined) === (d.grain ?? x.grain ?? undefined));
      if (c && !columns.includes(c)) columns.push(c);
    }
    for (const m of query.measures) {
      const c = answer.columns.find((x) => x.kind === 'measure' && x.name === m);
      if (c && !columns.includes(c)) columns.push(c);
    }
    const out: MetricsColumn[] = columns.map((c) => ({
      name: c.name,
      key: c.key,
      kind: c.kind,
      type: c.type,
      grain: c.grain ?? null,
      format: c.format ?? null,
      description: c.description ?? null,
    }));
    return { columns: out, rows: answer.rows.map((row) => columns.map((c) => graphqlValue(row[c.key]))), hasMore: answer.hasMore, lastLoadedAt: answer.lastLoadedAt };
  };
  return { Query: { metrics: metrics as FieldResolver<RequestContext> } };
}
