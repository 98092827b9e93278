/**
 * Rollups (docs/models.md, "Rollups"): what a rollup stores, the statement that builds it from the base
 * table, the stand-in model the planner plans over when a rollup answers, and which questions a rollup
 * can answer exactly.
 *
 * A rollup table has one row per group of its dimensions and time bucket (the time dimension truncated to
 * the rollup's grain), with the components each measure re-aggregates from: a sum or count → its sum or
 * count (summed again); min/max → their min/max; avg → a sum and a count; a ratio and a derived measure →
 * their parts; count_distinct → its value, served only at the rollup's exact groups; `last` → the sum of
 * its input at each group's latest time point in the bucket, beside that time point (`_lt`), so that the
 * latest point of any coarser period is found among the groups' own.
 */
import { createHash } from 'node:crypto';
import type { SqlDialect } from '../warehouse/port.js';
import { analyseDerived } from './derived-expr.js';
import { bindFilterValues } from './filter-values.js';
import { fromClause, joinClause, renderExpr } from './model-sql.js';
import { referencedTables } from './sql-tokens.js';
import type { Dimension, Filter, FilterNode, Join, Measure, Model, Rollup, SemanticProject, SemanticQuery, TimeGrain } from './types.js';

/** The schema rollup tables live in. */
export const ROLLUP_SCHEMA = 'sextant_rollups';

/** PostgreSQL's longest identifier. */
const MAX_IDENT = 63;

/** How a stored component re-aggregates (see Measure.reaggregate). */
export type ComponentKind = 'sum' | 'count' | 'min' | 'max' | 'value' | 'last';

/** One stored column of a measure's components. */
export interface RollupComponent {
  column: string;
  measure: Measure;
  kind: ComponentKind;
}

/** A stored dimension column. */
export interface RollupDimension {
  /** `platform` or `accounts.region`. */
  name: string;
  column: string;
  dimension: Dimension;
  join?: Join;
  joinedModel?: Model;
}

/** Everything about one rollup's storage. */
export interface RollupLayout {
  /** `team.model.rollup`. */
  id: string;
  model: Model;
  rollup: Rollup;
  /** `sextant_rollups.<team>__<model>__<rollup>`, within 63 characters. */
  table: string;
  dimensions: RollupDimension[];
  timeDimension: Dimension;
  /** Column of each group's latest time point, when a `last` measure is stored. */
  lastAt: string | undefined;
  components: RollupComponent[];
  /** Every measure the rollup can answer (the declared ones and their parts). */
  measures: ReadonlySet<string>;
  /** Measures answered only at the rollup's exact groups (count_distinct, and what is built on one). */
  exactOnly: ReadonlySet<string>;
  /** Tables a load into which changes the rollup: the model's and its joined models' (for stored joined dimensions). */
  baseTables: string[];
  /** Joined tables only: a load into one of these rebuilds the rollup whole. */
  joinedTables: string[];
}

/** `team.model.rollup`. */
export function rollupId(model: Model, rollup: Rollup): string {
  return `${model.id}.${rollup.name}`;
}

