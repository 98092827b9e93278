/**
 * What every resolver of one GraphQL request shares: who is asking, which teams they see, the serving
 * layer, and the per-request loader that asks each distinct question once however many fields ask it.
 */
import DataLoader from 'dataloader';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../log.js';
import type { SemanticQuery } from '../semantic/types.js';
import { canonicalQueryKey } from '../serving/query-key.js';
import type { Answer, Serving } from '../serving/types.js';

/** What `extensions.sextant.queries` tells about one question of the request. */
export interface QueryReport {
  model: string;
  /** True when the rows came from the result cache. */
  cacheHit: boolean;
  /** When the rows were read from the warehouse (ISO 8601). */
  computedAt: string;
  /** The latest load of the model's table (ISO 8601): how fresh the data is. */
  lastLoadedAt: string | null;
  /** Rows returned, and whether `limit` cut the answer (more rows exist: page with `offset`). */
  rows: number;
  limit: number;
  offset: number;
  hasMore: boolean;
  /** The rollup that answered (`team.model.rollup`), or null (the base table). */
  rollup: string | null;
  /** Why no rollup answered, when none did (docs/graphql.md). */
  rollupReason?: string;
}

/** `extensions.sextant` of a response. */
export interface SextantExtensions {
  queries: QueryReport[];
}

export interface RequestContext {
  principal: Principal;
  /** The teams the principal may read, in project order. */
  teams: readonly string[];
  serving: Serving;
  /** Answers SemanticQueries, once per distinct question of the request. */
  metrics: DataLoader<SemanticQuery, Answer, string>;
  extensions: SextantExtensions;
  /** What the request's answers read: their tables and when the oldest was computed (ms since the epoch). */
  read: { tables: Set<string>; computedAt: number };
  log: Logger;
}

/** Creates the context of one request. */
export function createRequestContext(serving: Serving, principal: Principal, log: Logger): RequestContext {
  const extensions: SextantExtensions = { queries: [] };
  const read = { tables: new Set<string>(), computedAt: Infinity };
  const metrics = new DataLoader<SemanticQuery, Answer, string>(
    async (queries) => {
      const settled = await Promise.allSettled(queries.map((q) => serving.answer(principal, q)));
      return settled.map((s) => {
        if (s.status === 'rejected') return s.reason instanceof Error ? s.reason : new Error(String(s.reason));
        const a = s.value;
        for (const t of a.tables) read.tables.add(t);
        read.computedAt = Math.min(read.computedAt, a.computedAt.getTime());
        extensions.queries.push({
          model: a.query.model,
          cacheHit: a.cacheHit,
          computedAt: a.computedAt.toISOString(),
          lastLoadedAt: a.lastLoadedAt,
          rows: a.rows.length,
          limit: a.query.limit,
          offset: a.query.offset,
          hasMore: a.hasMore,
          rollup: a.rollup,
          ...(a.rollupReason !== undefined ? { rollupReason: a.rollupReason } : {}),
        });
        return a;
      });
    },
    { cacheKeyFn: canonicalQueryKey },
  );
  return { principal, teams: serving.teams(principal), serving, metrics, extensions, read, log };
}
