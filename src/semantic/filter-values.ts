/**
 * Which filter operators fit which member type, and how client values are checked and converted before
 * they travel as parameters. Client values never become SQL text; these rules only decide whether a
 * value is acceptable and which type the parameter is cast to.
 */
import { UserError } from '../errors.js';
import type { ParamType } from '../warehouse/port.js';
import type { DimensionType, FilterOperator } from './types.js';
import { resolveDateRange } from './date-range.js';

/** The kind of member a filter applies to: a dimension's type, or `measure` for a having. */
export type FilterTarget = DimensionType | 'measure';

/** Operators each kind of member accepts (docs/graphql.md). The GraphQL schema generator uses the same table. */
export const OPERATORS_BY_TARGET = {
  string: ['EQUALS', 'NOT_EQUALS', 'IN', 'NOT_IN', 'CONTAINS', 'STARTS_WITH', 'IS_NULL', 'IS_NOT_NULL'],
  number: ['EQUALS', 'NOT_EQUALS', 'IN', 'NOT_IN', 'GT', 'GTE', 'LT', 'LTE', 'IS_NULL', 'IS_NOT_NULL'],
  time: ['EQUALS', 'GT', 'GTE', 'LT', 'LTE', 'IS_NULL', 'IS_NOT_NULL', 'IN_DATE_RANGE'],
  boolean: ['EQUALS'],
  measure: ['EQUALS', 'NOT_EQUALS', 'GT', 'GTE', 'LT', 'LTE', 'IS_NULL', 'IS_NOT_NULL'],
} as const satisfies Record<FilterTarget, readonly FilterOperator[]>;

/** Most values an IN / NOT_IN list may carry: beyond this a query is better served by a join or an upload. */
export const MAX_IN_VALUES = 1000;

/** Operators that take no value. */
export const NULL_OPERATORS: ReadonlySet<FilterOperator> = new Set(['IS_NULL', 'IS_NOT_NULL']);
/** Operators that take a list of values. */
export const LIST_OPERATORS: ReadonlySet<FilterOperator> = new Set(['IN', 'NOT_IN']);

/** A value ready to bind, with the type its placeholder is cast to. */
export interface BoundValue {
  value: string | number | boolean;
  type: ParamType;
}

type ClientValue = string | number | boolean;

function bad(message: string): UserError {
  return new UserError('BAD_USER_INPUT', message);
}

/**
 * Checks the operator against the member's type and the number of values against the operator, and
 * converts every value. Throws BAD_USER_INPUT saying what was wrong and what was expected.
 * IN_DATE_RANGE answers two DATE values, the range's `from` (included) and `to` (excluded), resolved
 * in UTC at `now`.
 */
export function bindFilterValues(
  member: string,
  target: FilterTarget,
  operator: FilterOperator,
  values: ReadonlyArray<ClientValue> | undefined,
  now: Date = new Date(),
): BoundValue[] {
  const allowed: readonly FilterOperator[] = OPERATORS_BY_TARGET[target];
  if (!allowed.includes(operator)) {
    const what = target === 'measure' ? 'a measure' : `a ${target} dimension`;
    throw bad(`filter on "${member}": operator ${String(operator)} does not apply to ${what}; use one of: ${allowed.join(', ')}`);
  }
  const list = values ?? [];
  if (operator === 'IN_DATE_RANGE') {
    const range = resolveDateRange(list, now, `filter on "${member}"`);
    return [
      { value: range.from, type: 'date' },
      { value: range.to, type: 'date' },
    ];
  }
  if (NULL_OPERATORS.has(operator)) {
    if (list.length > 0) throw bad(`filter on "${member}": ${operator} takes no values, got ${list.length}`);
    return [];
  }
  if (LIST_OPERATORS.has(operator)) {
    if (list.length === 0) throw bad(`filter on "${member}": ${operator} needs at least one value`);
    if (list.length > MAX_IN_VALUES) throw bad(`filter on "${member}": ${operator} takes at most ${MAX_IN_VALUES} values, got ${list.length}`);
  } else if (list.length !== 1) {
    throw bad(`filter on "${member}": ${operator} takes exactly one value, got ${list.length}`);
  }
  return list.map((v) => bindValue(member, target, v));
}

function bindValue(member: string, target: FilterTarget, v: ClientValue): BoundValue {
  switch (target) {
    case 'string':
      // PostgreSQL text cannot hold U+0000 (it fails the statement), so no stored value can match one: refuse it alike on every dialect.
      if (typeof v === 'string' && v.includes('\u0000')) throw bad(`filter on "${member}": a value may not contain the NUL character (U+0000)`);
      if (typeof v === 'string') return { value: v, type: 'string' };
      if (typeof v === 'number' && Number.isFinite(v)) return { value: String(v), type: 'string' };
      throw bad(`filter on "${member}": expected a string, got ${JSON.stringify(v)}`);
    case 'number':
    case 'measure': {
      const n = toNumber(v);
      if (n === undefined) throw bad(`filter on "${member}": expected a number, got ${JSON.stringify(v)}`);
      return { value: n, type: 'number' };
    }
    case 'boolean':
      if (typeof v === 'boolean') return { value: v, type: 'boolean' };
      if (v === 'true' || v === 'false') return { value: v === 'true', type: 'boolean' };
      throw bad(`filter on "${member}": expected true or false, got ${JSON.stringify(v)}`);
    case 'time': {
      const t = typeof v === 'string' ? parseIsoTime(v) : undefined;
      if (!t) {
        throw bad(`filter on "${member}": expected an ISO date (2026-01-31) or timestamp (2026-01-31T13:45:00Z), got ${JSON.stringify(v)}`);
      }
      return t;
    }
  }
}

function toNumber(v: ClientValue): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * An ISO date becomes a DATE parameter; an ISO timestamp a TIMESTAMP parameter in UTC (the warehouse
 * stores naive UTC timestamps), its offset applied. Impossible dates (2026-02-30) are refused.
 */
export function parseIsoTime(text: string): BoundValue | undefined {
  const d = DATE.exec(text);
  if (d) return validDate(+d[1], +d[2], +d[3]) ? { value: text, type: 'date' } : undefined;
  const t = TIMESTAMP.exec(text);
  if (!t) return undefined;
  const [, y, mo, da, h, mi, s = '00', frac = '', zone] = t;
  if (!validDate(+y, +mo, +da) || +h > 23 || +mi > 59 || +s > 59) return undefined;
  if (zone === undefined || zone === 'Z') return { value: `${y}-${mo}-${da} ${h}:${mi}:${s}${frac}`, type: 'timestamp' };
  const utc = new Date(`${y}-${mo}-${da}T${h}:${mi}:${s}${frac.slice(0, 4)}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  if (Number.isNaN(utc.getTime())) return undefined;
  return { value: utc.toISOString().replace('T', ' ').replace('Z', ''), type: 'timestamp' };
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}