/** `sextant_rollups.<team>__<model>__<rollup>`, cut with a hash of the whole name when past 63 characters. */
export function rollupTableName(model: Model, rollup: Rollup): string {
  const full = `${model.team}__${model.name}__${rollup.name}`;
  if (full.length <= MAX_IDENT) return `${ROLLUP_SCHEMA}.${full}`;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${ROLLUP_SCHEMA}.${full.slice(0, MAX_IDENT - 9)}_${hash}`;
}

function tablesOf(model: Model): string[] {
  return model.table !== undefined ? [model.table] : referencedTables(model.sql ?? '');
}

function partsOf(m: Measure): string[] {
  if (m.type === 'ratio') return [m.numerator ?? '', m.denominator ?? ''];
  if (m.type === 'derived') return analyseDerived(m.sql ?? '').measures;
  return [];
}

/** The storage of one rollup of a validated model. */
export function rollupLayout(project: SemanticProject, model: Model, rollup: Rollup): RollupLayout {
  const byName = new Map(model.measures.map((m) => [m.name, m]));
  const measures = new Set<string>();
  const exactOnly = new Set<string>();
  const visit = (name: string): boolean => {
    const m = byName.get(name);
    if (!m) throw new Error(`measure ${name} is not in ${model.id}`);
    if (!measures.has(name)) {
      measures.add(name);
      let exact = m.type === 'count_distinct';
      for (const p of partsOf(m)) if (visit(p)) exact = true;
      if (exact) exactOnly.add(name);
    }
    return exactOnly.has(name);
  };
  rollup.measures.forEach(visit);

  const dimensions: RollupDimension[] = rollup.dimensions.map((name, i) => {
    const column = `_d${i}`;
    const dot = name.indexOf('.');
    if (dot < 0) {
      const dimension = model.dimensions.find((d) => d.name === name);
      if (!dimension) throw new Error(`dimension ${name} is not in ${model.id}`);
      return { name, column, dimension };
    }
    const join = model.joins.find((j) => j.name === name.slice(0, dot));
    const joinedModel = join ? project.models.get(join.model) : undefined;
    const dimension = joinedModel?.dimensions.find((d) => d.name === name.slice(dot + 1));
    if (!join || !joinedModel || !dimension) throw new Error(`dimension ${name} is not reachable from ${model.id}`);
    return { name, column, dimension, join, joinedModel };
  });
  const timeDimension = model.dimensions.find((d) => d.name === rollup.timeDimension);
  if (!timeDimension) throw new Error(`time dimension ${rollup.timeDimension} is not in ${model.id}`);

  const components: RollupComponent[] = [];
  let lastAt: string | undefined;
  model.measures.forEach((m, i) => {
    if (!measures.has(m.name)) return;
    const col = `_m${i}`;
    switch (m.type) {
      case 'count':
      case 'sum':
      case 'min':
      case 'max':
        components.push({ column: col, measure: m, kind: m.type });
        break;
      case 'avg':
        components.push({ column: `${col}_s`, measure: m, kind: 'sum' }, { column: `${col}_c`, measure: m, kind: 'count' });
        break;
      case 'count_distinct':
        components.push({ column: col, measure: m, kind: 'value' });
        break;
      case 'last':
        lastAt = '_lt';
        components.push({ column: col, measure: m, kind: 'last' });
        break;
      case 'ratio':
      case 'derived':
        break;
    }
  });

  const joinedTables = [...new Set(dimensions.flatMap((d) => (d.joinedModel ? tablesOf(d.joinedModel) : [])))];
  return {
    id: rollupId(model, rollup),
    model,
    rollup,
    table: rollupTableName(model, rollup),
    dimensions,
    timeDimension,
    lastAt,
    components,
    measures,
    exactOnly,
    baseTables: [...new Set([...tablesOf(model), ...joinedTables])],
    joinedTables,
  };
}

/** Every rollup of the project, laid out. */
export function projectRollups(project: SemanticProject): RollupLayout[] {
  return [...project.models.values()].flatMap((m) => (m.rollups ?? []).map((r) => rollupLayout(project, m, r)));
}

/** The stored columns, in table order. */
export function rollupColumns(layout: RollupLayout): string[] {
  return [...layout.dimensions.map((d) => d.column), '_t', ...(layout.lastAt ? [layout.lastAt] : []), ...layout.components.map((c) => c.column)];
}

/**
 * The statement that computes a rollup's rows from the base table: all of them, or (with `where`, a
 * condition over the model's raw time expression) those of the buckets it selects.
 * @param where SQL over `timeExpr` (the time dimension's expression over the model's table), parameters already placed
 */
export function rollupSelect(layout: RollupLayout, dialect: SqlDialect, where?: (timeExpr: string) => string): string {
  const q = (n: string): string => dialect.quoteIdent(n);
  const { model } = layout;
  const srcCols = new Map<string, string>();
  const src = (expr: string): string => {
    let alias = srcCols.get(expr);
    if (!alias) {
      alias = `_c${srcCols.size}`;
      srcCols.set(expr, alias);
    }
    return `${q('_s')}.${q(alias)}`;
  };
  const joins = new Map<string, { alias: string; join: Join; model: Model; cols: Map<string, string> }>();
  const dimExpr = (d: RollupDimension): string => {
    if (!d.join || !d.joinedModel) return src(renderExpr(d.dimension.sql, dialect));
    let j = joins.get(d.join.name);
    if (!j) {
      j = { alias: `_j${joins.size}`, join: d.join, model: d.joinedModel, cols: new Map() };
      joins.set(d.join.name, j);
    }
    let col = j.cols.get(d.dimension.name);
    if (!col) {
      col = `_c${j.cols.size}`;
      j.cols.set(d.dimension.name, col);
    }
    return `${q(j.alias)}.${q(col)}`;
  };

  const timeRaw = renderExpr(layout.timeDimension.sql, dialect);
  const time = src(timeRaw);
  const bucket = dialect.truncTime(layout.rollup.grain, time);
  const dims = layout.dimensions.map((d) => ({ d, expr: dimExpr(d) }));
  const inner: string[] = [...dims.map(({ d, expr }) => `${expr} as ${q(d.column)}`), `${bucket} as ${q('_t')}`];
  if (layout.lastAt) {
    inner.push(`${time} as ${q('_tr')}`);
    inner.push(`max(${time}) over (partition by ${[...dims.map((x) => x.expr), bucket].join(', ')}) as ${q('_w')}`);
  }
  const outer: string[] = [...layout.dimensions.map((d) => q(d.column)), q('_t')];
  if (layout.lastAt) outer.push(`max(${q('_tr')}) as ${q(layout.lastAt)}`);
  layout.components.forEach((c, i) => {
    const m = c.measure;
    const input = `_v${i}`;
    const needsInput = !(m.type === 'count' && m.sql === undefined);
    if (needsInput) inner.push(`${src(renderExpr(m.sql ?? m.name, dialect))} as ${q(input)}`);
    const v = q(input);
    const agg =
      c.kind === 'count' ? (needsInput ? `count(${v})` : 'count(*)')
      : c.kind === 'value' ? `count(distinct ${v})`
      : c.kind === 'last' ? `sum(case when ${q('_tr')} = ${q('_w')} then ${v} end)`
      : `${c.kind}(${v})`;
    outer.push(`${agg} as ${q(c.column)}`);
  });

  const joinSql = [...joins.values()].map((j) => joinClause(j.join, j.model, j.cols, j.alias, (local) => src(dialect.quoteIdent(local)), dialect)).join('');
  // Every source expression is registered by now (the joins' keys included).
  const srcList = [...srcCols].map(([expr, alias]) => `${expr} as ${q(alias)}`);
  const filter = where ? ` where ${where(timeRaw)}` : '';
  const from = `(select ${srcList.join(', ')} from ${fromClause(model, dialect)}${filter}) ${q('_s')}${joinSql}`;
  const groupBy = [...layout.dimensions.map((d) => q(d.column)), q('_t')].join(', ');
  return `select ${outer.join(', ')} from (select ${inner.join(', ')} from ${from}) ${q('_r')} group by ${groupBy}`;
}

/** A hash of what a rollup stores and how: a changed model or rollup gives another, and the table is rebuilt. */
export function rollupDefinitionHash(layout: RollupLayout, dialect: SqlDialect): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: 1, table: layout.table, columns: rollupColumns(layout), sql: rollupSelect(layout, dialect) }))
    .digest('hex');
}

/** The model a question is planned over when the rollup answers it: the rollup table, its columns as members. */
export function standInModel(layout: RollupLayout): Model {
  const { model } = layout;
  const dimensions: Dimension[] = [
    ...layout.dimensions.map((d) => ({ name: d.name, type: d.dimension.type, sql: d.column })),
    { name: layout.timeDimension.name, type: 'time' as const, sql: '_t' },
  ];
  const measures: Measure[] = [];
  const keep = (m: Measure): Partial<Measure> => ({ ...(m.format ? { format: m.format } : {}), ...(m.description ? { description: m.description } : {}) });
  for (const m of model.measures) {
    if (!layout.measures.has(m.name)) continue;
    const stored = layout.components.filter((c) => c.measure === m);
    switch (m.type) {
      case 'avg': {
        // Hidden parts: `__` never appears in a model's own names, so these cannot collide.
        const [s, c] = stored;
        measures.push(
          { name: m.name, type: 'ratio', numerator: `${m.name}__s`, denominator: `${m.name}__c`, ...keep(m) },
          { name: `${m.name}__s`, type: 'sum', sql: s.column, reaggregate: 'sum' },
          { name: `${m.name}__c`, type: 'count', sql: c.column, reaggregate: 'count' },
        );
        break;
      }
      case 'ratio':
      case 'derived':
        measures.push({ ...m });
        break;
      case 'last':
        measures.push({ name: m.name, type: 'last', sql: stored[0].column, timeDimension: layout.timeDimension.name, reaggregate: 'last', lastAt: layout.lastAt, ...keep(m) });
        break;
      default:
        measures.push({ name: m.name, type: m.type, sql: stored[0].column, reaggregate: stored[0].kind, ...keep(m) });
    }
  }
  return { id: model.id, team: model.team, name: model.name, table: layout.table, grain: [], dimensions, measures, joins: [], file: model.file };
}

const GRAIN_ORDER: readonly TimeGrain[] = ['hour', 'day', 'week', 'month', 'quarter', 'year'];

/** True when every bucket of `asked` is a whole number of buckets of `kept` (week and month: never). */
export function grainServes(kept: TimeGrain, asked: TimeGrain): boolean {
  if (kept === asked || kept === 'hour') return true;
  if (kept === 'day') return asked !== 'hour';
  if (kept === 'week') return false;
  return GRAIN_ORDER.indexOf(asked) > GRAIN_ORDER.indexOf(kept) && asked !== 'week';
}

/** True when `iso` (a date or a UTC timestamp) is the start of a bucket of `grain`. */
export function onBoundary(iso: string, grain: TimeGrain): boolean {
  const t = new Date(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00:00Z` : `${iso.replace(' ', 'T')}${/[Zz]|[+-]\d\d:?\d\d$/.test(iso) ? '' : 'Z'}`);
  if (Number.isNaN(t.getTime())) return false;
  if (t.getUTCMinutes() !== 0 || t.getUTCSeconds() !== 0 || t.getUTCMilliseconds() !== 0) return false;
  if (grain === 'hour') return true;
  if (t.getUTCHours() !== 0) return false;
  switch (grain) {
    case 'day':
      return true;
    case 'week':
      return t.getUTCDay() === 1;
    case 'month':
      return t.getUTCDate() === 1;
    case 'quarter':
      return t.getUTCDate() === 1 && t.getUTCMonth() % 3 === 0;
    case 'year':
      return t.getUTCDate() === 1 && t.getUTCMonth() === 0;
  }
}

