/**
 * The serving layer (see types.ts for the contract): built once at the composition root and handed to
 * every face. It decides who may ask (auth/principal), plans for the warehouse's dialect, answers from the
 * result cache or the warehouse (identical statements in flight run once), cuts the answer at the row
 * limit and says when it did, and describes the answer (columns with type and format, freshness).
 */
import { visibleTeams, type Principal } from '../auth/principal.js';
import { UserError } from '../errors.js';
import { describeCatalog } from '../semantic/catalog.js';
import { formatTimeValue } from '../semantic/time-values.js';
import type { Model, PlannedQuery, ResultColumn, SemanticProject, SemanticQuery } from '../semantic/types.js';
import type { Row, SqlValue, UnloadColumnKind, Warehouse } from '../warehouse/port.js';
import { Freshness } from './freshness.js';
import { inputToQuery } from './query-input.js';
import { QueryRunner, type Planner, type WarehouseQueryEvent } from './query-runner.js';
import { ResponseCache } from './response-cache.js';
import { ResultCache } from './result-cache.js';
import type { RowLimits } from './row-limits.js';
import type { Answer, AnswerStream, RollupState, SemanticQueryInput, ServedCatalog, ServedColumn, Serving, UnloadedAnswer } from './types.js';

export interface ServingOptions {
  project: SemanticProject;
  warehouse: Warehouse;
  limits: RowLimits;
  /** Shared across requests; default: a cache with its own TTL. `{ ttlMs: 0 }` turns caching off. */
  cache?: ResultCache;
  /** Statement timeout handed to the warehouse. */
  timeoutMs?: number;
  /** Replaces the semantic planner (tests that observe planning). */
  plan?: Planner;
  /** Every warehouse statement of a question, for metrics. */
  onQuery?: (event: WarehouseQueryEvent) => void;
  /** The rollups built in this warehouse (src/rollups/); without it every question reads the base tables. */
  rollups?: RollupState;
}

/** The time grain a time dimension is shown at when the question names none (docs/graphql.md: DAY). */
const DEFAULT_GRAIN = 'day';

function toNumber(value: SqlValue | bigint | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = Number(value);
  return Number.isNaN(n) ? null : n;
}

/**
 * One warehouse row in the shape every face shows: measures and number dimensions as JSON numbers
 * (number dimensions past 2^53 as bigints)
 * (PostgreSQL's numeric and bigint arrive as strings unless parsed), time values as ISO dates, or UTC
 * timestamps at the hour grain, booleans as booleans.
 */
function normaliser(columns: readonly ResultColumn[]): (row: Row) => Row {
  const cells = columns.map((c) => {
    if (c.kind === 'measure') return (v: SqlValue | undefined) => toNumber(v);
    // A number dimension keeps a bigint (a whole number a double cannot hold): faces that promise exact
    // numbers write its digits; GraphQL's Float turns it into a double at its own boundary.
    if (c.type === 'number') return (v: SqlValue | undefined) => (typeof v === 'bigint' ? v : toNumber(v));
    if (c.type === 'date' || c.type === 'timestamp') {
      const grain = c.grain ?? (c.type === 'timestamp' ? 'hour' : DEFAULT_GRAIN);
      return (v: SqlValue | undefined) => formatTimeValue(v, grain);
    }
    if (c.type === 'boolean') return (v: SqlValue | undefined) => (v === null || v === undefined ? null : typeof v === 'boolean' ? v : v === 'true' || v === 1);
    return (v: SqlValue | undefined) => (v === null || v === undefined ? null : typeof v === 'string' ? v : String(v));
  });
  return (row) => {
    const out: Row = {};
    columns.forEach((c, i) => (out[c.key] = cells[i](row[c.key])));
    return out;
  };
}

