/**
 * Turns the typed `where`, `having` and `orderBy` arguments of a model field into the filters and
 * ordering of a SemanticQuery. GraphQL has already checked the shapes and scalar types; what is left
 * is what the schema cannot say (one member per orderBy entry, no explicit nulls).
 */
import { UserError } from '../errors.js';
import type { FilterNode, FilterOperator, OrderBy, TimeGrain } from '../semantic/types.js';
import type { ModelBinding } from './model-binding.js';

/** Operator fields of the filter inputs (StringFilter, NumberFilter, TimeFilter, BooleanFilter). */
const OPERATORS: Record<string, FilterOperator> = {
  equals: 'EQUALS',
  notEquals: 'NOT_EQUALS',
  in: 'IN',
  notIn: 'NOT_IN',
  contains: 'CONTAINS',
  startsWith: 'STARTS_WITH',
  gt: 'GT',
  gte: 'GTE',
  lt: 'LT',
  lte: 'LTE',
  inDateRange: 'IN_DATE_RANGE',
};

type Scalar = string | number | boolean;
type InputObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is InputObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Filters of one member's filter input (`{ gte: "2026-01-01", lt: "2026-04-01" }`), AND-ed. */
function memberFilters(member: string, input: unknown, path: string): FilterNode[] {
  if (!isObject(input)) throw new UserError('BAD_USER_INPUT', `${path}: expected a filter object such as { equals: … }`);
  const out: FilterNode[] = [];
  for (const [op, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (value === null) {
      throw new UserError('BAD_USER_INPUT', `${path}.${op}: null is not a value to compare with; use isNull: true to match missing values`);
    }
    if (op === 'isNull') {
      out.push({ member, operator: value === true ? 'IS_NULL' : 'IS_NOT_NULL' });
      continue;
    }
    const operator = OPERATORS[op];
    if (!operator) throw new UserError('BAD_USER_INPUT', `${path}.${op}: unknown operator`);
    const values = (Array.isArray(value) ? value : [value]) as Scalar[];
    out.push({ member, operator, values });
  }
  return out;
}

function groupList(key: 'AND' | 'OR', value: unknown, path: string, convert: (item: InputObject, path: string) => FilterNode[]): FilterNode[] {
  if (value === null) throw new UserError('BAD_USER_INPUT', `${path}.${key}: expected a list of conditions, got null`);
  const items = (Array.isArray(value) ? value : [value]) as unknown[];
  const groups = items.map((item, i) => {
    if (!isObject(item)) throw new UserError('BAD_USER_INPUT', `${path}.${key}[${i}]: expected an object of conditions`);
    return { and: convert(item, `${path}.${key}[${i}]`) };
  });
  if (key === 'AND') return groups.flatMap((g) => g.and);
  return groups.length === 0 ? [] : [{ or: groups }];
}

/** Converts a `where` argument (dimensions, joined dimensions, AND, OR) to filters combined with AND. */
export function whereToFilters(binding: ModelBinding, where: unknown, path = 'where'): FilterNode[] {
  if (where === undefined || where === null) return [];
  if (!isObject(where)) throw new UserError('BAD_USER_INPUT', `${path}: expected an object of conditions`);
  const out: FilterNode[] = [];
  for (const [field, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (field === 'AND' || field === 'OR') {
      out.push(...groupList(field, value, path, (item, p) => whereToFilters(binding, item, p)));
      continue;
    }
    if (value === null) throw new UserError('BAD_USER_INPUT', `${path}.${field}: expected a filter object, got null`);
    const dimension = binding.dimensions.get(field);
    if (dimension) {
      out.push(...memberFilters(dimension.name, value, `${path}.${field}`));
      continue;
    }
    const join = binding.joins.get(field);
    if (join && isObject(value)) {
      for (const [joinedField, joinedValue] of Object.entries(value)) {
        if (joinedValue === undefined) continue;
        const joined = join.dimensions.get(joinedField);
        if (!joined) throw new UserError('BAD_USER_INPUT', `${path}.${field}.${joinedField}: "${join.target.id}" has no dimension of that name`);
        out.push(...memberFilters(`${join.join.name}.${joined.name}`, joinedValue, `${path}.${field}.${joinedField}`));
      }
      continue;
    }
    throw new UserError('BAD_USER_INPUT', `${path}.${field}: "${binding.model.id}" has no dimension of that name`);
  }
  return out;
}

/** Converts a `having` argument (measures, AND, OR) to filters on measures combined with AND. */
export function havingToFilters(binding: ModelBinding, having: unknown, path = 'having'): FilterNode[] {
  if (having === undefined || having === null) return [];
  if (!isObject(having)) throw new UserError('BAD_USER_INPUT', `${path}: expected an object of conditions`);
  const out: FilterNode[] = [];
  for (const [field, value] of Object.entries(having)) {
    if (value === undefined) continue;
    if (field === 'AND' || field === 'OR') {
      out.push(...groupList(field, value, path, (item, p) => havingToFilters(binding, item, p)));
      continue;
    }
    const measure = binding.measures.get(field);
    if (!measure) throw new UserError('BAD_USER_INPUT', `${path}.${field}: "${binding.model.id}" has no measure of that name`);
    out.push(...memberFilters(measure.name, value, `${path}.${field}`));
  }
  return out;
}

const DIRECTIONS = ['ASC', 'DESC'] as const;

function direction(value: unknown, path: string): 'ASC' | 'DESC' {
  if (typeof value === 'string' && (DIRECTIONS as readonly string[]).includes(value)) return value as 'ASC' | 'DESC';
  throw new UserError('BAD_USER_INPUT', `${path}: expected ASC or DESC`);
}

function onlyEntry(item: unknown, path: string): [string, unknown] {
  const entries = isObject(item) ? Object.entries(item).filter(([, v]) => v !== undefined && v !== null) : [];
  if (entries.length !== 1) {
    // GraphQL input objects do not keep the order their fields were written in, so an entry with two
    // members would sort in an order the client did not choose.
    throw new UserError('BAD_USER_INPUT', `${path}: give exactly one member per orderBy entry, e.g. [{ impressions: DESC }, { platform: ASC }]`);
  }
  return entries[0];
}

/**
 * Converts an `orderBy` list. `grainOf` tells at which grain a time dimension is selected, so that
 * ordering by `metricDate` follows the bucket the client sees.
 */
export function orderByToOrder(binding: ModelBinding, orderBy: unknown, grainOf: (member: string) => TimeGrain | undefined, path = 'orderBy'): OrderBy[] {
  if (orderBy === undefined || orderBy === null) return [];
  const items = (Array.isArray(orderBy) ? orderBy : [orderBy]) as unknown[];
  return items.map((item, i) => {
    const p = `${path}[${i}]`;
    const [field, value] = onlyEntry(item, p);
    const dimension = binding.dimensions.get(field);
    const measure = binding.measures.get(field);
    if (dimension || measure) {
      const member = (dimension ?? measure)!.name;
      const grain = dimension?.type === 'time' ? grainOf(member) : undefined;
      return { member, direction: direction(value, `${p}.${field}`), ...(grain ? { grain } : {}) };
    }
    const join = binding.joins.get(field);
    if (join) {
      const [joinedField, joinedValue] = onlyEntry(value, `${p}.${field}`);
      const joined = join.dimensions.get(joinedField);
      if (!joined) throw new UserError('BAD_USER_INPUT', `${p}.${field}.${joinedField}: "${join.target.id}" has no dimension of that name`);
      const member = `${join.join.name}.${joined.name}`;
      const grain = joined.type === 'time' ? grainOf(member) : undefined;
      return { member, direction: direction(joinedValue, `${p}.${field}.${joinedField}`), ...(grain ? { grain } : {}) };
    }
    throw new UserError('BAD_USER_INPUT', `${p}.${field}: "${binding.model.id}" has no member of that name`);
  });
}
