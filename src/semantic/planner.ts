/**
 * Plans a {@link SemanticQuery} into ONE SQL statement for a dialect. Identifiers come only from the
 * model (quoted by the dialect); every client value travels as a parameter. The statement's shape:
 *
 * ```sql
 * with "_base" as (                       -- one row per source row: dimensions, measure inputs, windows
 *   select … from (select <model exprs> from <table>) "_s"
 *   left join (select <key>, min(<dim>) … group by <key>) "_j0" on …   -- joins that can never fan out
 *   where <dimension filters>
 * ), "_agg" as (                          -- one row per group: every measure aggregated separately
 *   select "_d0", …, <aggregates> from "_base" group by "_d0", …
 * )
 * select "_d0" as "metric_date__month", … from "_agg" where <measure filters> order by … limit $n offset $m
 * ```
 *
 * Ratios divide two separately aggregated sums (never an average of row ratios), derived measures
 * substitute aggregated measures into their expression, and `last` keeps, per period, the rows at the
 * period's latest time point (a window over the filtered rows).
 */
import { UserError } from '../errors.js';
import type { ParamType, SqlDialect } from '../warehouse/port.js';
import {
  FILTER_OPERATORS,
  TIME_GRAINS,
  type ColumnType,
  type Dimension,
  type Filter,
  type FilterNode,
  type Join,
  type Measure,
  type Model,
  type PlannedQuery,
  type ResultColumn,
  type SemanticProject,
  type SemanticQuery,
  type TimeGrain,
} from './types.js';
import { bindFilterValues, type BoundValue } from './filter-values.js';
import { referencedTables } from './sql-tokens.js';
import { fromClause, joinClause, renderExpr } from './model-sql.js';
import { analyseDerived, type DerivedExpression } from './derived-expr.js';
import { chooseRollup, rollupLayout, standInModel, type RollupLayout } from './rollup-plan.js';

function bad(message: string): UserError {
  return new UserError('BAD_USER_INPUT', message);
}

/** A dimension of the model or of a joined model, as a query may address it. */
interface Addressable {
  /** `platform` or `accounts.region`. */
  name: string;
  dimension: Dimension;
  join?: Join;
  joinedModel?: Model;
}

/** A selected dimension. */
interface SelectedDim {
  member: Addressable;
  key: string;
  grain?: TimeGrain;
  alias: string;
}

/**
 * Derived expressions analysed per model SQL text. Only model SQL (a fixed set loaded at start-up) is
 * ever a key — never a client string — so the cache is bounded by the project's size.
 */
const derivedCache = new Map<string, DerivedExpression>();

function derived(sql: string): DerivedExpression {
  let out = derivedCache.get(sql);
  if (out === undefined) {
    out = analyseDerived(sql);
    derivedCache.set(sql, out);
  }
  return out;
}

/** What the planner needs to know about the members of one model. */
function addressable(model: Model, project: SemanticProject): Map<string, Addressable> {
  const out = new Map<string, Addressable>();
  for (const d of model.dimensions) out.set(d.name, { name: d.name, dimension: d });
  for (const j of model.joins) {
    const joined = project.models.get(j.model);
    if (!joined) continue;
    for (const d of joined.dimensions) out.set(`${j.name}.${d.name}`, { name: `${j.name}.${d.name}`, dimension: d, join: j, joinedModel: joined });
  }
  return out;
}

/** A join the query needs: its subquery alias and the joined dimensions it projects (name → column alias). */
interface JoinInUse {
  alias: string;
  join: Join;
  model: Model;
  cols: Map<string, string>;
}

