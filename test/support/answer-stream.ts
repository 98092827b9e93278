/**
 * An {@link AnswerStream} built from rows in memory, for writer tests (and the export benchmark's
 * baseline side): the same shape the serving layer answers, batch by batch.
 */
import type { AnswerStream, ServedColumn } from '../../src/serving/types.js';
import type { SemanticQuery } from '../../src/semantic/types.js';
import type { Row } from '../../src/warehouse/port.js';

export interface AnswerStreamInput {
  columns: ServedColumn[];
  /** Rows, or a generator of them (large tests). */
  rows: Iterable<Row>;
  query?: Partial<SemanticQuery>;
  lastLoadedAt?: string | null;
  batchSize?: number;
}

/** The rows of `input` in batches of `batchSize` (default 1,000). */
export function answerStreamOf(input: AnswerStreamInput): AnswerStream {
  const size = input.batchSize ?? 1000;
  async function* batches(): AsyncIterable<Row[]> {
    let batch: Row[] = [];
    for (const row of input.rows) {
      batch.push(row);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
  return {
    query: {
      model: 'social.post_performance',
      measures: input.columns.filter((c) => c.kind === 'measure').map((c) => c.name),
      dimensions: input.columns.filter((c) => c.kind === 'dimension').map((c) => ({ name: c.name, ...(c.grain ? { grain: c.grain } : {}) })),
      filters: [],
      orderBy: [],
      limit: 0,
      offset: 0,
      ...input.query,
    },
    columns: input.columns,
    lastLoadedAt: input.lastLoadedAt ?? null,
    batches: batches(),
  };
}
