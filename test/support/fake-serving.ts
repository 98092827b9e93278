/**
 * A small Serving for tests of faces that ask through src/serving/types.ts (reports): the model check
 * by team and `stream` over a real warehouse, planned by the semantic layer. The real serving layer adds
 * caching, coalescing and limits; what a report needs from it is this.
 */
import { can, type Principal } from '../../src/auth/principal.js';
import { UserError } from '../../src/errors.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { Model, SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import type { AnswerStream, Serving } from '../../src/serving/types.js';
import type { Row, Warehouse } from '../../src/warehouse/port.js';

export interface FakeServingOptions {
  /** Fails the next `stream` calls with these errors, in order (then answers normally). */
  failures?: Error[];
  /** The instant relative date ranges are resolved at. */
  now?: () => Date;
}

export function fakeServing(project: SemanticProject, warehouse: Warehouse, options: FakeServingOptions = {}): Pick<Serving, 'model' | 'stream'> & { streams: SemanticQuery[] } {
  const streams: SemanticQuery[] = [];
  const model = (principal: Principal, id: string): Model => {
    const m = project.models.get(id);
    if (!m || !can(principal, 'read', m.team)) throw new UserError('UNKNOWN_MODEL', `unknown model "${id}"`);
    return m;
  };
  return {
    streams,
    model,
    async stream(principal, query, streamOptions = {}): Promise<AnswerStream> {
      model(principal, query.model);
      streams.push(query);
      const failure = options.failures?.shift();
      if (failure) throw failure;
      // limit 0: every row (a report's default).
      const plan = planQuery(project, { ...query, limit: query.limit > 0 ? query.limit : 1_000_000_000 }, warehouse.dialect, options.now ? { now: options.now() } : {});
      const numeric = plan.columns.filter((c) => c.kind === 'measure' || c.type === 'number').map((c) => c.key);
      async function* batches(): AsyncIterable<Row[]> {
        for await (const batch of warehouse.stream(plan.sql, plan.params, { batchSize: streamOptions.batchSize ?? 1000, ...(streamOptions.signal ? { signal: streamOptions.signal } : {}) })) {
          for (const row of batch) for (const k of numeric) if (row[k] !== null && typeof row[k] !== 'number') row[k] = Number(row[k]);
          yield batch;
        }
      }
      return { query, columns: plan.columns, lastLoadedAt: null, batches: batches() };
    },
  };
}