/** Builds the statement; one instance per plan. */
class Planner {
  readonly params: unknown[] = [];
  private readonly q: (name: string) => string;
  /** Source expressions projected by the inner select: SQL text → alias. */
  private readonly srcCols = new Map<string, string>();
  /** Joins in use, by join name. */
  private readonly joins = new Map<string, JoinInUse>();
  /** Inputs of aggregating measures, by measure name → base alias. */
  private readonly inputs = new Map<string, string>();
  /** Base select items beyond the dimensions: `expr as alias`. */
  private readonly baseItems: string[] = [];
  /** Aggregated measures: name → agg alias, in the order they were needed. */
  private readonly aggMeasures = new Map<string, string>();
  private readonly aggItems: string[] = [];
  /** Windows of `last` measures, by time dimension name → [time alias, max alias]. */
  private readonly windows = new Map<string, [string, string]>();
  private readonly measures: Map<string, Measure>;
  readonly dims: SelectedDim[] = [];

  constructor(
    private readonly model: Model,
    private readonly dialect: SqlDialect,
    /** The instant relative date ranges are resolved at (UTC). */
    readonly now: Date,
  ) {
    this.q = (n) => dialect.quoteIdent(n);
    this.measures = new Map(model.measures.map((m) => [m.name, m]));
  }

  bind(v: BoundValue | { value: unknown; type?: ParamType }): string {
    this.params.push(v.value);
    return this.dialect.param(this.params.length, v.type);
  }

  /** Raw (untruncated) reference to a dimension, usable in the base select and its WHERE. */
  rawDim(a: Addressable): string {
    if (!a.join || !a.joinedModel) return `${this.q('_s')}.${this.q(this.src(renderExpr(a.dimension.sql, this.dialect)))}`;
    const j = this.useJoin(a.join, a.joinedModel);
    let col = j.cols.get(a.dimension.name);
    if (!col) {
      col = `_c${j.cols.size}`;
      j.cols.set(a.dimension.name, col);
    }
    return `${this.q(j.alias)}.${this.q(col)}`;
  }

  private src(expr: string): string {
    let alias = this.srcCols.get(expr);
    if (!alias) {
      alias = `_c${this.srcCols.size}`;
      this.srcCols.set(expr, alias);
    }
    return alias;
  }

  private useJoin(join: Join, model: Model): JoinInUse {
    let j = this.joins.get(join.name);
    if (!j) {
      j = { alias: `_j${this.joins.size}`, join, model, cols: new Map() };
      this.joins.set(join.name, j);
    }
    return j;
  }

  selectDim(member: Addressable, key: string, grain: TimeGrain | undefined): SelectedDim {
    const d: SelectedDim = { member, key, alias: `_d${this.dims.length}` };
    if (grain) d.grain = grain;
    this.dims.push(d);
    this.rawDim(member); // registers the source column (and join) before the statement is written
    return d;
  }

  dimExpr(d: SelectedDim): string {
    const raw = this.rawDim(d.member);
    return d.grain ? this.dialect.truncTime(d.grain, raw) : raw;
  }

  /** Agg alias of a measure, planning it (and what it depends on) on first use. */
  measure(name: string): string {
    const existing = this.aggMeasures.get(name);
    if (existing) return existing;
    const expr = this.dialect.toFloat(this.aggregate(name));
    const alias = `_m${this.aggMeasures.size}`;
    this.aggMeasures.set(name, alias);
    this.aggItems.push(`${expr} as ${this.q(alias)}`);
    return alias;
  }

  /** The aggregate expression of a measure over `_base`. */
  private aggregate(name: string): string {
    const m = this.measures.get(name);
    if (!m) throw new Error(`measure ${name} is not in model ${this.model.id}`);
    const input = (): string => this.q(this.input(m));
    if (m.reaggregate !== undefined) return this.reaggregate(m, input);
    switch (m.type) {
      case 'count':
        return m.sql === undefined ? 'count(*)' : `count(${input()})`;
      case 'count_distinct':
        return `count(distinct ${input()})`;
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
        return `${m.type}(${input()})`;
      case 'last': {
        const [t, w] = this.window(m);
        return `sum(case when ${this.q(t)} = ${this.q(w)} then ${input()} end)`;
      }
      case 'ratio':
        return `${this.dialect.toFloat(this.aggregate(m.numerator ?? ''))} / nullif(${this.dialect.toFloat(this.aggregate(m.denominator ?? ''))}, 0)`;
      case 'derived':
        return `(${this.substitute(m.sql ?? '')})`;
    }
  }

