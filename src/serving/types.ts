/**
 * The serving layer's contract: every face (typed GraphQL, generic `metrics`, OData, exports, the
 * CLI, the console through GraphQL) asks its questions through a {@link Serving} and nothing below it.
 * A face turns its request into a {@link SemanticQuery}; serving checks who may ask, plans it for the
 * warehouse's dialect, answers from the result cache or the warehouse, and describes the answer.
 */
import type { Principal } from '../auth/principal.js';
import type { Catalog, CatalogModel } from '../semantic/catalog.js';
import type { FilterOperator, Model, ResultColumn, SemanticQuery, TimeGrain } from '../semantic/types.js';
import type { Row } from '../warehouse/port.js';
import type { ResponseCache } from './response-cache.js';

/** Rows and values as serving hands them to faces (faces import them from here, not from warehouse/). */
export type { Row, SqlValue } from '../warehouse/port.js';

/** A result column, with what a face needs to render it (formats, descriptions). */
export interface ServedColumn extends ResultColumn {
  description?: string;
  /** For measures: the measure type (`sum`, `ratio`, …), so exports can describe the definition. */
  measureType?: string;
}

/** A generic query as clients send it (`SemanticQueryInput` of docs/graphql.md), names as in the models. */
export interface SemanticQueryInput {
  model: string;
  measures: string[];
  dimensions?: Array<{ name: string; grain?: TimeGrain | null }> | null;
  filters?: Array<{ member: string; operator: FilterOperator; values?: unknown[] | null }> | null;
  orderBy?: Array<{ member: string; grain?: TimeGrain | null; direction?: 'ASC' | 'DESC' | null }> | null;
  limit?: number | null;
  offset?: number | null;
}

/** The answer to one question. */
export interface Answer {
  /** The question as answered (limit and offset resolved). */
  query: SemanticQuery;
  /** Dimensions then measures, in the order asked; each row is keyed by `column.key`. */
  columns: ServedColumn[];
  /**
   * At most `query.limit` rows. Values: strings, numbers (measures always numbers or null), booleans,
   * null; a time dimension as `YYYY-MM-DD`, or an ISO timestamp in UTC at the `hour` grain; a number
   * dimension whose whole value is past ±(2^53 − 1) as a `bigint` (exact: OData writes its digits).
   */
  rows: Row[];
  /** True when `limit` cut the answer: more rows exist past `offset + limit`. */
  hasMore: boolean;
  /** True when the rows came from the result cache. */
  cacheHit: boolean;
  /** When the rows were read from the warehouse. */
  computedAt: Date;
  /** The latest load of the model's table (ISO 8601), or null when unknown. */
  lastLoadedAt: string | null;
  /** The rollup that answered (`team.model.rollup`), or null when the base table did; `rollupReason` says why none could. */
  rollup: string | null;
  /** Why no rollup answered (the first reason of the closest candidate), when none did. */
  rollupReason?: string;
  /** The tables the answer read (its statement's and the model's own, for freshness). */
  tables: string[];
}

/** An unbounded answer, read in batches (exports, OData paging past the row cap). */
export interface AnswerStream {
  query: SemanticQuery;
  columns: ServedColumn[];
  lastLoadedAt: string | null;
  /** Batches of rows normalised as in {@link Answer.rows}. */
  batches: AsyncIterable<Row[]>;
}

/** Which rollups are built in this process and when each was last refreshed (src/rollups/, wired by the composition root). */
export interface RollupState {
  /** Ids (`team.model.rollup`) of the rollups built and kept fresh: the planner answers only from these. */
  readonly built: ReadonlySet<string>;
  /** When each built rollup was last refreshed (ISO 8601 in UTC), by id. */
  refreshedAt(): Promise<ReadonlyMap<string, string>>;
}

/** What {@link Serving.unload} wrote. */
export interface UnloadedAnswer {
  query: SemanticQuery;
  columns: ServedColumn[];
  rows: number;
  /** Object-store keys of the CSV files, in order: one unless the file passed 6.2 GB. */
  keys: string[];
}

/** The catalog a principal may see, with each model's freshness. */
export interface ServedCatalog extends Catalog {
  teams: Array<Catalog['teams'][number] & { models: Array<CatalogModel & { lastLoadedAt?: string | null }> }>;
}

export interface Serving {
  /** Whole GraphQL responses kept across requests (absent: none are). */
  readonly responses?: ResponseCache;
  /** Teams the principal may read, in project order. */
  teams(principal: Principal): string[];
  /** The model `id` (`team.model`), when the principal may read it; else UNKNOWN_MODEL, naming what it may read. */
  model(principal: Principal, id: string): Model;
  /** Converts and checks a generic input; `limit`/`offset` are checked against the configured row limits. */
  toQuery(principal: Principal, input: SemanticQueryInput): SemanticQuery;
  /** Answers a question (FORBIDDEN/UNKNOWN_MODEL when the principal may not read its model). */
  answer(principal: Principal, query: SemanticQuery): Promise<Answer>;
  /** The number of rows the question has without limit and offset (OData `$count`). */
  count(principal: Principal, query: SemanticQuery): Promise<number>;
  /** Every row of the question, past the row cap and ignoring `limit`/`offset` (exports), read in batches. */
  stream(principal: Principal, query: SemanticQuery, options?: { signal?: AbortSignal; batchSize?: number }): Promise<AnswerStream>;
  /**
   * True when the warehouse can write a question's whole result as CSV into the object store itself
   * (Redshift's UNLOAD); {@link unload} is then available.
   */
  canUnload(): boolean;
  /**
   * Every row of the question (no limit, offset or row cap) written by the warehouse itself as CSV files
   * under the object-store key `prefix` (`<prefix>000.csv` …), with a header from `headerOf` and text a
   * spreadsheet would run made inert. NOT_AVAILABLE when the warehouse cannot ({@link canUnload}).
   */
  unload(principal: Principal, query: SemanticQuery, options: { prefix: string; headerOf: (column: ServedColumn) => string; signal?: AbortSignal }): Promise<UnloadedAnswer>;
  /** The catalog of the principal's teams (models by name), with each model's `lastLoadedAt` unless `freshness: false`. */
  catalog(principal: Principal, options?: { freshness?: boolean }): Promise<ServedCatalog>;
  /** The latest load of a model's table (ISO 8601), or null. */
  lastLoadedAt(model: Model): Promise<string | null>;
  /** When a rollup (`team.model.rollup`) was last refreshed (ISO 8601), or null when it is not built in this deployment. */
  rollupRefreshedAt(id: string): Promise<string | null>;
}
