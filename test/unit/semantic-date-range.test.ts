/**
 * Relative date ranges (docs/reports.md) against an independent computation: the oracle walks back day by
 * day from "today" and groups the days by a calendar key computed differently (ISO week by the
 * Thursday rule, `YYYY-MM`, quarter, year), so it shares no arithmetic with src/semantic/date-range.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDateRange, resolveDateRange, type DateRange } from '../../src/semantic/date-range.js';
import { assertValidProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import { UserError } from '../../src/errors.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import { postgresDialect } from '../../src/warehouse/postgres/dialect.js';
import { duckdbDialect } from '../../src/warehouse/duckdb/dialect.js';

type Unit = 'day' | 'week' | 'month' | 'quarter' | 'year';

/** `YYYY-MM-DD` of the UTC day `offset` days after `base`. */
function isoDay(base: Date, offset = 0): string {
  const d = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate() + offset));
  return d.toISOString().slice(0, 10);
}

/** ISO week key by the Thursday rule: the week belongs to the year of its Thursday. */
function isoWeekKey(iso: string): string {
  const d = new Date(`${iso}T12:00:00Z`);
  const dow = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
  const thursday = new Date(d.getTime() + (4 - dow) * 86_400_000);
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / 86_400_000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function keyOf(unit: Unit, iso: string): string {
  switch (unit) {
    case 'day':
      return iso;
    case 'week':
      return isoWeekKey(iso);
    case 'month':
      return iso.slice(0, 7);
    case 'quarter':
      return `${iso.slice(0, 4)}-Q${Math.floor((Number(iso.slice(5, 7)) - 1) / 3) + 1}`;
    case 'year':
      return iso.slice(0, 4);
  }
}

/** The days of the units `last` to `first` units before today's (0 = today's unit), as a half-open range. */
function oracle(now: Date, unit: Unit, first: number, last: number): DateRange {
  const days: string[] = [];
  const keys = [keyOf(unit, isoDay(now))];
  for (let i = 0; ; i--) {
    const day = isoDay(now, i);
    const k = keyOf(unit, day);
    if (k !== keys[keys.length - 1]) keys.push(k);
    const back = keys.length - 1;
    if (back > first) break;
    if (back >= last) days.push(day);
  }
  if (last === 0) for (let i = 1; keyOf(unit, isoDay(now, i)) === keys[0]; i++) days.push(isoDay(now, i));
  days.sort();
  return { from: days[0], to: isoDay(new Date(`${days[days.length - 1]}T00:00:00Z`), 1) };
}

const UNITS: Unit[] = ['day', 'week', 'month', 'quarter', 'year'];

/** Every day of 2024–2026 (a leap year, year ends on every weekday), at a time of day that varies. */
const CLOCKS: Date[] = [];
for (let d = Date.UTC(2024, 0, 1); d < Date.UTC(2027, 0, 1); d += 86_400_000) CLOCKS.push(new Date(d + ((d / 86_400_000) % 24) * 3_600_000 + 59_999));

describe('parseDateRange against an independent calendar', () => {
  it('today and yesterday', () => {
    for (const now of CLOCKS) {
      expect(parseDateRange('today', now)).toEqual({ from: isoDay(now), to: isoDay(now, 1) });
      expect(parseDateRange('Yesterday', now)).toEqual({ from: isoDay(now, -1), to: isoDay(now) });
    }
  });

  it.each(UNITS.filter((u) => u !== 'day'))('this %s and last %s', (unit) => {
    for (const now of CLOCKS) {
      expect(parseDateRange(`this ${unit}`, now)).toEqual(oracle(now, unit, 0, 0));
      expect(parseDateRange(`last ${unit}`, now)).toEqual(oracle(now, unit, 1, 1));
    }
  });

  it.each(UNITS)('last N %ss: the N complete units before the current one', (unit) => {
    for (const now of CLOCKS.filter((_, i) => i % 5 === 0)) {
      for (const n of [1, 2, 3, 7, 12]) {
        expect(parseDateRange(`last ${n} ${unit}s`, now), `last ${n} ${unit}s at ${now.toISOString()}`).toEqual(oracle(now, unit, n, 1));
      }
    }
  });

  it('the SPEC example: last 12 weeks on a Wednesday leaves out the current week', () => {
    const wednesday = new Date('2026-03-11T15:30:00Z');
    expect(parseDateRange('last 12 weeks', wednesday)).toEqual({ from: '2025-12-15', to: '2026-03-09' });
    // Just before and at midnight UTC on Monday, the current week changes.
    expect(parseDateRange('last 1 week', new Date('2026-03-08T23:59:59.999Z'))).toEqual({ from: '2026-02-23', to: '2026-03-02' });
    expect(parseDateRange('last 1 week', new Date('2026-03-09T00:00:00Z'))).toEqual({ from: '2026-03-02', to: '2026-03-09' });
  });

  it('two ISO dates include both days; one ISO date is that day', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(parseDateRange('2026-01-01 to 2026-03-31', now)).toEqual({ from: '2026-01-01', to: '2026-04-01' });
    expect(parseDateRange('from 2024-02-28 to 2024-02-29', now)).toEqual({ from: '2024-02-28', to: '2024-03-01' });
    expect(parseDateRange('2026-12-31', now)).toEqual({ from: '2026-12-31', to: '2027-01-01' });
    expect(resolveDateRange(['2026-01-01', '2026-01-31'], now)).toEqual({ from: '2026-01-01', to: '2026-02-01' });
    expect(resolveDateRange(['last 3 months'], now)).toEqual({ from: '2026-03-01', to: '2026-06-01' });
  });

  it.each([
    ['last 12 fortnights', 'cannot read the date range "last 12 fortnights"; expected today, yesterday'],
    ['next week', 'cannot read the date range "next week"'],
    ['last 0 days', 'N must be from 1 to 10000'],
    ['last 10001 days', 'N must be from 1 to 10000'],
    ['2026-02-30 to 2026-03-01', '"2026-02-30" is not an ISO date'],
    ['2026-03-01 to 2026-02-01', 'the range ends (2026-02-01) before it starts (2026-03-01)'],
    ['', 'cannot read the date range ""'],
  ])('refuses %j clearly', (text, message) => {
    const now = new Date('2026-06-01T00:00:00Z');
    try {
      parseDateRange(text, now, 'filter on "metric_date"');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('BAD_USER_INPUT');
      expect((err as UserError).message).toContain('filter on "metric_date"');
      expect((err as UserError).message).toContain(message);
    }
  });

  it('refuses values that are not one text or two dates', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(() => resolveDateRange([], now)).toThrow(/IN_DATE_RANGE takes one text/);
    expect(() => resolveDateRange([3], now)).toThrow(/IN_DATE_RANGE takes one text/);
    expect(() => resolveDateRange(['2026-01-01', '2026-01-02', '2026-01-03'], now)).toThrow(/IN_DATE_RANGE takes one text/);
  });
});