  /** A measure of a rollup's stand-in model: its stored component re-aggregated (rollup-plan.ts). */
  private reaggregate(m: Measure, input: () => string): string {
    switch (m.reaggregate) {
      case 'count':
        // A count over no row is 0, where a sum of stored counts over no rollup row would be null.
        return `coalesce(sum(${input()}), 0)`;
      case 'value':
        // One rollup row per group of the question (the rollup's exact groups): its stored value.
        return `max(${input()})`;
      case 'last': {
        const [t, w] = this.window(m);
        return `sum(case when ${this.q(t)} = ${this.q(w)} then ${input()} end)`;
      }
      default:
        return `${m.reaggregate ?? 'sum'}(${input()})`;
    }
  }

  /** A derived expression with each measure name replaced by its aggregated value, as a float. */
  private substitute(sql: string): string {
    const expr = derived(sql);
    return expr.tokens
      .map((t) => {
        if (t.kind === 'comment') return ' ';
        if (!expr.references.has(t)) return t.text;
        return `(${this.dialect.toFloat(this.aggregate(t.text))})`;
      })
      .join('');
  }

  private input(m: Measure): string {
    let alias = this.inputs.get(m.name);
    if (!alias) {
      alias = `_v${this.inputs.size}`;
      this.inputs.set(m.name, alias);
      const src = `${this.q('_s')}.${this.q(this.src(renderExpr(m.sql ?? m.name, this.dialect)))}`;
      this.baseItems.push(`${src} as ${this.q(alias)}`);
    }
    return alias;
  }

  /**
   * The latest time point of each period for a `last` measure: the period is its time dimension
   * truncated to every grain the query selects it at (or the whole filtered range when not selected).
   */
  private window(m: Measure): [string, string] {
    const timeName = m.timeDimension ?? this.model.dimensions.find((d) => d.type === 'time')?.name;
    const timeDim = this.model.dimensions.find((d) => d.name === timeName);
    if (!timeDim) throw new Error(`measure ${m.name} of ${this.model.id} has no time dimension`);
    // A rollup keeps each group's latest time point in a column of its own; the periods are its time buckets.
    const windowKey = m.lastAt === undefined ? timeDim.name : `${timeDim.name}@${m.lastAt}`;
    const existing = this.windows.get(windowKey);
    if (existing) return existing;
    const n = this.windows.size;
    const aliases: [string, string] = [`_t${n}`, `_w${n}`];
    const raw = m.lastAt === undefined ? this.rawDim({ name: timeDim.name, dimension: timeDim }) : `${this.q('_s')}.${this.q(this.src(this.q(m.lastAt)))}`;
    const periods = this.dims.filter((d) => !d.member.join && d.member.dimension.name === timeDim.name).map((d) => this.dimExpr(d));
    const partition = periods.length > 0 ? `partition by ${periods.join(', ')}` : '';
    this.baseItems.push(`${raw} as ${this.q(aliases[0])}`);
    this.baseItems.push(`max(${raw}) over (${partition}) as ${this.q(aliases[1])}`);
    this.windows.set(windowKey, aliases);
    return aliases;
  }

  /** `dialect.contains` over a planned expression and placeholder. */
  contains(expr: string, placeholder: string): string {
    return this.dialect.contains(expr, placeholder);
  }

  /** `dialect.startsWith` over a planned expression and placeholder. */
  startsWith(expr: string, placeholder: string): string {
    return this.dialect.startsWith(expr, placeholder);
  }

  /** A quoted reference to an alias of `_agg`. */
  ref(alias: string): string {
    return this.q(alias);
  }

