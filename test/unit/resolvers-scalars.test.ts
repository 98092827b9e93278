import { describe, expect, it } from 'vitest';
import { camelCase, modelTypeNames, pascalCase, teamTypeName } from '../../src/semantic/names.js';
import { DateScalar, TimeValueScalar } from '../../src/resolvers/scalars.js';
import { formatTimeValue, isIsoDate } from '../../src/semantic/time-values.js';

describe('time values', () => {
  it('formats dates at day and coarser grains and UTC timestamps at hour', () => {
    expect(formatTimeValue('2026-01-01', 'month')).toBe('2026-01-01');
    expect(formatTimeValue('2026-01-01T00:00:00.000Z', 'day')).toBe('2026-01-01');
    expect(formatTimeValue('2026-01-01 13:00:00', 'hour')).toBe('2026-01-01T13:00:00Z');
    expect(formatTimeValue('2026-01-01T13:00:00.000Z', 'hour')).toBe('2026-01-01T13:00:00Z');
    expect(formatTimeValue('2026-01-01', 'hour')).toBe('2026-01-01T00:00:00Z');
    expect(formatTimeValue(null, 'day')).toBeNull();
  });

  it('accepts ISO dates and timestamps as input, in UTC, and refuses anything else with a useful message', () => {
    expect(TimeValueScalar.parseValue('2026-02-28')).toBe('2026-02-28');
    expect(TimeValueScalar.parseValue('2026-01-01T14:30:00+01:00')).toBe('2026-01-01T13:30:00Z');
    expect(TimeValueScalar.parseValue('2026-01-01T13:30')).toBe('2026-01-01T13:30:00Z');
    expect(() => TimeValueScalar.parseValue('2026-02-30')).toThrow(/expected an ISO date \(2026-01-01\) or timestamp/);
    expect(() => TimeValueScalar.parseValue(20260101)).toThrow(/got 20260101/);
    expect(() => DateScalar.parseValue('2026-1-1')).toThrow(/expected an ISO date such as 2026-01-01, got "2026-1-1"/);
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2025-02-29')).toBe(false);
  });
});

describe('names', () => {
  it('turns model names into GraphQL names', () => {
    expect(camelCase('engagement_rate')).toBe('engagementRate');
    expect(camelCase('metric_date')).toBe('metricDate');
    expect(pascalCase('post_performance')).toBe('PostPerformance');
    expect(teamTypeName('social')).toBe('SocialTeam');
    const names = modelTypeNames('social', 'post_performance');
    expect([names.row, names.where, names.having, names.orderBy, names.join('accounts'), names.joinWhere('accounts')]).toEqual([
      'SocialPostPerformanceRow',
      'SocialPostPerformanceWhere',
      'SocialPostPerformanceHaving',
      'SocialPostPerformanceOrderBy',
      'SocialPostPerformanceAccounts',
      'SocialPostPerformanceAccountsWhere',
    ]);
  });
});