function isFilter(node: FilterNode): node is Filter {
  return typeof (node as Filter).member === 'string';
}

function leaves(nodes: readonly FilterNode[]): Filter[] {
  return nodes.flatMap((n) => (isFilter(n) ? [n] : leaves([...(n.and ?? []), ...(n.or ?? [])])));
}

/** Why a rollup cannot answer a question exactly (every reason, most telling first), or none. */
export function rollupMisfits(layout: RollupLayout, query: SemanticQuery, now: Date): string[] {
  const reasons: string[] = [];
  const { rollup } = layout;
  const name = rollup.name;
  const time = rollup.timeDimension;
  const measureNames = new Set(layout.model.measures.map((m) => m.name));
  const stored = new Set(rollup.dimensions);

  const used = new Set(query.measures);
  for (const f of leaves(query.filters)) if (measureNames.has(f.member)) used.add(f.member);
  for (const o of query.orderBy) if (measureNames.has(o.member)) used.add(o.member);
  for (const m of used) if (!layout.measures.has(m)) reasons.push(`measure "${m}" is not in rollup ${name}`);

  const grains: TimeGrain[] = [];
  const asked = new Set<string>();
  for (const d of query.dimensions) {
    if (d.name === time) {
      const grain = d.grain ?? 'day';
      grains.push(grain);
      if (!grainServes(rollup.grain, grain)) {
        reasons.push(
          GRAIN_ORDER.indexOf(grain) <= GRAIN_ORDER.indexOf(rollup.grain)
            ? `rollup ${name} keeps ${time} by ${rollup.grain}; the question asks for it by ${grain}`
            : `rollup ${name} keeps ${time} by ${rollup.grain}, which does not add up to ${grain}s`,
        );
      }
    } else if (!stored.has(d.name)) reasons.push(`dimension "${d.name}" is not in rollup ${name}`);
    else asked.add(d.name);
  }

  for (const f of leaves(query.filters)) {
    if (measureNames.has(f.member)) continue;
    if (f.member === time) {
      if (f.operator === 'IS_NULL' || f.operator === 'IS_NOT_NULL') continue;
      if (f.operator !== 'IN_DATE_RANGE' && f.operator !== 'GTE' && f.operator !== 'LT') {
        reasons.push(`a ${f.operator} filter on ${time} can split rollup ${name}'s ${rollup.grain}s (only a date range, GTE and LT on ${rollup.grain} boundaries can be answered)`);
        continue;
      }
      let values: string[];
      try {
        values = bindFilterValues(f.member, 'time', f.operator, f.values, now).map((v) => String(v.value));
      } catch {
        reasons.push(`the filter on ${time} has values rollup ${name} cannot check`);
        continue;
      }
      const off = values.find((v) => !onBoundary(v, rollup.grain));
      if (off !== undefined) reasons.push(`the filter on ${time} at ${off} is not on a ${rollup.grain} boundary of rollup ${name}`);
      continue;
    }
    if (!stored.has(f.member)) reasons.push(`the filter on "${f.member}" is not on a dimension of rollup ${name}`);
  }

  const exact = [...used].filter((m) => layout.exactOnly.has(m));
  if (exact.length > 0) {
    const sameGroups = asked.size === stored.size && grains.includes(rollup.grain);
    if (!sameGroups) {
      const groups = [...rollup.dimensions, `${time} by ${rollup.grain}`].join(', ');
      reasons.push(`"${exact[0]}" counts distinct values, stored per ${groups} in rollup ${name}; the question groups otherwise`);
    }
  }
  return reasons;
}

/** The rollup that answers a question exactly (the smallest that fits), or why none can. */
export function chooseRollup(
  layouts: readonly RollupLayout[],
  query: SemanticQuery,
  ready: (layout: RollupLayout) => boolean,
  now: Date,
): { layout: RollupLayout } | { reason: string } {
  const fitting: RollupLayout[] = [];
  let closest: string[] | undefined;
  for (const layout of layouts) {
    const reasons = ready(layout) ? rollupMisfits(layout, query, now) : [`rollup ${layout.rollup.name} is not built`];
    if (reasons.length === 0) fitting.push(layout);
    else if (closest === undefined || reasons.length < closest.length) closest = reasons;
  }
  if (fitting.length > 0) {
    // Coarser grain first, then fewer dimensions: the fewest rows to read.
    fitting.sort(
      (a, b) => GRAIN_ORDER.indexOf(b.rollup.grain) - GRAIN_ORDER.indexOf(a.rollup.grain) || a.dimensions.length - b.dimensions.length,
    );
    return { layout: fitting[0] };
  }
  return { reason: closest?.[0] ?? 'no rollups are declared' };
}