  /** The one statement. Everything it references was registered while the query was planned. */
  sql(where: string | undefined, having: string | undefined, outer: string[], order: string[], page: { limit: string; offset: string } | undefined): string {
    const q = this.q;
    const baseList = [...this.dims.map((d) => `${this.dimExpr(d)} as ${q(d.alias)}`), ...this.baseItems];
    if (baseList.length === 0) baseList.push(`1 as ${q('_one')}`);

    const joinClauses: string[] = [];
    for (const j of this.joins.values()) {
      joinClauses.push(joinClause(j.join, j.model, j.cols, j.alias, (local) => `${q('_s')}.${q(this.src(this.dialect.quoteIdent(local)))}`, this.dialect));
    }

    const srcList = [...this.srcCols].map(([expr, alias]) => `${expr} as ${q(alias)}`);
    if (srcList.length === 0) srcList.push(`1 as ${q('_one')}`);
    const from = `(select ${srcList.join(', ')} from ${fromClause(this.model, this.dialect)}) ${q('_s')}${joinClauses.join('')}`;
    const base = `select ${baseList.join(', ')} from ${from}${where ? ` where ${where}` : ''}`;
    const groupKeys = this.dims.map((d) => q(d.alias));
    const aggList = [...groupKeys, ...this.aggItems];
    if (aggList.length === 0) aggList.push(`1 as ${q('_one')}`);
    const agg = `select ${aggList.join(', ')} from ${q('_base')}${groupKeys.length > 0 ? ` group by ${groupKeys.join(', ')}` : ''}`;
    return (
      `with ${q('_base')} as (${base}), ${q('_agg')} as (${agg}) ` +
      `select ${outer.join(', ')} from ${q('_agg')}${having ? ` where ${having}` : ''} order by ${order.join(', ')}${page ? ` limit ${page.limit} offset ${page.offset}` : ''}`
    );
  }
}

/** Options of {@link planQuery}. */
export interface PlanOptions {
  /** Leaves out `limit` and `offset`: every row of the question, for counting and streaming (serving/). */
  unbounded?: boolean;
  /** The instant `IN_DATE_RANGE` filters are resolved at, in UTC (default: now). Tests fix it. */
  now?: Date;
  /**
   * The rollups that are built (`team.model.rollup`): the question is answered from the smallest of the
   * model's rollups that gives exactly the base table's answer (rollup-plan.ts). Absent: the base table.
   */
  rollups?: ReadonlySet<string>;
}

/** Rollup layouts and stand-in models per model, computed once (models are fixed at start-up). */
const layoutCache = new WeakMap<Model, RollupLayout[]>();
const standInCache = new WeakMap<RollupLayout, SemanticProject>();

/**
 * Plans one query for one dialect, from a built rollup when one answers it exactly (`options.rollups`),
 * else from the base table. Throws as {@link planBase}; a question is validated against the base model
 * first, so a rollup never changes what is accepted.
 */
export function planQuery(project: SemanticProject, query: SemanticQuery, dialect: SqlDialect, options: PlanOptions = {}): PlannedQuery {
  const base = planBase(project, query, dialect, options);
  const model = project.models.get(query.model);
  if (!options.rollups || !model?.rollups?.length) return base;
  let layouts = layoutCache.get(model);
  if (!layouts) {
    layouts = model.rollups.map((r) => rollupLayout(project, model, r));
    layoutCache.set(model, layouts);
  }
  const built = options.rollups;
  const choice = chooseRollup(layouts, query, (l) => built.has(l.id), options.now ?? new Date());
  if ('reason' in choice) return { ...base, rollupReason: choice.reason };
  let standIn = standInCache.get(choice.layout);
  if (!standIn) {
    standIn = { models: new Map([[model.id, standInModel(choice.layout)]]), teams: project.teams };
    standInCache.set(choice.layout, standIn);
  }
  const fromRollup = planBase(standIn, query, dialect, { ...options, rollups: undefined });
  // Loads of the base tables invalidate the answer and tell its freshness, as if the base table had answered.
  return { ...fromRollup, tables: base.tables, rollup: choice.layout.id };
}

/**
 * Plans one query for one dialect. Throws `UNKNOWN_MODEL` for a model that does not exist and
 * `BAD_USER_INPUT` for anything else the query gets wrong (unknown members, a grain on a non-time
 * dimension, an operator that does not fit, a bad value, limits), always saying what is expected.
 */
