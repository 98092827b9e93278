/** The canonical key of a question: equal for two queries that ask the same thing. */
import type { SemanticQuery } from '../semantic/types.js';

/** `items` ordered by `key`, computed once per item (not twice per comparison). */
function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: key(item) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.item);
}

/**
 * Measures and dimensions are a set (faces read columns by key, not position); filters and ordering
 * keep their order. Used to compute each distinct question of a GraphQL request once.
 */
export function canonicalQueryKey(query: SemanticQuery): string {
  return JSON.stringify({
    model: query.model,
    measures: [...new Set(query.measures)].sort(),
    dimensions: sortedBy(query.dimensions, (d) => `${d.name}@${d.grain ?? ''}`).map((d) => [d.name, d.grain ?? null]),
    filters: query.filters,
    orderBy: query.orderBy,
    limit: query.limit,
    offset: query.offset,
  });
}