/** The columns of a planned query, with what the model says of each member. */
function describeColumns(model: Model, project: SemanticProject, planned: PlannedQuery): ServedColumn[] {
  return planned.columns.map((c) => {
    if (c.kind === 'measure') {
      const m = model.measures.find((x) => x.name === c.name);
      return { ...c, ...(m?.description ? { description: m.description } : {}), ...(m ? { measureType: m.type } : {}) };
    }
    const [joinName, dimName] = c.name.includes('.') ? c.name.split('.', 2) : [undefined, c.name];
    const owner = joinName ? project.models.get(model.joins.find((j) => j.name === joinName)?.model ?? '') : model;
    const d = owner?.dimensions.find((x) => x.name === dimName);
    return { ...c, ...(d?.description ? { description: d.description } : {}) };
  });
}

/** The Serving every face asks through. */
export class ServingLayer implements Serving {
  readonly cache: ResultCache;
  readonly freshness: Freshness;
  readonly responses: ResponseCache;
  private readonly runner: QueryRunner;
  private readonly project: SemanticProject;
  private readonly limits: RowLimits;
  private readonly warehouse: Warehouse;
  private readonly rollups: RollupState | undefined;

  constructor(options: ServingOptions) {
    this.rollups = options.rollups;
    this.project = options.project;
    this.limits = options.limits;
    this.warehouse = options.warehouse;
    this.cache = options.cache ?? new ResultCache();
    this.freshness = new Freshness(options.warehouse);
    this.responses = new ResponseCache(this.cache);
    this.runner = new QueryRunner({
      project: options.project,
      warehouse: options.warehouse,
      cache: this.cache,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.plan ? { plan: options.plan } : {}),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
      ...(options.rollups ? { rollups: options.rollups.built } : {}),
    });
  }

  /** Drops cached answers and freshness of these tables (a load changed them; the change feed calls this). */
  invalidateTables(tables: readonly string[]): void {
    this.cache.invalidateTables(tables);
    this.freshness.invalidateTables(tables);
  }

  /** Forgets every cached answer and freshness (tests that count statements from a cold start). */
  clearCaches(): void {
    this.cache.clear();
    this.responses.clear();
    this.freshness.clear();
  }

  teams(principal: Principal): string[] {
    return visibleTeams(principal, this.project.teams);
  }

  model(principal: Principal, id: string): Model {
    const teams = this.teams(principal);
    const model = this.project.models.get(id);
    if (model && teams.includes(model.team)) return model;
    const team = id.includes('.') ? id.slice(0, id.indexOf('.')) : undefined;
    // A team the key may not read is named as such (teams are not secret; their models are): the
    // message tells the user to ask for another key rather than to look for a typo.
    if (team !== undefined && this.project.teams.includes(team) && !teams.includes(team)) {
      throw new UserError('FORBIDDEN', `this API key cannot read team ${team}; it reads: ${teams.join(', ') || '(no team)'}`);
    }
    const known = [...this.project.models.values()].filter((m) => teams.includes(m.team)).map((m) => m.id).sort();
    throw new UserError('UNKNOWN_MODEL', `no model named "${id}"; expected one of: ${known.join(', ') || '(none visible to this key)'}`);
  }

  toQuery(principal: Principal, input: SemanticQueryInput): SemanticQuery {
    return inputToQuery(this.model(principal, input.model).id, input, this.limits);
  }

  async answer(principal: Principal, query: SemanticQuery): Promise<Answer> {
    const model = this.model(principal, query.model);
    // One row past the limit tells whether the limit cut the answer, at no extra statement.
    const planned = this.runner.plan({ ...query, limit: query.limit + 1 });
    const result = await this.runner.runPlanned(model.id, planned);
    // After the answer, not beside it: a question that fails (a timeout, a lock) leaves no statement of
    // ours behind in the warehouse; freshness is read once per table per load, then known.
    const lastLoadedAt = await this.freshness.ofModel(model);
    const hasMore = result.rows.length > query.limit;
    const normalise = normaliser(planned.columns);
    const rows = (hasMore ? result.rows.slice(0, query.limit) : result.rows).map(normalise);
    return {
      query,
      columns: describeColumns(model, this.project, planned),
      rows,
      hasMore,
      cacheHit: result.cacheHit,
      computedAt: result.computedAt,
      lastLoadedAt,
      ...rollupOf(model, planned, this.rollups !== undefined),
      tables: model.table && !planned.tables.includes(model.table) ? [...planned.tables, model.table] : planned.tables,
    };
  }

  async count(principal: Principal, query: SemanticQuery): Promise<number> {
    this.model(principal, query.model);
    const planned = this.runner.plan(query, { unbounded: true });
    const d = this.warehouse.dialect;
    const rows = await this.runner.cachedQuery(`select count(*) as ${d.quoteIdent('n')} from (${planned.sql}) ${d.quoteIdent('_counted')}`, planned.params, planned.tables);
    return toNumber(rows[0]?.n) ?? 0;
  }

  async stream(principal: Principal, query: SemanticQuery, options: { signal?: AbortSignal; batchSize?: number } = {}): Promise<AnswerStream> {
    const model = this.model(principal, query.model);
    const planned = this.runner.plan(query, { unbounded: true });
    const normalise = normaliser(planned.columns);
    const source = this.warehouse.stream(planned.sql, planned.params, {
      batchSize: options.batchSize ?? 10_000,
      // An export reads as long as it needs: its size, not a slow statement, decides its duration.
      timeoutMs: 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    async function* batches(): AsyncIterable<Row[]> {
      for await (const batch of source) yield batch.map(normalise);
    }
    return { query, columns: describeColumns(model, this.project, planned), lastLoadedAt: await this.freshness.ofModel(model), batches: batches() };
  }

  canUnload(): boolean {
    return typeof this.warehouse.unload === 'function';
  }

  async unload(principal: Principal, query: SemanticQuery, options: { prefix: string; headerOf: (column: ServedColumn) => string; signal?: AbortSignal }): Promise<UnloadedAnswer> {
    const model = this.model(principal, query.model);
    const unload = this.warehouse.unload?.bind(this.warehouse);
    if (!unload) throw new UserError('NOT_AVAILABLE', `the ${this.warehouse.dialect.name} warehouse cannot write a result to the object store itself (only Redshift's UNLOAD does)`);
    const planned = this.runner.plan(query, { unbounded: true });
    const columns = describeColumns(model, this.project, planned);
    const kindOf = (c: ServedColumn): UnloadColumnKind => (c.type === 'string' ? 'text' : c.type === 'boolean' ? 'boolean' : c.type === 'timestamp' ? 'timestamp' : 'plain');
    const result = await unload({
      sql: planned.sql,
      params: planned.params,
      columns: columns.map((c) => ({ name: c.key, header: options.headerOf(c), kind: kindOf(c) })),
      order: planned.order,
      prefix: options.prefix,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { query, columns, rows: result.rows, keys: result.keys };
  }

  async catalog(principal: Principal, options: { freshness?: boolean } = {}): Promise<ServedCatalog> {
    const teams = new Set(this.teams(principal));
    const catalog = describeCatalog(this.project);
    const visible = catalog.teams.filter((t) => teams.has(t.name) && t.models.length > 0);
    return {
      teams: await Promise.all(
        visible.map(async (t) => ({
          ...t,
          models:
            options.freshness === false
              ? t.models
              : await Promise.all(t.models.map(async (m) => ({ ...m, lastLoadedAt: await this.lastLoadedAt(this.project.models.get(m.id) as Model) }))),
        })),
      ),
    };
  }

  lastLoadedAt(model: Model): Promise<string | null> {
    return this.freshness.ofModel(model);
  }

  async rollupRefreshedAt(id: string): Promise<string | null> {
    if (!this.rollups) return null;
    return (await this.rollups.refreshedAt()).get(id) ?? null;
  }
}

/** Which rollup answered, or why none did. */
function rollupOf(model: Model, planned: PlannedQuery, enabled: boolean): Pick<Answer, 'rollup' | 'rollupReason'> {
  if (planned.rollup !== undefined) return { rollup: planned.rollup };
  if (!model.rollups?.length) return { rollup: null, rollupReason: 'no rollups are declared' };
  return { rollup: null, rollupReason: planned.rollupReason ?? (enabled ? 'no rollup answers this question' : 'rollups are not kept by this process') };
}