function planBase(project: SemanticProject, query: SemanticQuery, dialect: SqlDialect, options: PlanOptions): PlannedQuery {
  const model = project.models.get(query.model);
  if (!model) {
    throw new UserError('UNKNOWN_MODEL', `unknown model "${query.model}"; models: ${[...project.models.keys()].join(', ') || '(none)'}`);
  }
  for (const [what, v] of [['limit', query.limit], ['offset', query.offset]] as const) {
    if (!Number.isInteger(v) || v < 0) throw bad(`${what} must be a whole number of 0 or more, got ${String(v)}`);
  }
  const members = addressable(model, project);
  const measureNames = new Set(model.measures.map((m) => m.name));
  const p = new Planner(model, dialect, options.now ?? new Date());
  const validDims = (): string => [...members.keys()].join(', ') || '(none)';
  const validMeasures = (): string => [...measureNames].join(', ') || '(none)';

  if (query.measures.length === 0 && query.dimensions.length === 0) {
    throw bad(`select at least one measure or dimension of ${model.id}; measures: ${validMeasures()}; dimensions: ${validDims()}`);
  }

  // Dimensions, each with a result key that is unique and stable.
  const keys = new Set<string>();
  for (const ref of query.dimensions) {
    const member = members.get(ref.name);
    if (!member) {
      const hint = measureNames.has(ref.name) ? ` ("${ref.name}" is a measure)` : '';
      throw bad(`unknown dimension "${ref.name}" in ${model.id}${hint}; dimensions: ${validDims()}`);
    }
    let grain: TimeGrain | undefined;
    if (ref.grain !== undefined) {
      if (!(TIME_GRAINS as readonly string[]).includes(ref.grain)) throw bad(`unknown grain "${String(ref.grain)}" for "${ref.name}"; grains: ${TIME_GRAINS.join(', ')}`);
      if (member.dimension.type !== 'time') throw bad(`"${ref.name}" is a ${member.dimension.type} dimension; only time dimensions take a grain`);
      grain = ref.grain;
    } else if (member.dimension.type === 'time') grain = 'day';
    const base = ref.name.replace('.', '__');
    const key = grain ? `${base}__${grain}` : base;
    if (keys.has(key)) throw bad(`dimension "${ref.name}"${grain ? ` at grain ${grain}` : ''} is selected twice`);
    keys.add(key);
    p.selectDim(member, key, grain);
  }

  // Measures: validated first, planned after the filters so that every window sees the selected grains.
  for (const name of query.measures) {
    if (!measureNames.has(name)) {
      const hint = members.has(name) ? ` ("${name}" is a dimension)` : '';
      throw bad(`unknown measure "${name}" in ${model.id}${hint}; measures: ${validMeasures()}`);
    }
    if (keys.has(name)) throw bad(`measure "${name}" is selected twice`);
    keys.add(name);
  }

  // Filters: dimension conditions go before aggregation (WHERE), measure conditions after (HAVING).
  const where: string[] = [];
  const having: string[] = [];
  for (const node of splitAnd(query.filters)) {
    const kind = classify(node, members, measureNames, model);
    if (kind === 'none') continue;
    if (kind === 'mixed') throw bad('an OR group cannot mix dimension and measure filters; split it into separate conditions');
    const sql = compileFilter(node, kind, p, members, model.id);
    if (sql) (kind === 'dimension' ? where : having).push(sql);
  }

  const measureAliases = query.measures.map((name) => p.measure(name));

  // Order: as asked, then deterministic tie-breaks on every selected dimension so offset paging is stable.
  const order: string[] = [];
  const orderAliases: Array<{ alias: string; direction: 'ASC' | 'DESC' }> = [];
  const ordered = new Set<string>();
  const push = (alias: string, dir: 'ASC' | 'DESC'): void => {
    if (ordered.has(alias)) return;
    ordered.add(alias);
    order.push(`${dialect.quoteIdent(alias)} ${dir} nulls last`);
    orderAliases.push({ alias, direction: dir });
  };
  for (const o of query.orderBy) {
    if (o.direction !== 'ASC' && o.direction !== 'DESC') throw bad(`order direction must be ASC or DESC, got ${String(o.direction)}`);
    if (measureNames.has(o.member)) {
      push(p.measure(o.member), o.direction);
      continue;
    }
    const member = members.get(o.member);
    if (!member) throw bad(`cannot order by unknown member "${o.member}"; measures: ${validMeasures()}; dimensions: ${validDims()}`);
    const candidates = p.dims.filter((d) => d.member.name === o.member);
    const chosen = o.grain === undefined ? candidates[0] : candidates.find((d) => d.grain === o.grain);
    if (!chosen) {
      const at = o.grain ? ` at grain ${o.grain}` : '';
      throw bad(`cannot order by "${o.member}"${at}: it is not selected${at}; order by a selected dimension or by a measure`);
    }
    push(chosen.alias, o.direction);
  }
  if (query.orderBy.length === 0) {
    const firstTime = p.dims.find((d) => d.member.dimension.type === 'time');
    if (firstTime) push(firstTime.alias, 'ASC');
    else if (measureAliases.length > 0) push(measureAliases[0], 'DESC');
  }
  for (const d of p.dims) push(d.alias, 'ASC');
  if (order.length === 0) order.push('1');

  const columns: ResultColumn[] = [];
  const outer: string[] = [];
  for (const d of p.dims) {
    const type: ColumnType = d.grain ? (d.grain === 'hour' ? 'timestamp' : 'date') : d.member.dimension.type === 'time' ? 'date' : (d.member.dimension.type as ColumnType);
    const col: ResultColumn = { name: d.member.name, key: d.key, kind: 'dimension', type };
    if (d.grain) col.grain = d.grain;
    columns.push(col);
    outer.push(`${dialect.quoteIdent(d.alias)} as ${dialect.quoteIdent(d.key)}`);
  }
  query.measures.forEach((name, i) => {
    const m = model.measures.find((x) => x.name === name);
    const col: ResultColumn = { name, key: name, kind: 'measure', type: 'number' };
    if (m?.format) col.format = m.format;
    columns.push(col);
    outer.push(`${dialect.quoteIdent(measureAliases[i])} as ${dialect.quoteIdent(name)}`);
  });

  const page = options.unbounded ? undefined : { limit: p.bind({ value: query.limit }), offset: p.bind({ value: query.offset }) };
  const sql = p.sql(and(where), and(having), outer, order, page);

  const tables = new Set<string>(model.table !== undefined ? [model.table] : referencedTables(model.sql ?? ''));
  for (const d of p.dims) if (d.member.joinedModel) addTables(tables, d.member.joinedModel);
  for (const j of joinedInFilters(query.filters, members)) addTables(tables, j);
  const keyOfAlias = new Map<string, string>([...p.dims.map((d) => [d.alias, d.key] as const), ...query.measures.map((name, i) => [measureAliases[i], name] as const)]);
  const resultOrder = orderAliases.map((o) => ({ key: keyOfAlias.get(o.alias) as string, direction: o.direction }));
  return { sql, params: p.params, columns, tables: [...tables], order: resultOrder };
}

