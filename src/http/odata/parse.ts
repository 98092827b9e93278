/**
 * Parsers of the OData system query options this feed answers: `$filter` (a recursive-descent parser
 * over {@link tokenize}'s tokens), `$select`, `$orderby` and `$apply` (groupby / aggregate). They
 * produce syntax trees only; what a name means is decided in `translate.ts` against the entity set.
 *
 * Precedence, loosest first (OData URL conventions §5.1.1): `or`, `and`, `not`, comparisons
 * (`eq ne gt ge lt le in`), then primaries (literals, properties, function calls, parentheses).
 * `not` takes the comparison that follows it, so `not platform eq 'x'` means `not (platform eq 'x')`.
 */
import { notImplemented } from './errors.js';
import { TokenStream, describe, tokenize, type Token } from './lexer.js';

export type Literal =
  | { kind: 'literal'; type: 'string'; value: string; pos: number }
  | { kind: 'literal'; type: 'number'; value: number; text: string; pos: number }
  | { kind: 'literal'; type: 'date'; value: string; pos: number }
  | { kind: 'literal'; type: 'datetime'; value: string; pos: number }
  | { kind: 'literal'; type: 'boolean'; value: boolean; pos: number }
  | { kind: 'literal'; type: 'null'; value: null; pos: number };

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type Expr =
  | Literal
  | { kind: 'property'; name: string; pos: number }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; pos: number }
  | { kind: 'in'; left: Expr; values: Literal[]; pos: number }
  | { kind: 'and' | 'or'; left: Expr; right: Expr; pos: number }
  | { kind: 'not'; operand: Expr; pos: number }
  | { kind: 'call'; name: string; args: Expr[]; pos: number };

