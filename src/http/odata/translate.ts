/**
 * `$filter` syntax trees → the semantic layer's filter tree ({@link FilterNode}), with OData's
 * meaning of null kept exactly:
 *
 * - `x eq null` is true for null; a comparison with one null side is false (OData URL conventions
 *   §5.1.1.1), so `not (x gt 5)` keeps rows where x is null. `not` is pushed down to the comparisons
 *   (De Morgan); the semantic `NOT_EQUALS` / `NOT_IN` already keep nulls, as OData's `ne` does.
 * - A time column at a grain coarser than the day (`metricDateMonth`) compares the period's first day;
 *   `metricDateMonth ge 2026-02-15` means "months from March on". Every such comparison, and the day
 *   column's own, becomes a range over the raw dimension (`>= first day`, `< next period`), which also
 *   holds for dimensions stored as timestamps.
 *
 * What the semantic operators cannot say exactly — `endswith`, a negated `contains`/`startswith`,
 * `ne` on a boolean (its nulls), ordering comparisons on text — is refused with 501, never answered
 * approximately.
 */
import type { Filter, FilterNode, TimeGrain } from '../../semantic/types.js';
import type { EdmProperty } from './entity-model.js';
import { badRequest, notImplemented } from './errors.js';
import type { CompareOp, Expr, Literal } from './parse.js';

/** True, false, or a condition. */
type Cond = FilterNode | boolean;

const T = '$filter';

/** Resolves a property name of the set (or an `$apply` alias) to what it means. */
export type PropertyResolver = (name: string) => EdmProperty | undefined;

function at(pos: number, message: string) {
  return badRequest(T, `at position ${pos}: ${message}`);
}
function unsupported(pos: number, message: string) {
  return notImplemented(T, `at position ${pos}: ${message}`);
}

function andOf(parts: Cond[]): Cond {
  const nodes: FilterNode[] = [];
  for (const p of parts) {
    if (p === false) return false;
    if (p === true) continue;
    if ('and' in p && p.and && !('or' in p && p.or)) nodes.push(...p.and);
    else nodes.push(p);
  }
  if (nodes.length === 0) return true;
  return nodes.length === 1 ? nodes[0] : { and: nodes };
}

function orOf(parts: Cond[]): Cond {
  const nodes: FilterNode[] = [];
  for (const p of parts) {
    if (p === true) return true;
    if (p === false) continue;
    if ('or' in p && p.or && !('and' in p && p.and)) nodes.push(...p.or);
    else nodes.push(p);
  }
  if (nodes.length === 0) return false;
  return nodes.length === 1 ? nodes[0] : { or: nodes };
}

function filter(member: string, operator: Filter['operator'], values?: ReadonlyArray<string | number | boolean>): Filter {
  return values === undefined ? { member, operator } : { member, operator, values };
}

const MIRROR: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
const OPPOSITE: Record<CompareOp, CompareOp> = { eq: 'ne', ne: 'eq', gt: 'le', ge: 'lt', lt: 'ge', le: 'gt' };
const SEMANTIC: Record<CompareOp, Filter['operator']> = { eq: 'EQUALS', ne: 'NOT_EQUALS', gt: 'GT', ge: 'GTE', lt: 'LT', le: 'LTE' };

/**
 * Translates a `$filter` tree. Returns the filters to AND into the semantic query, or `[]` for a
 * filter that is always true; an always-false filter becomes an impossible condition on `anchor`.
 */
export function translateFilter(expr: Expr, resolve: PropertyResolver, anchor: EdmProperty): FilterNode[] {
  const cond = translate(expr, false, resolve);
  if (cond === true) return [];
  if (cond === false) {
    const member = anchor.member as string;
    return [{ and: [filter(member, 'IS_NULL'), filter(member, 'IS_NOT_NULL')] }];
  }
  return [cond];
}