function addTables(into: Set<string>, model: Model): void {
  for (const t of model.table !== undefined ? [model.table] : referencedTables(model.sql ?? '')) into.add(t);
}

function and(parts: string[]): string | undefined {
  return parts.length === 0 ? undefined : parts.join(' and ');
}

function isFilter(node: FilterNode): node is Filter {
  return typeof (node as Filter).member === 'string';
}

/** Top-level AND groups flattened, so that their dimension and measure conditions can be split. */
function splitAnd(nodes: readonly FilterNode[]): FilterNode[] {
  const out: FilterNode[] = [];
  for (const n of nodes) {
    if (isFilter(n)) out.push(n);
    else {
      out.push(...splitAnd(n.and ?? []));
      if (n.or !== undefined) out.push({ or: n.or });
    }
  }
  return out;
}

type FilterKind = 'dimension' | 'measure' | 'mixed' | 'none';

function classify(node: FilterNode, members: Map<string, Addressable>, measures: ReadonlySet<string>, model: Model): FilterKind {
  if (isFilter(node)) {
    if (measures.has(node.member)) return 'measure';
    if (members.has(node.member)) return 'dimension';
    throw bad(
      `cannot filter on unknown member "${node.member}" of ${model.id}; dimensions: ${[...members.keys()].join(', ') || '(none)'}; measures: ${[...measures].join(', ') || '(none)'}`,
    );
  }
  const kinds = new Set([...(node.and ?? []), ...(node.or ?? [])].map((c) => classify(c, members, measures, model)));
  kinds.delete('none');
  if (kinds.size === 0) return 'none';
  if (kinds.size > 1 || kinds.has('mixed')) return 'mixed';
  return [...kinds][0];
}