const COMPARE_OPS: readonly string[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const UNSUPPORTED_BINARY: readonly string[] = ['add', 'sub', 'mul', 'div', 'divby', 'mod', 'has'];
/** Deepest nesting of parentheses and `not`: enough for any generated filter, bounded for the stack. */
const MAX_DEPTH = 100;

/** Parses a `$filter` value into its syntax tree. */
export function parseFilter(text: string): Expr {
  const s = new TokenStream(tokenize(text, '$filter'), '$filter');
  if (s.peek().kind === 'end') throw s.error(s.peek(), 'the filter is empty');
  const expr = parseOr(s, 0);
  const t = s.peek();
  if (t.kind !== 'end') {
    if (t.kind === 'identifier' && UNSUPPORTED_BINARY.includes(t.text)) {
      throw notImplemented('$filter', `at position ${t.pos}: the operator "${t.text}" is not supported; use eq ne gt ge lt le in, and or not, contains startswith`);
    }
    throw s.error(t, `expected "and", "or" or the end of the filter, found ${describe(t)}`);
  }
  return expr;
}

function parseOr(s: TokenStream, depth: number): Expr {
  let left = parseAnd(s, depth);
  while (s.peek().kind === 'identifier' && s.peek().text === 'or') {
    const pos = s.next().pos;
    left = { kind: 'or', left, right: parseAnd(s, depth), pos };
  }
  return left;
}

function parseAnd(s: TokenStream, depth: number): Expr {
  let left = parseNot(s, depth);
  while (s.peek().kind === 'identifier' && s.peek().text === 'and') {
    const pos = s.next().pos;
    left = { kind: 'and', left, right: parseNot(s, depth), pos };
  }
  return left;
}

function parseNot(s: TokenStream, depth: number): Expr {
  const t = s.peek();
  if (t.kind === 'identifier' && t.text === 'not' && s.peek(1).kind !== 'end' && s.peek(1).kind !== 'rparen') {
    if (depth >= MAX_DEPTH) throw s.error(t, `the filter nests deeper than ${MAX_DEPTH} levels`);
    s.next();
    return { kind: 'not', operand: parseNot(s, depth + 1), pos: t.pos };
  }
  return parseComparison(s, depth);
}

function parseComparison(s: TokenStream, depth: number): Expr {
  const left = parsePrimary(s, depth);
  const t = s.peek();
  if (t.kind === 'identifier' && COMPARE_OPS.includes(t.text)) {
    s.next();
    if (s.peek().kind === 'end') throw s.error(s.peek(), `expected a value after "${t.text}", found the end of the filter`);
    const right = parsePrimary(s, depth);
    return { kind: 'compare', op: t.text as CompareOp, left, right, pos: t.pos };
  }
  if (t.kind === 'identifier' && t.text === 'in') {
    s.next();
    const open = s.expect('lparen', 'a list in parentheses after "in", as in platform in (\'facebook\',\'x\')');
    const values: Literal[] = [];
    if (s.peek().kind === 'rparen') throw s.error(s.peek(), 'the list after "in" is empty');
    for (;;) {
      const v = parsePrimary(s, depth);
      if (v.kind !== 'literal') throw s.error({ kind: 'identifier', text: '', pos: v.pos }, 'the list after "in" may hold only literal values');
      values.push(v);
      if (s.accept('comma')) continue;
      s.expect('rparen', `"," or ")" closing the list opened at position ${open.pos}`);
      break;
    }
    return { kind: 'in', left, values, pos: t.pos };
  }
  return left;
}

function literalOf(t: Token): Literal | undefined {
  switch (t.kind) {
    case 'string':
      return { kind: 'literal', type: 'string', value: t.text, pos: t.pos };
    case 'number':
      return { kind: 'literal', type: 'number', value: Number(t.text.replace(/^(-?)INF$/, '$1Infinity')), text: t.text, pos: t.pos };
    case 'date':
      return { kind: 'literal', type: 'date', value: t.text, pos: t.pos };
    case 'datetime':
      return { kind: 'literal', type: 'datetime', value: t.text, pos: t.pos };
    case 'identifier':
      if (t.text === 'true' || t.text === 'false') return { kind: 'literal', type: 'boolean', value: t.text === 'true', pos: t.pos };
      if (t.text === 'null') return { kind: 'literal', type: 'null', value: null, pos: t.pos };
      return undefined;
    default:
      return undefined;
  }
}

function parsePrimary(s: TokenStream, depth: number): Expr {
  const t = s.peek();
  if (t.kind === 'lparen') {
    if (depth >= MAX_DEPTH) throw s.error(t, `the filter nests deeper than ${MAX_DEPTH} levels`);
    s.next();
    const inner = parseOr(s, depth + 1);
    s.expect('rparen', `")" closing the parenthesis opened at position ${t.pos}`);
    return inner;
  }
  const lit = literalOf(t);
  if (lit) {
    s.next();
    return lit;
  }
  if (t.kind === 'identifier') {
    s.next();
    if (s.peek().kind === 'lparen') {
      const args: Expr[] = [];
      s.next();
      if (!s.accept('rparen')) {
        for (;;) {
          args.push(parseOr(s, depth + 1));
          if (s.accept('comma')) continue;
          s.expect('rparen', `"," or ")" closing the arguments of ${t.text}`);
          break;
        }
      }
      return { kind: 'call', name: t.text, args, pos: t.pos };
    }
    if (s.peek().kind === 'slash') {
      throw notImplemented('$filter', `at position ${s.peek().pos}: paths (${t.text}/…) are not supported: the entity sets are flat, joined dimensions are properties of their own`);
    }
    return { kind: 'property', name: t.text, pos: t.pos };
  }
  throw s.error(t, `expected a property, a value or "(", found ${describe(t)}`);
}

/** One `$orderby` item. */
export interface OrderItem {
  name: string;
  direction: 'ASC' | 'DESC';
  pos: number;
}

/** Parses `$orderby`: `prop [asc|desc]` separated by commas. */
export function parseOrderBy(text: string): OrderItem[] {
  const s = new TokenStream(tokenize(text, '$orderby'), '$orderby');
  const items: OrderItem[] = [];
  for (;;) {
    const t = s.expect('identifier', 'a property name');
    if (s.peek().kind === 'slash' || s.peek().kind === 'lparen') {
      throw notImplemented('$orderby', `at position ${s.peek().pos}: only property names can be ordered by, not paths or expressions`);
    }
    let direction: 'ASC' | 'DESC' = 'ASC';
    if (s.acceptWord('desc')) direction = 'DESC';
    else s.acceptWord('asc');
    items.push({ name: t.text, direction, pos: t.pos });
    if (s.accept('comma')) continue;
    s.expectEnd();
    return items;
  }
}

/** One `$select` item: a property name, or `*`. */
export interface SelectItem {
  name: string;
  pos: number;
}

/** Parses `$select`: property names (or `*`) separated by commas. */
export function parseSelect(text: string): SelectItem[] {
  const s = new TokenStream(tokenize(text, '$select'), '$select');
  const items: SelectItem[] = [];
  for (;;) {
    const star = s.accept('star');
    const t = star ?? s.expect('identifier', 'a property name or *');
    if (s.peek().kind === 'slash' || s.peek().kind === 'lparen') {
      throw notImplemented('$select', `at position ${s.peek().pos}: only property names can be selected, not paths`);
    }
    items.push({ name: t.text, pos: t.pos });
    if (s.accept('comma')) continue;
    s.expectEnd();
    return items;
  }
}

/** `prop with method as alias` inside `aggregate(...)`. */
export interface AggregateItem {
  property: string;
  method: string;
  alias: string;
  pos: number;
}

/** `$apply` as this feed answers it: one `groupby((…)[,aggregate(…)])` or one `aggregate(…)`. */
export interface ApplySpec {
  groupBy: SelectItem[];
  aggregates: AggregateItem[];
}

/** Parses `$apply`; transformations other than one groupby/aggregate are refused with 501. */
export function parseApply(text: string): ApplySpec {
  const s = new TokenStream(tokenize(text, '$apply'), '$apply');
  const t = s.expect('identifier', 'a transformation: groupby(…) or aggregate(…)');
  let spec: ApplySpec;
  if (t.text === 'groupby') {
    s.expect('lparen', '"(" after groupby');
    s.expect('lparen', 'the list of grouping properties in parentheses, as in groupby((platform),…)');
    const groupBy: SelectItem[] = [];
    for (;;) {
      const p = s.expect('identifier', 'a property name');
      if (s.peek().kind === 'slash') throw notImplemented('$apply', `at position ${s.peek().pos}: grouping by paths is not supported`);
      groupBy.push({ name: p.text, pos: p.pos });
      if (s.accept('comma')) continue;
      s.expect('rparen', '"," or ")" closing the grouping properties');
      break;
    }
    let aggregates: AggregateItem[] = [];
    if (s.accept('comma')) {
      const a = s.expect('identifier', 'aggregate(…)');
      if (a.text !== 'aggregate') throw notImplemented('$apply', `at position ${a.pos}: only aggregate(…) may follow the grouping properties, not ${a.text}`);
      aggregates = parseAggregateArgs(s);
    }
    s.expect('rparen', '")" closing groupby');
    spec = { groupBy, aggregates };
  } else if (t.text === 'aggregate') {
    spec = { groupBy: [], aggregates: parseAggregateArgs(s) };
  } else {
    throw notImplemented('$apply', `at position ${t.pos}: the transformation "${t.text}" is not supported; use groupby((…),aggregate(…)) or aggregate(…), and $filter for filters`);
  }
  const after = s.peek();
  if (after.kind === 'slash') throw notImplemented('$apply', `at position ${after.pos}: only one transformation is supported; put filters in $filter`);
  s.expectEnd();
  return spec;
}

function parseAggregateArgs(s: TokenStream): AggregateItem[] {
  s.expect('lparen', '"(" after aggregate');
  const items: AggregateItem[] = [];
  for (;;) {
    const p = s.peek();
    if (p.kind === 'identifier' && p.text === '$count') {
      throw notImplemented('$apply', `at position ${p.pos}: $count as an aggregate is not supported; use $count=true or /$count`);
    }
    const prop = s.expect('identifier', 'a property to aggregate');
    if (s.peek().kind === 'lparen' || s.peek().kind === 'slash') {
      throw notImplemented('$apply', `at position ${s.peek().pos}: only properties can be aggregated, not expressions or paths`);
    }
    s.expectWord('with');
    const method = s.expect('identifier', 'an aggregation method (sum, min, max)');
    s.expectWord('as');
    const alias = s.expect('identifier', 'an alias');
    items.push({ property: prop.text, method: method.text, alias: alias.text, pos: prop.pos });
    if (s.accept('comma')) continue;
    s.expect('rparen', '"," or ")" closing aggregate');
    return items;
  }
}
