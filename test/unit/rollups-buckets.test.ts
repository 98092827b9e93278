/**
 * The pure parts of rollups: which time buckets a batch touched (as merged ranges), which grains a rollup's
 * buckets add up to, and which filter values fall on a bucket boundary.
 */
import { describe, expect, it } from 'vitest';
import { bucketRanges, nextBucket } from '../../src/rollups/refresh.js';
import { grainServes, onBoundary } from '../../src/semantic/rollup-plan.js';

const iso = (d: Date) => d.toISOString();

describe('rollup buckets', () => {
  it('steps each grain in UTC, months and quarters by the calendar', () => {
    expect(iso(nextBucket(new Date('2026-01-31T00:00:00Z'), 'day'))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-03-30T00:00:00Z'), 'week'))).toBe('2026-04-06T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-01-01T00:00:00Z'), 'month'))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-12-01T00:00:00Z'), 'month'))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-10-01T00:00:00Z'), 'quarter'))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-01-01T00:00:00Z'), 'year'))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(nextBucket(new Date('2026-01-01T23:00:00Z'), 'hour'))).toBe('2026-01-02T00:00:00.000Z');
  });

  it('merges adjacent buckets into ranges, keeps gaps apart, and notes the null bucket', () => {
    const touched = bucketRanges(['2026-03-01', '2026-01-01', null, '2026-02-01', '2026-06-01'], 'month');
    expect(touched.nullBucket).toBe(true);
    expect(touched.ranges.map((r) => [iso(r.from).slice(0, 10), iso(r.to).slice(0, 10)])).toEqual([
      ['2026-01-01', '2026-04-01'],
      ['2026-06-01', '2026-07-01'],
    ]);
    const hours = bucketRanges(['2026-01-01T05:00:00.000Z', '2026-01-01T06:00:00.000Z'], 'hour');
    expect(hours).toEqual({ nullBucket: false, ranges: [{ from: new Date('2026-01-01T05:00:00Z'), to: new Date('2026-01-01T07:00:00Z') }] });
    expect(bucketRanges([], 'day')).toEqual({ nullBucket: false, ranges: [] });
  });

  it('serves a coarser grain only when the rollup\'s buckets add up to it', () => {
    expect(grainServes('day', 'week')).toBe(true);
    expect(grainServes('day', 'hour')).toBe(false);
    expect(grainServes('week', 'month')).toBe(false);
    expect(grainServes('month', 'week')).toBe(false);
    expect(grainServes('month', 'quarter')).toBe(true);
    expect(grainServes('quarter', 'month')).toBe(false);
    expect(grainServes('hour', 'year')).toBe(true);
    expect(grainServes('year', 'year')).toBe(true);
  });

  it('knows bucket boundaries (ISO weeks start on Monday)', () => {
    expect(onBoundary('2026-03-01', 'month')).toBe(true);
    expect(onBoundary('2026-03-02', 'month')).toBe(false);
    expect(onBoundary('2026-03-02', 'week')).toBe(true); // a Monday
    expect(onBoundary('2026-04-01', 'quarter')).toBe(true);
    expect(onBoundary('2026-05-01', 'quarter')).toBe(false);
    expect(onBoundary('2026-03-02 00:00:00', 'day')).toBe(true);
    expect(onBoundary('2026-03-02 12:00:00', 'day')).toBe(false);
    expect(onBoundary('2026-03-02 12:00:00', 'hour')).toBe(true);
    expect(onBoundary('2026-03-02 12:30:00', 'hour')).toBe(false);
  });
});