function compileFilter(node: FilterNode, kind: 'dimension' | 'measure', p: Planner, members: Map<string, Addressable>, modelId: string): string | undefined {
  if (!isFilter(node)) {
    const ands = (node.and ?? []).map((c) => compileFilter(c, kind, p, members, modelId)).filter((s): s is string => s !== undefined);
    const ors = (node.or ?? []).map((c) => compileFilter(c, kind, p, members, modelId)).filter((s): s is string => s !== undefined);
    const parts = [...ands];
    if (ors.length > 0) parts.push(`(${ors.join(' or ')})`);
    return parts.length === 0 ? undefined : `(${parts.join(' and ')})`;
  }
  if (!(FILTER_OPERATORS as readonly string[]).includes(node.operator)) {
    throw bad(`filter on "${node.member}": unknown operator ${JSON.stringify(node.operator)}; operators: ${FILTER_OPERATORS.join(', ')}`);
  }
  let expr: string;
  let values: BoundValue[];
  if (kind === 'measure') {
    values = bindFilterValues(node.member, 'measure', node.operator, node.values);
    expr = p.ref(p.measure(node.member));
  } else {
    const member = members.get(node.member);
    if (!member) throw new Error(`unclassified member ${node.member} in ${modelId}`);
    values = bindFilterValues(node.member, member.dimension.type, node.operator, node.values, p.now);
    expr = p.rawDim(member);
  }
  const ph = values.map((v) => p.bind(v));
  switch (node.operator) {
    case 'EQUALS':
      return `${expr} = ${ph[0]}`;
    case 'NOT_EQUALS':
      // A missing value is "not equal" to anything, as a user reading the filter expects.
      return `(${expr} <> ${ph[0]} or ${expr} is null)`;
    case 'IN':
      return `${expr} in (${ph.join(', ')})`;
    case 'NOT_IN':
      return `(${expr} not in (${ph.join(', ')}) or ${expr} is null)`;
    case 'CONTAINS':
      return `coalesce(${p.contains(expr, ph[0])}, false)`;
    case 'STARTS_WITH':
      return `coalesce(${p.startsWith(expr, ph[0])}, false)`;
    case 'GT':
      return `${expr} > ${ph[0]}`;
    case 'GTE':
      return `${expr} >= ${ph[0]}`;
    case 'LT':
      return `${expr} < ${ph[0]}`;
    case 'LTE':
      return `${expr} <= ${ph[0]}`;
    case 'IS_NULL':
      return `${expr} is null`;
    case 'IS_NOT_NULL':
      return `${expr} is not null`;
    case 'IN_DATE_RANGE':
      // Half-open, so that a timestamp late on the last day is in and midnight of the next day is out.
      return `(${expr} >= ${ph[0]} and ${expr} < ${ph[1]})`;
  }
}

function joinedInFilters(nodes: readonly FilterNode[], members: Map<string, Addressable>): Model[] {
  const out: Model[] = [];
  const walk = (n: FilterNode): void => {
    if (isFilter(n)) {
      const m = members.get(n.member)?.joinedModel;
      if (m) out.push(m);
    } else [...(n.and ?? []), ...(n.or ?? [])].forEach(walk);
  };
  nodes.forEach(walk);
  return out;
}
