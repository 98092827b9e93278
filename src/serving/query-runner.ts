/**
 * Runs SemanticQueries for serving.ts (nothing outside src/serving/ uses it): plans each for the warehouse's dialect, answers from the result cache when
 * it can, and coalesces identical statements already in flight, so that N clients asking the same
 * question at once cost the warehouse one statement.
 */
import { planQuery, type PlanOptions } from '../semantic/planner.js';
import type { FilterNode, PlannedQuery, SemanticProject, SemanticQuery } from '../semantic/types.js';
import type { QueryOptions, Row, SqlDialect, Warehouse } from '../warehouse/port.js';
import { ResultCache } from './result-cache.js';

/** The semantic layer's planner: `planQuery` from src/semantic. */
export type Planner = (project: SemanticProject, query: SemanticQuery, dialect: SqlDialect, options?: PlanOptions) => PlannedQuery;

export interface QueryRunResult {
  planned: PlannedQuery;
  rows: Row[];
  /** True when the rows came from the result cache. */
  cacheHit: boolean;
  /** When the rows were read from the warehouse. */
  computedAt: Date;
}

/** One warehouse statement, for metrics (Prometheus) and logs. */
export interface WarehouseQueryEvent {
  model: string;
  durationMs: number;
  ok: boolean;
}

export interface QueryRunnerOptions {
  project: SemanticProject;
  warehouse: Warehouse;
  /** The planner (default: the semantic layer's `planQuery`); replaceable to observe or fake planning. */
  plan?: Planner;
  /** Shared across requests; omit to disable caching. */
  cache?: ResultCache;
  /** Statement timeout handed to the warehouse. */
  timeoutMs?: number;
  onQuery?: (event: WarehouseQueryEvent) => void;
  /** The rollups built: questions are answered from one when it gives exactly the base table's answer. */
  rollups?: ReadonlySet<string>;
}

/** Plans kept by {@link QueryRunner.plan}, least recently used dropped first. */
const PLAN_CACHE_SIZE = 500;

/** True when a filter's values are resolved against the clock (IN_DATE_RANGE: `last 7 days`, `this month`). */
function readsClock(filters: readonly FilterNode[]): boolean {
  return filters.some((f) => ('operator' in f ? f.operator === 'IN_DATE_RANGE' : readsClock(f.and ?? []) || readsClock(f.or ?? [])));
}

export class QueryRunner {
  readonly project: SemanticProject;
  readonly warehouse: Warehouse;
  readonly cache: ResultCache | undefined;
  private readonly planner: Planner;
  private readonly timeoutMs: number | undefined;
  private readonly onQuery: ((event: WarehouseQueryEvent) => void) | undefined;
  private readonly rollups: ReadonlySet<string> | undefined;
  private readonly inflight = new Map<string, Promise<{ rows: Row[]; computedAt: Date }>>();
  /** Plans of the default planner by question, page left out (see {@link plan}); off with a replaced planner. */
  private readonly plans: Map<string, PlannedQuery> | undefined;

  constructor(options: QueryRunnerOptions) {
    this.project = options.project;
    this.warehouse = options.warehouse;
    this.planner = options.plan ?? planQuery;
    this.plans = options.plan ? undefined : new Map();
    this.cache = options.cache;
    this.timeoutMs = options.timeoutMs;
    this.onQuery = options.onQuery;
    this.rollups = options.rollups;
  }

