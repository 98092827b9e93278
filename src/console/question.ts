/**
 * A question as the console's builder holds it, and what it becomes: the `SemanticQueryInput` of the
 * generic `metrics` query, the GraphQL text to copy, and the `/exports` download URL. Date ranges are
 * sent as `IN_DATE_RANGE` with the phrase when the server knows that operator, and otherwise resolved
 * here into `GTE`/`LT` on the day — with the same conventions as the server's resolver (docs/reports.md:
 * UTC, ISO weeks from Monday, `last N units` = the N complete units before the current one).
 * DOM-free, so the unit tests run it in Node.
 */

export const GRAINS = ['HOUR', 'DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR'] as const;
export type Grain = (typeof GRAINS)[number];

export const OPERATORS = ['EQUALS', 'NOT_EQUALS', 'IN', 'NOT_IN', 'CONTAINS', 'STARTS_WITH', 'GT', 'GTE', 'LT', 'LTE', 'IS_NULL', 'IS_NOT_NULL'] as const;
export type Operator = (typeof OPERATORS)[number] | 'IN_DATE_RANGE';

/** The date-range presets the builder offers (the phrases of docs/reports.md). */
export const DATE_PRESETS = [
  'last 7 days',
  'last 30 days',
  'last 12 weeks',
  'last 6 months',
  'last 12 months',
  'this month',
  'last month',
  'this quarter',
  'last quarter',
  'this year',
  'last year',
] as const;

export interface FilterInput {
  member: string;
  operator: Operator;
  values?: unknown[];
}

export interface SemanticQueryInput {
  model: string;
  measures: string[];
  dimensions?: Array<{ name: string; grain?: Grain }>;
  filters?: FilterInput[];
  orderBy?: Array<{ member: string; grain?: Grain; direction: 'ASC' | 'DESC' }>;
  limit?: number;
}

/** A filter row of the builder: values as typed (comma-separated for IN / NOT_IN). */
export interface FilterRow {
  member: string;
  operator: Operator;
  value: string;
  /** number for measures and number dimensions, so values are sent as numbers. */
  numeric: boolean;
}

export interface Question {
  model: string;
  measures: string[];
  /** Non-time dimensions to group by. */
  dimensions: string[];
  /** The time dimension to group by, at `grain`; undefined: not grouped by time. */
  time?: { name: string; grain: Grain };
  /** The time dimension the range applies to, and the range: a preset phrase or two ISO dates (last day included). */
  range?: { member: string; phrase?: string; from?: string; to?: string };
  filters: FilterRow[];
  limit?: number;
}

export interface DateRange {
  /** First day, included. */
  from: string;
  /** Day after the last, excluded. */
  to: string;
}

const DAY_MS = 86_400_000;
const iso = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);
const dayOf = (y: number, m: number, d = 1) => Math.floor(Date.UTC(y, m, d) / DAY_MS);

type Unit = 'day' | 'week' | 'month' | 'quarter' | 'year';
function unitStart(unit: Unit, day: number, shift: number): number {
  const d = new Date(day * DAY_MS);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (unit) {
    case 'day':
      return day + shift;
    case 'week':
      return day - ((d.getUTCDay() + 6) % 7) + 7 * shift;
    case 'month':
      return dayOf(y, m + shift);
    case 'quarter':
      return dayOf(y, m - (m % 3) + 3 * shift);
    case 'year':
      return dayOf(y + shift, 0);
  }
}

