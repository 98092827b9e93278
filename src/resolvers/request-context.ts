/**
 * What every resolver of one GraphQL request shares: who is asking, which teams they see, and the
 * per-request loader that computes each distinct question once however many fields ask it.
 */
import DataLoader from 'dataloader';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../log.js';
import type { SemanticQuery } from '../semantic/types.js';
import type { QueryRunner, QueryRunResult } from './query-runner.js';

/** What `extensions.sextant.queries` tells about one statement of the request. */
export interface QueryReport {
  model: string;
  /** True when the rows came from the result cache. */
  cacheHit: boolean;
  /** When the rows were read from the warehouse (ISO 8601): how fresh the answer is. */
  computedAt: string;
}

/** `extensions.sextant` of a response. */
export interface SextantExtensions {
  queries: QueryReport[];
}

export interface RequestContext {
  principal: Principal;
  /** The teams the principal may read, in project order. */
  teams: readonly string[];
  /** Runs SemanticQueries, one statement per distinct query of the request. */
  metrics: DataLoader<SemanticQuery, QueryRunResult, string>;
  extensions: SextantExtensions;
  log: Logger;
}

function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * A key equal for two queries that ask the same question: measures and dimensions are a set (the
 * typed rows read columns by key, not position); filters and ordering keep their order.
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

/** Creates the context of one request. */
export function createRequestContext(runner: QueryRunner, principal: Principal, teams: readonly string[], log: Logger): RequestContext {
  const extensions: SextantExtensions = { queries: [] };
  const metrics = new DataLoader<SemanticQuery, QueryRunResult, string>(
    async (queries) => {
      const settled = await Promise.allSettled(queries.map((q) => runner.run(q)));
      return settled.map((s, i) => {
        if (s.status === 'rejected') return s.reason instanceof Error ? s.reason : new Error(String(s.reason));
        extensions.queries.push({ model: queries[i].model, cacheHit: s.value.cacheHit, computedAt: s.value.computedAt.toISOString() });
        return s.value;
      });
    },
    { cacheKeyFn: canonicalQueryKey },
  );
  return { principal, teams, metrics, extensions, log };
}