function translate(e: Expr, neg: boolean, resolve: PropertyResolver): Cond {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const l = translate(e.left, neg, resolve);
      const r = translate(e.right, neg, resolve);
      // not (a and b) = not a or not b; not (a or b) = not a and not b.
      return (e.kind === 'and') !== neg ? andOf([l, r]) : orOf([l, r]);
    }
    case 'not':
      return translate(e.operand, !neg, resolve);
    case 'literal':
      if (e.type === 'boolean') return e.value !== neg;
      throw at(e.pos, 'a filter must be a condition (true or false), not a lone value');
    case 'property': {
      const p = property(e.name, e.pos, resolve);
      if (p.dimensionType !== 'boolean') throw at(e.pos, `"${e.name}" is not a true/false property; compare it, as in ${e.name} eq …`);
      // A lone boolean is `x eq true`; its negation is `x eq false` (not(null) is null: the row is left out).
      return filter(p.member as string, 'EQUALS', [!neg]);
    }
    case 'call':
      return call(e, neg, resolve);
    case 'in':
      return inList(e, neg, resolve);
    case 'compare':
      return compare(e, neg, resolve);
  }
}

function property(name: string, pos: number, resolve: PropertyResolver): EdmProperty {
  const p = resolve(name);
  if (!p) throw at(pos, `unknown property "${name}"`);
  if (p.role === 'key') throw unsupported(pos, `"${name}" (the synthetic row key) cannot be filtered on; filter on the dimensions it is made of`);
  return p;
}

function call(e: Extract<Expr, { kind: 'call' }>, neg: boolean, resolve: PropertyResolver): Cond {
  if (e.name === 'contains' || e.name === 'startswith') {
    if (e.args.length !== 2) throw at(e.pos, `${e.name} takes two arguments (a property and a string), got ${e.args.length}`);
    const [target, value] = e.args;
    if (target.kind !== 'property') throw unsupported(target.pos, `${e.name} is supported on a property, not on an expression`);
    if (value.kind !== 'literal' || value.type !== 'string') throw at(value.pos, `the second argument of ${e.name} must be a string in quotes`);
    const p = property(target.name, target.pos, resolve);
    if (p.dimensionType !== 'string') throw at(target.pos, `${e.name} applies to text properties; "${target.name}" is ${p.role === 'measure' ? 'a measure' : `a ${p.dimensionType} dimension`}`);
    if (neg) throw unsupported(e.pos, `not ${e.name}(…) is not supported (the semantic layer has no negated text match); filter the rows in the client`);
    return filter(p.member as string, e.name === 'contains' ? 'CONTAINS' : 'STARTS_WITH', [value.value]);
  }
  if (e.name === 'endswith') throw unsupported(e.pos, 'endswith is not supported; use contains or startswith, or filter the rows in the client');
  throw unsupported(e.pos, `the function ${e.name} is not supported; functions: contains, startswith`);
}

function literalValue(p: EdmProperty, lit: Literal, name: string): string | number | boolean {
  const expected = (what: string) => at(lit.pos, `"${name}" is ${what}; got ${lit.type === 'string' ? `the string '${lit.value}'` : `the ${lit.type} ${String(lit.value)}`}`);
  if (p.role === 'measure' || p.dimensionType === 'number') {
    if (lit.type !== 'number') throw expected(p.role === 'measure' ? 'a measure: compare it with a number' : 'a number');
    if (!Number.isFinite(lit.value)) throw at(lit.pos, `"${lit.text}" cannot be compared with "${name}"; use a finite number`);
    if (/^-?\d+$/.test(lit.text) && !Number.isSafeInteger(lit.value)) {
      // Filter values travel as JS numbers: 9007199254740993 would match its neighbour 9007199254740992.
      throw unsupported(lit.pos, `${lit.text} is beyond ±2^53 and cannot be compared exactly; filter on another column or a range`);
    }
    return lit.value;
  }
  if (p.dimensionType === 'string') {
    if (lit.type !== 'string') throw expected("text: compare it with a string in quotes, as in 'facebook'");
    return lit.value;
  }
  if (p.dimensionType === 'boolean') {
    if (lit.type !== 'boolean') throw expected('true or false');
    return lit.value;
  }
  // time
  if (lit.type === 'date') {
    const [y, m, d] = parts(lit.value);
    if (iso(y, m, d) !== lit.value) throw at(lit.pos, `${lit.value} is not a date of the calendar`);
    return lit.value;
  }
  if (lit.type === 'datetime') {
    const d = new Date(lit.value);
    if (Number.isNaN(d.getTime())) throw at(lit.pos, `"${lit.value}" is not a valid date-time`);
    const iso = d.toISOString();
    if (!iso.endsWith('T00:00:00.000Z')) throw at(lit.pos, `"${name}" is a date (Edm.Date); compare it with a date such as ${iso.slice(0, 10)}, not a time of day`);
    return iso.slice(0, 10);
  }
  throw expected('a date: compare it with a date such as 2026-01-31');
}

