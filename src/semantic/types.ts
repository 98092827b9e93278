/**
 * The semantic layer's vocabulary: models as loaded from `models/<team>/<model>.yml`, and the
 * SemanticQuery that every face (typed GraphQL, generic `metrics`, OData, exports) turns a request into.
 */

export const MEASURE_TYPES = ['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'last', 'ratio', 'derived'] as const;
export type MeasureType = (typeof MEASURE_TYPES)[number];

export const DIMENSION_TYPES = ['string', 'number', 'boolean', 'time'] as const;
export type DimensionType = (typeof DIMENSION_TYPES)[number];

// The warehouse port owns the grains (its dialects truncate time to them); the semantic layer speaks them too.
export { TIME_GRAINS, type TimeGrain } from '../warehouse/port.js';
import type { TimeGrain } from '../warehouse/port.js';

export const FORMATS = ['integer', 'decimal', 'percent', 'currency', 'duration'] as const;
export type Format = (typeof FORMATS)[number];

export const FILTER_OPERATORS = [
  'EQUALS', 'NOT_EQUALS', 'IN', 'NOT_IN', 'CONTAINS', 'STARTS_WITH', 'GT', 'GTE', 'LT', 'LTE', 'IS_NULL', 'IS_NOT_NULL',
  // A time dimension within a relative or explicit range (src/semantic/date-range.ts), resolved in UTC when the query is planned.
  'IN_DATE_RANGE',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface Dimension {
  name: string;
  type: DimensionType;
  /** SQL expression over the model's table; defaults to the dimension's name as a column. */
  sql: string;
  description?: string;
}

export interface Measure {
  name: string;
  type: MeasureType;
  /** Column or expression aggregated (count, count_distinct, sum, avg, min, max, last); the expression of a derived measure. */
  sql?: string;
  numerator?: string;
  denominator?: string;
  /** For `last`: the time dimension that orders the rows; defaults to the model's first time dimension. */
  timeDimension?: string;
  format?: Format;
  description?: string;
  /**
   * Set only on the measures of a rollup's stand-in model (rollup-plan.ts), never from YAML: how the stored
   * component re-aggregates (`count` sums counts, 0 when no row; `value` is a count_distinct stored at
   * the rollup's exact groups; `last` sums the stored values at the latest of the groups' time points).
   */
  reaggregate?: 'sum' | 'count' | 'min' | 'max' | 'value' | 'last';
  /** With `reaggregate: 'last'`: the stored column holding each group's latest time point. */
  lastAt?: string;
}

/**
 * A rollup (pre-aggregation) declared in a model's `rollups:` (docs/models.md): the model's measures
 * re-aggregatable from a table grouped by `dimensions` and by `timeDimension` truncated to `grain`.
 */
export interface Rollup {
  name: string;
  /** Measures of the model, as declared (their parts are stored too: a ratio's numerator and denominator…). */
  measures: string[];
  /** Dimensions of the model, or of a joined model as `join.dimension`. */
  dimensions: string[];
  /** A time dimension of the model itself. */
  timeDimension: string;
  grain: TimeGrain;
}

export interface Join {
  name: string;
  /** `team.model` of the joined model. */
  model: string;
  relationship: 'many_to_one';
  /** Columns of this model → columns of the joined model. */
  on: Record<string, string>;
}

export interface Model {
  /** `team.name`, e.g. `social.post_performance`. */
  id: string;
  team: string;
  name: string;
  description?: string;
  /** Either a table (`schema.table`) or a SQL select. */
  table?: string;
  sql?: string;
  grain: string[];
  dimensions: Dimension[];
  measures: Measure[];
  joins: Join[];
  /** Rollups declared in the model's `rollups:`; absent or empty when none. */
  rollups?: Rollup[];
  /** Project-relative file the model was loaded from, for error messages. */
  file: string;
}

/** A loaded and validated set of models. */
export interface SemanticProject {
  models: ReadonlyMap<string, Model>;
  teams: readonly string[];
}

export interface DimensionRef {
  /** `metric_date`, or `accounts.region` for a joined model's dimension. */
  name: string;
  grain?: TimeGrain;
}

export interface Filter {
  /** A dimension (a where) or a measure (a having). */
  member: string;
  operator: FilterOperator;
  /** Values as the client sent them; never spliced into SQL. */
  values?: ReadonlyArray<string | number | boolean>;
}

export interface FilterGroup {
  and?: FilterNode[];
  or?: FilterNode[];
}
export type FilterNode = Filter | FilterGroup;

export interface OrderBy {
  /** A dimension or measure name; for a time dimension selected at a grain, give that grain too. */
  member: string;
  grain?: TimeGrain;
  direction: 'ASC' | 'DESC';
}

/** One question to the semantic layer. */
export interface SemanticQuery {
  model: string;
  measures: string[];
  dimensions: DimensionRef[];
  /** Combined with AND; a filter on a measure is a having. */
  filters: FilterNode[];
  orderBy: OrderBy[];
  limit: number;
  offset: number;
}

export type ColumnType = 'string' | 'number' | 'boolean' | 'date' | 'timestamp';

export interface ResultColumn {
  /** The member as written in the model (`metric_date`, `accounts.region`, `impressions`). */
  name: string;
  /** Column key in the result rows: unique even when one dimension appears at two grains. */
  key: string;
  kind: 'dimension' | 'measure';
  type: ColumnType;
  grain?: TimeGrain;
  format?: Format;
}

/** A planned query: one SQL statement with its parameters, and what its columns are. */
export interface PlannedQuery {
  sql: string;
  params: unknown[];
  columns: ResultColumn[];
  /** Tables the query reads, for cache invalidation after loads (a rollup's base tables when a rollup answers). */
  tables: string[];
  /** `team.model.rollup` of the rollup that answers, when one does (planning with `rollups`). */
  rollup?: string;
  /** Why no rollup answers, when the model declares rollups and none could (the closest candidate's first reason). */
  rollupReason?: string;
  /**
   * The order of the rows, as result column keys (every term nulls last): what a statement wrapping
   * this one must order by again, since an ORDER BY inside a subquery does not order the outer result.
   */
  order: Array<{ key: string; direction: 'ASC' | 'DESC' }>;
}
