/**
 * An entity-set request's system query options → one semantic question and the columns to write.
 *
 * The set is a flat table whose rows are groups: `$select` (or `$apply=groupby`) names the dimension
 * columns the rows are grouped by and the measures computed for each group — through the semantic
 * layer, so a ratio is sum/sum at that grain. Without `$select` the rows are grouped by every
 * dimension. Coarser time columns of a dimension whose day column is selected are computed from the
 * day (same groups, one grouping column instead of five).
 */
import type { DimensionRef, FilterNode, OrderBy, SemanticQuery, TimeGrain } from '../../semantic/types.js';
import type { Row } from '../../serving/types.js';
import type { ServedColumn } from '../../serving/types.js';
import { type EdmEntitySet, type EdmProperty, type EdmType } from './entity-model.js';
import { badRequest, notImplemented } from './errors.js';
import { parseApply, parseFilter, parseOrderBy, parseSelect, type SelectItem } from './parse.js';
import { periodStart, translateFilter, type PropertyResolver } from './translate.js';

/** System query options this feed answers; any other `$option` gets 501. */
export const SUPPORTED_OPTIONS = ['$select', '$filter', '$orderby', '$top', '$skip', '$count', '$apply', '$skiptoken', '$format'] as const;

/** One column of the payload. */
export interface OutputColumn {
  name: string;
  type: EdmType;
  /** Reads the column's value from a result row. */
  read: (row: Row) => unknown;
}

/** What a request asks, before paging. */
export interface ODataPlan {
  /** The question without limit and offset. */
  query: Omit<SemanticQuery, 'limit' | 'offset'>;
  /** The `(a,b)` projection of the context URL, or undefined for the whole entity. */
  projection: string[] | undefined;
  /** Binds the columns to the answer's columns (their keys). */
  columns(answerColumns: readonly ServedColumn[]): OutputColumn[];
  count: boolean;
  top: number | undefined;
  skip: number;
}

function nonNegativeInt(option: string, raw: string): number {
  if (!/^\d{1,15}$/.test(raw.trim())) throw badRequest(option, `expected a whole number of 0 or more, got "${raw}"`);
  return Number(raw.trim());
}

interface Selected {
  prop: EdmProperty;
  /** Output name (the property, or an $apply alias). */
  name: string;
}

/** Builds the plan of a request on `set` from its query options (already checked against SUPPORTED_OPTIONS). */
export function planRequest(set: EdmEntitySet, options: ReadonlyMap<string, string>): ODataPlan {
  const get = (name: string) => options.get(name);
  const apply = get('$apply');
  const selectText = get('$select');
  if (apply !== undefined && selectText !== undefined) {
    throw notImplemented('$select', '$select together with $apply is not supported; name the columns in groupby and aggregate');
  }

  const selected: Selected[] = [];
  const aliases = new Map<string, EdmProperty>();
  let projection: string[] | undefined;

  const lookup = (item: SelectItem, option: string): EdmProperty => {
    const p = set.byName.get(item.name);
    if (!p) throw badRequest(option, `at position ${item.pos}: unknown property "${item.name}" of ${set.name}`);
    return p;
  };

  if (apply !== undefined) {
    const spec = parseApply(apply);
    for (const g of spec.groupBy) {
      const p = lookup(g, '$apply');
      if (p.role !== 'dimension') throw notImplemented('$apply', `at position ${g.pos}: only dimensions can be grouped by; "${g.name}" is ${p.role === 'key' ? 'the row key' : 'a measure'}`);
      if (!selected.some((s) => s.name === p.name)) selected.push({ prop: p, name: p.name });
    }
    for (const a of spec.aggregates) {
      const p = lookup({ name: a.property, pos: a.pos }, '$apply');
      if (p.role !== 'measure') throw notImplemented('$apply', `at position ${a.pos}: only measures can be aggregated; "${a.property}" is ${p.role === 'key' ? 'the row key' : 'a dimension'}`);
      checkAggregation(p, a.method, a.pos);
      if (set.byName.has(a.alias) || aliases.has(a.alias)) throw badRequest('$apply', `at position ${a.pos}: the alias "${a.alias}" is already a property name`);
      aliases.set(a.alias, p);
      selected.push({ prop: p, name: a.alias });
    }
    projection = selected.map((s) => s.name);
  } else if (selectText !== undefined) {
    const items = parseSelect(selectText);
    if (items.some((i) => i.name === '*')) {
      for (const p of set.properties) selected.push({ prop: p, name: p.name });
    } else {
      for (const item of items) {
        const p = lookup(item, '$select');
        if (!selected.some((s) => s.name === p.name)) selected.push({ prop: p, name: p.name });
      }
      projection = selected.map((s) => s.name);
    }
  } else {
    for (const p of set.properties) selected.push({ prop: p, name: p.name });
  }

  // Dimensions to ask for: per time member, the day when its day column is selected (coarser ones are
  // computed from it), else each selected grain.
  const dims: DimensionRef[] = [];
  const dimKey = (member: string, grain?: TimeGrain) => `${member}@${grain ?? ''}`;
  const asked = new Set<string>();
  const dimSelected = selected.filter((s) => s.prop.role === 'dimension');
  const dayMembers = new Set(dimSelected.filter((s) => s.prop.grain === 'day').map((s) => s.prop.member as string));
  const queriedGrain = (p: EdmProperty): TimeGrain | undefined => (p.grain === undefined ? undefined : dayMembers.has(p.member as string) ? 'day' : p.grain);
  for (const s of dimSelected) {
    const grain = queriedGrain(s.prop);
    const k = dimKey(s.prop.member as string, grain);
    if (asked.has(k)) continue;
    asked.add(k);
    dims.push(grain ? { name: s.prop.member as string, grain } : { name: s.prop.member as string });
  }
  const measures = [...new Set(selected.filter((s) => s.prop.role === 'measure').map((s) => s.prop.member as string))];
  if (dims.length === 0 && measures.length === 0) {
    throw badRequest(selectText !== undefined ? '$select' : '$apply', 'select at least one dimension or measure (the row key alone is no question)');
  }

  // $filter and $orderby refer to the set's properties, or after $apply to its columns and aliases.
  const resolve: PropertyResolver = (name) => {
    if (apply !== undefined) return aliases.get(name) ?? selected.find((s) => s.name === name)?.prop;
    return set.byName.get(name);
  };
  let filters: FilterNode[] = [];
  const filterText = get('$filter');
  if (filterText !== undefined) {
    const anchor = set.properties.find((p) => p.role === 'dimension' && p.dimensionType !== 'boolean') ?? set.properties.find((p) => p.role === 'measure');
    filters = translateFilter(parseFilter(filterText), resolve, anchor as EdmProperty);
  }

  const orderBy: OrderBy[] = [];
  const orderText = get('$orderby');
  const pushOrder = (o: OrderBy) => {
    if (!orderBy.some((x) => x.member === o.member && x.grain === o.grain)) orderBy.push(o);
  };
  if (orderText !== undefined) {
    for (const item of parseOrderBy(orderText)) {
      const p = resolve(item.name);
      if (!p) throw badRequest('$orderby', `at position ${item.pos}: unknown property "${item.name}"`);
      if (p.role === 'key') {
        for (const d of dims) pushOrder({ member: d.name, ...(d.grain ? { grain: d.grain } : {}), direction: item.direction });
      } else if (p.role === 'measure') {
        pushOrder({ member: p.member as string, direction: item.direction });
      } else {
        const grain = queriedGrain(p);
        if (!asked.has(dimKey(p.member as string, grain))) {
          throw badRequest('$orderby', `at position ${item.pos}: "${item.name}" is not among the selected columns, so the rows have no single value of it; select it or order by a selected column`);
        }
        pushOrder({ member: p.member as string, ...(grain ? { grain } : {}), direction: item.direction });
      }
    }
  }
  // Stable paging: the rows are ordered by every grouped column after what the client asked.
  for (const d of dims) pushOrder({ member: d.name, ...(d.grain ? { grain: d.grain } : {}), direction: 'ASC' });

  const topText = get('$top');
  const skipText = get('$skip');
  const countText = get('$count');
  if (countText !== undefined && countText !== 'true' && countText !== 'false') throw badRequest('$count', `expected true or false, got "${countText}"`);

  return {
    query: { model: set.modelId, measures, dimensions: dims, filters, orderBy },
    projection,
    count: countText === 'true',
    top: topText === undefined ? undefined : nonNegativeInt('$top', topText),
    skip: skipText === undefined ? 0 : nonNegativeInt('$skip', skipText),
    columns: (answerColumns) => bindColumns(selected, dims, answerColumns, queriedGrain),
  };
}