  /**
   * Plans a query for this warehouse's dialect (throws the planner's UserErrors). A question asked again
   * (the same model, members, filters with their values, and order; any page) reuses its plan: the
   * planner binds `limit` and `offset` last, so only those two parameters are replaced. Not cached: a
   * question whose filters read the clock (IN_DATE_RANGE), an unbounded plan, one at a fixed `now`.
   */
  plan(query: SemanticQuery, options?: PlanOptions): PlannedQuery {
    const withRollups = this.rollups ? { ...options, rollups: this.rollups } : options;
    const plan = (q: SemanticQuery) => (withRollups ? this.planner(this.project, q, this.warehouse.dialect, withRollups) : this.planner(this.project, q, this.warehouse.dialect));
    if (!this.plans || options?.unbounded || options?.now || readsClock(query.filters)) return plan(query);
    // The rollups built are part of the key: a rollup built later answers the question from then on.
    const key = JSON.stringify([query.model, query.measures, query.dimensions, query.filters, query.orderBy, this.rollups ? [...this.rollups] : null]);
    const cached = this.plans.get(key);
    if (cached) {
      this.plans.delete(key);
      this.plans.set(key, cached);
      return { ...cached, params: [...cached.params.slice(0, -2), query.limit, query.offset] };
    }
    const planned = plan(query);
    if (pagedLast(planned, query) && pagedLast(plan({ ...query, limit: query.limit + 1, offset: query.offset + 1 }), { ...query, limit: query.limit + 1, offset: query.offset + 1 }, planned)) {
      if (this.plans.size >= PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value as string);
      this.plans.set(key, planned);
    }
    return planned;
  }

  async run(query: SemanticQuery): Promise<QueryRunResult> {
    return this.runPlanned(query.model, this.plan(query));
  }

  /** Runs a statement planned by {@link plan}, through the cache and the in-flight coalescing. */
  async runPlanned(model: string, planned: PlannedQuery): Promise<QueryRunResult> {
    const key = ResultCache.key(planned.sql, planned.params);
    const cached = this.cache?.get(key);
    if (cached) return { planned, rows: cached.rows, cacheHit: true, computedAt: cached.computedAt };

    // Sharing a running query is only safe within one version of its tables: a request that arrives
    // after a load invalidated them must not join a query that started before the load committed.
    const flightKey = `${this.cache?.version(planned.tables) ?? 0}:${key}`;
    let pending = this.inflight.get(flightKey);
    if (!pending) {
      pending = this.execute(model, planned, key);
      this.inflight.set(flightKey, pending);
      const forget = () => this.inflight.delete(flightKey);
      pending.then(forget, forget);
    }
    const { rows, computedAt } = await pending;
    return { planned, rows, cacheHit: false, computedAt };
  }

  /**
   * Runs a statement the caller built itself (the catalog's freshness), through the same cache:
   * `tables` are the tables it reads, so a load invalidates it like any metrics answer.
   */
  async cachedQuery(sql: string, params: readonly unknown[], tables: readonly string[]): Promise<Row[]> {
    const key = ResultCache.key(sql, params);
    const cached = this.cache?.get(key);
    if (cached) return cached.rows;
    const version = this.cache?.version(tables) ?? 0;
    const rows = await this.warehouse.query(sql, params, this.queryOptions());
    this.cache?.set(key, tables, { rows, computedAt: new Date() }, version);
    return rows;
  }

  /**
   * Every read of the serving layer is one of a few shapes asked again with other values, so the
   * warehouse keeps its statement prepared (a plan cached per shape and connection).
   */
  private queryOptions(): QueryOptions {
    return this.timeoutMs === undefined ? { prepare: true } : { timeoutMs: this.timeoutMs, prepare: true };
  }

  private async execute(model: string, planned: PlannedQuery, key: string): Promise<{ rows: Row[]; computedAt: Date }> {
    const version = this.cache?.version(planned.tables) ?? 0;
    const started = performance.now();
    let ok = false;
    try {
      const rows = await this.warehouse.query(planned.sql, planned.params, this.queryOptions());
      ok = true;
      const result = { rows, computedAt: new Date() };
      this.cache?.set(key, planned.tables, result, version);
      return result;
    } finally {
      this.onQuery?.({ model, durationMs: performance.now() - started, ok });
    }
  }
}

/**
 * True when `planned` ends with the query's `limit` and `offset` parameters; with `like`, also when it is
 * the same statement with the same other parameters (the page is all that differs between the two plans).
 */
function pagedLast(planned: PlannedQuery, query: SemanticQuery, like?: PlannedQuery): boolean {
  const n = planned.params.length;
  if (n < 2 || planned.params[n - 2] !== query.limit || planned.params[n - 1] !== query.offset) return false;
  if (!like) return true;
  return like.sql === planned.sql && like.params.length === n && like.params.slice(0, -2).every((v, i) => Object.is(v, planned.params[i]));
}
