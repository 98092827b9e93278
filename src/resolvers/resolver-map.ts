/** The shape of the resolver maps this folder builds and merges into one executable schema. */
import { GraphQLScalarType, type GraphQLResolveInfo } from 'graphql';

/** A field resolver; parents and arguments are typed inside each module that builds one. */
export type FieldResolver<TContext> = (parent: never, args: never, context: TContext, info: GraphQLResolveInfo) => unknown;

/** Type name → field name → resolver, or a scalar, or an enum's internal values. */
export type ResolverMap<TContext> = Record<string, GraphQLScalarType | Record<string, FieldResolver<TContext> | string>>;

/** Merges resolver maps type by type (later maps add fields to earlier ones). */
export function mergeResolvers<TContext>(...maps: ResolverMap<TContext>[]): ResolverMap<TContext> {
  const out: ResolverMap<TContext> = {};
  for (const map of maps) {
    for (const [type, value] of Object.entries(map)) {
      const existing = out[type];
      out[type] = existing && !(existing instanceof GraphQLScalarType) && !(value instanceof GraphQLScalarType) ? { ...existing, ...value } : value;
    }
  }
  return out;
}