/**
 * Which `$apply` aggregations equal a measure recomputed at the grouping's grain: summing a sum or a
 * count, the min of a min, the max of a max. Anything else (a sum of ratios, of distinct counts, of
 * averages, of period-end balances) would be a different number than the measure's, so it is refused.
 */
function checkAggregation(p: EdmProperty, method: string, pos: number): void {
  const exact: Record<string, readonly string[]> = { sum: ['sum', 'count'], min: ['min'], max: ['max'] };
  const known = ['sum', 'min', 'max', 'average', 'countdistinct'];
  if (!known.includes(method)) throw badRequest('$apply', `at position ${pos}: unknown aggregation method "${method}"; methods: ${known.join(', ')}`);
  if (!(exact[method] ?? []).includes(p.measureType as string)) {
    throw notImplemented(
      '$apply',
      `at position ${pos}: "${p.name}" is a ${p.measureType} measure, and "${method}" over its groups would not equal the measure at the grouped grain; ` +
        `ask $select=<dimensions>,${p.name} instead (the measure computed at that grain)`,
    );
  }
}

function bindColumns(
  selected: readonly Selected[],
  dims: readonly DimensionRef[],
  answerColumns: readonly ServedColumn[],
  queriedGrain: (p: EdmProperty) => TimeGrain | undefined,
): OutputColumn[] {
  const keyOf = (member: string, kind: 'dimension' | 'measure', grain?: TimeGrain): string => {
    const c = answerColumns.find((x) => x.name === member && x.kind === kind && (kind === 'measure' || (x.grain ?? undefined) === grain));
    if (!c) throw new Error(`the answer has no column for ${member}${grain ? ` at ${grain}` : ''}`);
    return c.key;
  };
  const dimKeys = dims.map((d) => keyOf(d.name, 'dimension', d.grain));
  return selected.map(({ prop, name }) => {
    if (prop.role === 'key') {
      return { name, type: prop.type, read: (row: Row) => JSON.stringify(dimKeys.map((k) => row[k] ?? null), exactBigints) };
    }
    if (prop.role === 'measure') {
      const key = keyOf(prop.member as string, 'measure');
      return { name, type: prop.type, read: (row: Row) => row[key] };
    }
    const grain = queriedGrain(prop);
    const key = keyOf(prop.member as string, 'dimension', grain);
    if (prop.grain && grain !== prop.grain) {
      const target = prop.grain;
      return { name, type: prop.type, read: (row: Row) => (typeof row[key] === 'string' ? periodStart(row[key] as string, target) : row[key]) };
    }
    return { name, type: prop.type, read: (row: Row) => row[key] };
  });
}

/** JSON.stringify replacer: a bigint (a whole number past 2^53) as its digits. */
function exactBigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