/** Resolves a date-range phrase (docs/reports.md) at `now` (UTC) into [from, to); undefined when it is not one. */
export function resolveDateRange(phrase: string, now: Date = new Date()): DateRange | undefined {
  const p = phrase.trim().toLowerCase().replace(/\s+/g, ' ');
  const today = Math.floor(now.getTime() / DAY_MS);
  if (p === 'today') return { from: iso(today), to: iso(today + 1) };
  if (p === 'yesterday') return { from: iso(today - 1), to: iso(today) };
  let m = /^(this|last) (week|month|quarter|year)$/.exec(p);
  if (m) {
    const unit = m[2] as Unit;
    const shift = m[1] === 'this' ? 0 : -1;
    return { from: iso(unitStart(unit, today, shift)), to: iso(unitStart(unit, today, shift + 1)) };
  }
  m = /^last (\d{1,4}) (day|week|month|quarter|year)s?$/.exec(p);
  if (m) {
    const n = Number(m[1]);
    const unit = m[2] as Unit;
    if (n < 1) return undefined;
    return { from: iso(unitStart(unit, today, -n)), to: iso(unitStart(unit, today, 0)) };
  }
  m = /^(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})$/.exec(p);
  if (m) {
    const last = Date.parse(`${m[2]}T00:00:00Z`);
    if (Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`)) || Number.isNaN(last)) return undefined;
    return { from: m[1], to: iso(last / DAY_MS + 1) };
  }
  return undefined;
}

function parseValue(text: string, numeric: boolean): unknown {
  const t = text.trim();
  if (numeric) {
    const n = Number(t);
    return t !== '' && Number.isFinite(n) ? n : t;
  }
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
}

/** The range as filters: the phrase when the server resolves it, else [from, to) computed here. */
export function rangeFilters(range: NonNullable<Question['range']>, serverHasInDateRange: boolean, now: Date = new Date()): FilterInput[] {
  const phrase = range.phrase ?? (range.from && range.to ? `${range.from} to ${range.to}` : undefined);
  if (phrase && serverHasInDateRange) return [{ member: range.member, operator: 'IN_DATE_RANGE', values: [phrase] }];
  if (range.phrase) {
    const r = resolveDateRange(range.phrase, now);
    if (!r) throw new Error(`"${range.phrase}" is not a date range: write e.g. "last 12 weeks", "this month" or "2026-01-01 to 2026-03-31"`);
    return [
      { member: range.member, operator: 'GTE', values: [r.from] },
      { member: range.member, operator: 'LT', values: [r.to] },
    ];
  }
  const out: FilterInput[] = [];
  if (range.from) out.push({ member: range.member, operator: 'GTE', values: [range.from] });
  if (range.to) {
    const r = resolveDateRange(`${range.to} to ${range.to}`, now);
    out.push({ member: range.member, operator: 'LT', values: [r ? r.to : range.to] });
  }
  return out;
}

/** The builder's question as the generic query's input. */
export function toQueryInput(q: Question, serverHasInDateRange: boolean, now: Date = new Date()): SemanticQueryInput {
  const dimensions: NonNullable<SemanticQueryInput['dimensions']> = [];
  if (q.time) dimensions.push({ name: q.time.name, grain: q.time.grain });
  for (const d of q.dimensions) dimensions.push({ name: d });
  const filters: FilterInput[] = q.range ? rangeFilters(q.range, serverHasInDateRange, now) : [];
  for (const f of q.filters) {
    if (!f.member) continue;
    if (f.operator === 'IS_NULL' || f.operator === 'IS_NOT_NULL') {
      filters.push({ member: f.member, operator: f.operator });
    } else if (f.operator === 'IN' || f.operator === 'NOT_IN') {
      filters.push({ member: f.member, operator: f.operator, values: f.value.split(',').map((v) => parseValue(v, f.numeric)).filter((v) => v !== '') });
    } else {
      filters.push({ member: f.member, operator: f.operator, values: [parseValue(f.value, f.numeric)] });
    }
  }
  const input: SemanticQueryInput = { model: q.model, measures: [...q.measures] };
  if (dimensions.length) input.dimensions = dimensions;
  if (filters.length) input.filters = filters;
  // Over time: oldest first, so the table reads like the chart.
  if (q.time) input.orderBy = [{ member: q.time.name, grain: q.time.grain, direction: 'ASC' }];
  if (q.limit) input.limit = q.limit;
  return input;
}

/** GraphQL literal of a value: enums bare, strings quoted. */
function literal(value: unknown, key?: string): string {
  if (Array.isArray(value)) return `[${value.map((v) => literal(v)).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{ ${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${literal(v, k)}`)
      .join(', ')} }`;
  }
  if (typeof value === 'string' && (key === 'grain' || key === 'operator' || key === 'direction')) return value;
  return JSON.stringify(value);
}

/** The question as a GraphQL query a user can paste into the query page or a script. */
export function toGraphql(input: SemanticQueryInput): string {
  const lines = [`  metrics(query: {`, `    model: ${literal(input.model)}`, `    measures: ${literal(input.measures)}`];
  if (input.dimensions?.length) lines.push(`    dimensions: ${literal(input.dimensions)}`);
  if (input.filters?.length) lines.push(`    filters: [\n${input.filters.map((f) => `      ${literal(f)}`).join('\n')}\n    ]`);
  if (input.orderBy?.length) lines.push(`    orderBy: ${literal(input.orderBy)}`);
  if (input.limit) lines.push(`    limit: ${input.limit}`);
  lines.push('  }) {', '    columns { name key kind type grain format }', '    rows', '  }');
  return `{\n${lines.join('\n')}\n}\n`;
}

/** A value in a download URL's comma list: commas inside it are written `\\,`. */
const listItem = (v: unknown) => String(v).replace(/,/g, '\\,');

/**
 * The download of the question (`GET /exports/<team>/<model>.csv|.xlsx`, docs/exports.md), in the URL syntax
 * the exports route reads: `measures=a,b`, `dimensions=metric_date:month,platform`,
 * `order=metric_date`, and each filter as `member.operator=value,value` (operators in lower case,
 * `member.is_null` without a value). The whole answer is downloaded: no limit.
 */
export function exportPath(input: SemanticQueryInput, format: 'csv' | 'xlsx'): string {
  const [team, model] = input.model.split('.');
  const params = new URLSearchParams();
  params.set('measures', input.measures.map(listItem).join(','));
  if (input.dimensions?.length) params.set('dimensions', input.dimensions.map((d) => (d.grain ? `${d.name}:${d.grain.toLowerCase()}` : d.name)).join(','));
  if (input.orderBy?.length) params.set('order', input.orderBy.map((o) => `${o.direction === 'DESC' ? '-' : ''}${o.member}${o.grain ? `:${o.grain.toLowerCase()}` : ''}`).join(','));
  for (const f of input.filters ?? []) params.append(`${f.member}.${f.operator.toLowerCase()}`, (f.values ?? []).map(listItem).join(','));
  const query = params.toString().replace(/=(&|$)/g, '$1');
  return `/exports/${encodeURIComponent(team)}/${encodeURIComponent(model)}.${format}?${query}`;
}