function compare(e: Extract<Expr, { kind: 'compare' }>, neg: boolean, resolve: PropertyResolver): Cond {
  let { left, right, op } = e;
  if (left.kind === 'literal' && right.kind !== 'literal') {
    [left, right] = [right, left];
    op = MIRROR[op];
  }
  if (left.kind === 'call' && right.kind === 'literal' && right.type === 'boolean' && (op === 'eq' || op === 'ne')) {
    // contains(x,'a') eq true, as some clients write it.
    return call(left, neg !== ((op === 'eq') !== right.value), resolve);
  }
  if (left.kind !== 'property') {
    throw unsupported(left.pos, 'comparisons are supported between a property and a value; this one has no property on either side');
  }
  if (right.kind !== 'literal') {
    throw unsupported(right.pos, 'comparing two properties (or a property with an expression) is not supported; compare a property with a value');
  }
  const p = property(left.name, left.pos, resolve);
  const member = p.member as string;
  if (right.type === 'null') {
    if (op === 'eq' || op === 'ne') return filter(member, (op === 'eq') !== neg ? 'IS_NULL' : 'IS_NOT_NULL');
    return neg; // a comparison with null is false; its negation true
  }
  const value = literalValue(p, right, left.name);
  if (p.dimensionType === 'boolean') {
    if (op === 'eq' && !neg) return filter(member, 'EQUALS', [value]);
    if (op === 'ne' && neg) return filter(member, 'EQUALS', [value]);
    throw unsupported(e.pos, `"${left.name}" is true/false and only "eq" is supported on it (ne would have to keep its nulls, which the semantic layer cannot say); write ${left.name} eq ${String(!value)}`);
  }
  if (p.dimensionType === 'string' && op !== 'eq' && op !== 'ne') {
    throw unsupported(e.pos, `"${op}" on text ("${left.name}") is not supported; use eq, ne, in, contains or startswith`);
  }
  if (neg) {
    if (op === 'eq' || op === 'ne') return positive(p, OPPOSITE[op], value);
    // not (x gt v) is true where x is null as well.
    return orOf([positive(p, OPPOSITE[op], value), filter(member, 'IS_NULL')]);
  }
  return positive(p, op, value);
}

/** The condition `p op value` for a non-null value, as OData means it. */
function positive(p: EdmProperty, op: CompareOp, value: string | number | boolean): Cond {
  const member = p.member as string;
  if (p.dimensionType !== 'time') return filter(member, SEMANTIC[op], [value]);
  const grain = p.grain ?? 'day';
  const d = value as string;
  const start = periodStart(d, grain);
  const next = nextPeriod(start, grain);
  const isStart = start === d;
  const ge = (v: string) => filter(member, 'GTE', [v]);
  const lt = (v: string) => filter(member, 'LT', [v]);
  switch (op) {
    case 'eq':
      return isStart ? andOf([ge(start), lt(next)]) : false;
    case 'ne':
      return isStart ? orOf([lt(start), ge(next), filter(member, 'IS_NULL')]) : true;
    case 'gt':
      return ge(next);
    case 'ge':
      return ge(isStart ? start : next);
    case 'lt':
      return lt(isStart ? start : next);
    case 'le':
      return lt(next);
  }
}

