/**
 * Relative date ranges (docs/reports.md): `today`, `yesterday`, `this|last week|month|quarter|year`,
 * `last N days|weeks|months|quarters|years`, or two ISO dates — resolved in UTC at a given instant to a
 * half-open range of dates [from, to). Pure: the clock is an argument, so reports, GraphQL, OData and
 * the console resolve "last 12 weeks" the same way at the moment their query runs.
 *
 * Conventions (those of Cube's date parser, packages/cubejs-api-gateway/src/dateParser.js, so that users
 * coming from Cube read a range the same way):
 * - Weeks are ISO weeks: they start on Monday.
 * - `last N <unit>s` is the N COMPLETE units before the current one; the current, partial unit is NOT
 *   included. On Wednesday 2026-03-11, `last 12 weeks` is Monday 2025-12-15 up to (not including)
 *   Monday 2026-03-09, and `last 7 days` ends with yesterday.
 * - `this <unit>` is the whole current unit (it may reach into the future), `last <unit>` the one before.
 * - Two ISO dates name the first and the LAST day, both included: `2026-01-01 to 2026-03-31` is the
 *   first quarter, i.e. [2026-01-01, 2026-04-01).
 */
import { UserError } from '../errors.js';

/** A half-open range of days: `from` included, `to` excluded, both `YYYY-MM-DD`. */
export interface DateRange {
  from: string;
  to: string;
}

/** Units a relative range counts in. */
export const DATE_RANGE_UNITS = ['day', 'week', 'month', 'quarter', 'year'] as const;
type Unit = (typeof DATE_RANGE_UNITS)[number];

/** Most units `last N …` may reach back (a guard against years before 0001, not a business rule). */
export const MAX_RANGE_COUNT = 10_000;

/** What a user may write, for error messages. */
export const DATE_RANGE_FORMS =
  'today, yesterday, this|last week|month|quarter|year, last N days|weeks|months|quarters|years, or two ISO dates ("2026-01-01 to 2026-03-31")';

const DAY_MS = 86_400_000;

/** Midnight UTC of the day `at` falls on, as days since the epoch. */
function dayNumber(at: Date): number {
  return Math.floor(at.getTime() / DAY_MS);
}

function isoOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Days since the epoch of year/month(0-based, may overflow)/day in UTC. */
function dayOf(year: number, month: number, day = 1): number {
  return Math.floor(Date.UTC(year, month, day) / DAY_MS);
}

/** The first day of the unit that `day` falls in, shifted by `shift` units. */
function unitStart(unit: Unit, day: number, shift: number): number {
  const d = new Date(day * DAY_MS);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (unit) {
    case 'day':
      return day + shift;
    case 'week': {
      // getUTCDay: 0 = Sunday … 6 = Saturday; ISO weeks start on Monday.
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      return day - sinceMonday + 7 * shift;
    }
    case 'month':
      return dayOf(y, m + shift);
    case 'quarter':
      return dayOf(y, m - (m % 3) + 3 * shift);
    case 'year':
      return dayOf(y + shift, 0);
  }
}

function bad(message: string): UserError {
  return new UserError('BAD_USER_INPUT', message);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since the epoch of an ISO date, or undefined when it is not one (or not a real day). */
function parseIsoDay(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  return dayOf(y, mo - 1, d);
}

function explicitRange(fromText: string, toText: string, what: string): DateRange {
  const from = parseIsoDay(fromText.trim());
  const to = parseIsoDay(toText.trim());
  if (from === undefined) throw bad(`${what}: "${fromText.trim()}" is not an ISO date (YYYY-MM-DD)`);
  if (to === undefined) throw bad(`${what}: "${toText.trim()}" is not an ISO date (YYYY-MM-DD)`);
  if (to < from) throw bad(`${what}: the range ends (${isoOfDay(to)}) before it starts (${isoOfDay(from)})`);
  return { from: isoOfDay(from), to: isoOfDay(to + 1) };
}

const RELATIVE = /^(this|last)\s+(day|week|month|quarter|year)$/;
const LAST_N = /^last\s+(\d+)\s+(day|week|month|quarter|year)s?$/;
const TWO_DATES = /^(?:from\s+)?(\S+)\s+(?:to|-|–|\.\.)\s+(\S+)$/;

/**
 * Resolves one range text at `now` (UTC). Throws BAD_USER_INPUT naming the text and the accepted forms.
 * `what` prefixes error messages (e.g. `filter on "metric_date"`).
 */
export function parseDateRange(text: string, now: Date, what = 'date range'): DateRange {
  if (Number.isNaN(now.getTime())) throw new Error('parseDateRange: now is not a valid date');
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const today = dayNumber(now);
  const range = (from: number, to: number): DateRange => {
    if (new Date(from * DAY_MS).getUTCFullYear() < 1) throw bad(`${what}: "${text}" reaches back before the year 1`);
    return { from: isoOfDay(from), to: isoOfDay(to) };
  };
  if (t === 'today') return range(today, today + 1);
  if (t === 'yesterday') return range(today - 1, today);
  const rel = RELATIVE.exec(t);
  if (rel) {
    const unit = rel[2] as Unit;
    const shift = rel[1] === 'last' ? -1 : 0;
    return range(unitStart(unit, today, shift), unitStart(unit, today, shift + 1));
  }
  const lastN = LAST_N.exec(t);
  if (lastN) {
    const n = Number(lastN[1]);
    if (n < 1 || n > MAX_RANGE_COUNT) throw bad(`${what}: "${text}": N must be from 1 to ${MAX_RANGE_COUNT}`);
    const unit = lastN[2] as Unit;
    // The current unit is left out (Cube's convention): the N complete units before it.
    return range(unitStart(unit, today, -n), unitStart(unit, today, 0));
  }
  const two = TWO_DATES.exec(t);
  if (two && ISO_DATE.test(two[1]) && ISO_DATE.test(two[2])) return explicitRange(two[1], two[2], what);
  if (ISO_DATE.test(t)) return explicitRange(t, t, what);
  throw bad(`${what}: cannot read the date range ${JSON.stringify(text)}; expected ${DATE_RANGE_FORMS}`);
}

/**
 * The range of an IN_DATE_RANGE filter's values: one text (relative, one ISO date, or `A to B`), or two
 * ISO dates (first and last day, both included).
 */
export function resolveDateRange(values: ReadonlyArray<unknown>, now: Date, what = 'date range'): DateRange {
  if (values.length === 1 && typeof values[0] === 'string') return parseDateRange(values[0], now, what);
  if (values.length === 2 && typeof values[0] === 'string' && typeof values[1] === 'string') return explicitRange(values[0], values[1], what);
  throw bad(`${what}: IN_DATE_RANGE takes one text (${DATE_RANGE_FORMS}) or two ISO dates, got ${JSON.stringify(values)}`);
}
