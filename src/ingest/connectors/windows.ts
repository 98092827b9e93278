/**
 * Date windows of a windowed run: which days a run pulls (from its state, start_date and lookback, or
 * the backfill's from/to), split into the widest windows one request may ask for. Whole UTC days,
 * inclusive at both ends.
 */
import { UserError } from '../../errors.js';
import type { DateWindow } from './types.js';

const DAY_MS = 86_400_000;

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export interface RangeInput {
  /** The last complete day committed, if any. */
  lastCompleteDay?: string;
  startDate?: string;
  lookbackDays: number;
  /** A backfill's bounds (runSource's from/to). */
  from?: string;
  to?: string;
  /** The run's today (UTC); the default end is yesterday, the last complete day. */
  today: string;
  /** How far back the API reaches, in days. */
  maxHistoryDays?: number;
}

/**
 * The days a run pulls, or undefined when there is nothing to pull (already up to date). Without
 * from/to: from the day after the state minus the lookback (or start_date, or yesterday minus the
 * lookback on a first run with neither) to yesterday.
 */
export function runRange(input: RangeInput): DateWindow | undefined {
  const yesterday = addDays(input.today, -1);
  const to = input.to ?? yesterday;
  let from = input.from;
  if (from === undefined) {
    if (input.lastCompleteDay !== undefined) from = addDays(input.lastCompleteDay, 1 - input.lookbackDays);
    else from = input.startDate ?? addDays(to, -input.lookbackDays);
    if (input.startDate !== undefined && from < input.startDate) from = input.startDate;
  }
  if (input.maxHistoryDays !== undefined) {
    const oldest = addDays(input.today, -input.maxHistoryDays);
    if (from < oldest) from = oldest;
  }
  if (input.from !== undefined && input.to !== undefined && input.from > input.to) {
    throw new UserError('BAD_USER_INPUT', `from (${input.from}) is after to (${input.to})`);
  }
  return from > to ? undefined : { from, to };
}

/** Splits a range into consecutive windows of at most `maxDays` days. */
export function splitWindows(range: DateWindow, maxDays: number): DateWindow[] {
  const out: DateWindow[] = [];
  for (let from = range.from; from <= range.to; from = addDays(from, maxDays)) {
    const end = addDays(from, maxDays - 1);
    out.push({ from, to: end < range.to ? end : range.to });
  }
  return out;
}

/**
 * The state after a window committed: it moves forward only over contiguous days, so a backfill of an
 * old range (or one that leaves a gap after start_date) never makes a scheduled run skip days.
 */
export function nextState(current: string | undefined, startDate: string | undefined, window: DateWindow): string | undefined {
  const contiguous = current === undefined ? startDate === undefined || window.from <= startDate : window.from <= addDays(current, 1);
  if (!contiguous) return current;
  return current === undefined || window.to > current ? window.to : current;
}