describe('IN_DATE_RANGE in the planner', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  let project: SemanticProject;
  beforeAll(async () => {
    project = await assertValidProject(path.join(here, '../fixtures/semantic/good'));
  });

  it.each([postgresDialect, duckdbDialect])('becomes a half-open gte/lt on the raw time dimension, values as parameters ($name)', (dialect) => {
    const plan = planQuery(
      project,
      {
        model: 'social.post_performance',
        measures: ['impressions'],
        dimensions: [{ name: 'metric_date', grain: 'week' }],
        filters: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['last 12 weeks'] }],
        orderBy: [],
        limit: 10,
        offset: 0,
      },
      dialect,
      { now: new Date('2026-03-11T15:30:00Z') },
    );
    expect(plan.params.slice(0, 2)).toEqual(['2025-12-15', '2026-03-09']);
    expect(plan.sql).not.toContain('2025-12-15');
    expect(plan.sql).toContain(`where ("_s"."_c0" >= ${dialect.param(1, 'date')} and "_s"."_c0" < ${dialect.param(2, 'date')})`);
  });

  it('refuses IN_DATE_RANGE on a dimension that is not a time', () => {
    expect(() =>
      planQuery(
        project,
        { model: 'social.post_performance', measures: ['impressions'], dimensions: [], filters: [{ member: 'platform', operator: 'IN_DATE_RANGE', values: ['today'] }], orderBy: [], limit: 10, offset: 0 },
        postgresDialect,
      ),
    ).toThrow(/operator IN_DATE_RANGE does not apply to a string dimension/);
  });
});