function inList(e: Extract<Expr, { kind: 'in' }>, neg: boolean, resolve: PropertyResolver): Cond {
  if (e.left.kind !== 'property') throw unsupported(e.left.pos, '"in" is supported on a property only');
  const name = e.left.name;
  const p = property(name, e.left.pos, resolve);
  const member = p.member as string;
  const nulls = e.values.some((v) => v.type === 'null');
  const values = e.values.filter((v) => v.type !== 'null').map((v) => literalValue(p, v, name));
  const nullCond: Cond = nulls ? filter(member, neg ? 'IS_NOT_NULL' : 'IS_NULL') : neg;
  if (values.length === 0) return nullCond;
  let listCond: Cond;
  if (p.role === 'dimension' && (p.dimensionType === 'string' || p.dimensionType === 'number')) {
    listCond = filter(member, neg ? 'NOT_IN' : 'IN', values);
  } else {
    // x in (a, b) is x eq a or x eq b; its negation the conjunction of the negated comparisons.
    const each = values.map((v) => compare({ kind: 'compare', op: 'eq', left: e.left, right: literalFor(v, e.pos), pos: e.pos }, neg, resolve));
    listCond = neg ? andOf(each) : orOf(each);
  }
  return neg ? andOf([listCond, nullCond]) : orOf([listCond, nullCond]);
}

function literalFor(v: string | number | boolean, pos: number): Literal {
  if (typeof v === 'number') return { kind: 'literal', type: 'number', value: v, text: String(v), pos };
  if (typeof v === 'boolean') return { kind: 'literal', type: 'boolean', value: v, pos };
  return /^\d{4}-\d{2}-\d{2}$/.test(v) ? { kind: 'literal', type: 'date', value: v, pos } : { kind: 'literal', type: 'string', value: v, pos };
}

// ── periods ────────────────────────────────────────────────────────────────────────────────

function parts(date: string): [number, number, number] {
  return [Number(date.slice(0, 4)), Number(date.slice(5, 7)), Number(date.slice(8, 10))];
}
function iso(y: number, m: number, d: number): string {
  const t = new Date(Date.UTC(y, m - 1, d));
  t.setUTCFullYear(y, m - 1, d);
  return t.toISOString().slice(0, 10);
}

/** First day of the period of `date` (`YYYY-MM-DD`) at `grain`; weeks are ISO weeks (Monday). */
export function periodStart(date: string, grain: TimeGrain): string {
  const [y, m, d] = parts(date);
  switch (grain) {
    case 'hour':
    case 'day':
      return date.slice(0, 10);
    case 'week': {
      const t = new Date(Date.UTC(y, m - 1, d));
      t.setUTCFullYear(y, m - 1, d);
      const back = (t.getUTCDay() + 6) % 7;
      t.setUTCDate(t.getUTCDate() - back);
      return t.toISOString().slice(0, 10);
    }
    case 'month':
      return iso(y, m, 1);
    case 'quarter':
      return iso(y, Math.floor((m - 1) / 3) * 3 + 1, 1);
    case 'year':
      return iso(y, 1, 1);
  }
}

/** First day of the period after the one starting at `start`. */
export function nextPeriod(start: string, grain: TimeGrain): string {
  const [y, m, d] = parts(start);
  switch (grain) {
    case 'hour':
    case 'day':
      return iso(y, m, d + 1);
    case 'week':
      return iso(y, m, d + 7);
    case 'month':
      return iso(y, m + 1, 1);
    case 'quarter':
      return iso(y, m + 3, 1);
    case 'year':
      return iso(y + 1, 1, 1);
  }
}
