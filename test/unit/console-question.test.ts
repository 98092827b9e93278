/**
 * The console's DOM-free parts: formatting by the measures' formats, the builder's question → the
 * generic query (relative ranges sent as IN_DATE_RANGE when the server has it, resolved here
 * otherwise), the GraphQL to copy (valid GraphQL), the export URL, and the chart's data.
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { chartData } from '../../src/console/chart-data.js';
import { formatAge, formatCell, formatDuration, formatNumber } from '../../src/console/format.js';
import { exportPath, resolveDateRange, toGraphql, toQueryInput, type Question } from '../../src/console/question.js';
import { uploadTarget } from '../../src/console/views/upload-url.js';

describe('console formatting', () => {
  it('formats each measure format', () => {
    expect(formatNumber(0.0139, 'percent', 'en-US')).toBe('1.4%');
    expect(formatNumber(1234567, 'integer', 'en-US')).toBe('1,234,567');
    expect(formatNumber(1234.5, 'currency', 'en-US')).toBe('1,234.50');
    expect(formatNumber(2.345, 'decimal', 'en-US')).toBe('2.35');
    expect(formatNumber(3725, 'duration')).toBe('1h 02m');
    expect(formatDuration(125)).toBe('2m 05s');
    expect(formatDuration(4.25)).toBe('4.3s');
    expect(formatNumber(12, null, 'en-US')).toBe('12');
  });

  it('formats time by grain, null as empty, and ages', () => {
    const col = { name: 'metric_date', key: 'metric_date', kind: 'dimension', type: 'date' };
    expect(formatCell('2026-03-01', { ...col, grain: 'MONTH' })).toBe('2026-03');
    expect(formatCell('2026-04-01', { ...col, grain: 'QUARTER' })).toBe('2026-Q2');
    expect(formatCell('2026-03-02', { ...col, grain: 'WEEK' })).toBe('2026-03-02');
    expect(formatCell(null, { ...col, kind: 'measure', type: 'number', format: 'percent' })).toBe('');
    const now = new Date('2026-03-11T12:00:00Z');
    expect(formatAge('2026-03-11T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAge(null, now)).toBe('never loaded');
  });
});

describe('console questions', () => {
  const now = new Date('2026-03-11T15:00:00Z'); // a Wednesday
  const base: Question = { model: 'social.post_performance', measures: ['engagement_rate'], dimensions: ['platform'], time: { name: 'metric_date', grain: 'MONTH' }, filters: [] };

  it('resolves the SPEC’s relative ranges like the server: complete units, ISO weeks, UTC', () => {
    expect(resolveDateRange('last 12 weeks', now)).toEqual({ from: '2025-12-15', to: '2026-03-09' });
    expect(resolveDateRange('last 7 days', now)).toEqual({ from: '2026-03-04', to: '2026-03-11' });
    expect(resolveDateRange('this month', now)).toEqual({ from: '2026-03-01', to: '2026-04-01' });
    expect(resolveDateRange('last quarter', now)).toEqual({ from: '2025-10-01', to: '2026-01-01' });
    expect(resolveDateRange('yesterday', now)).toEqual({ from: '2026-03-10', to: '2026-03-11' });
    expect(resolveDateRange('2026-01-01 to 2026-03-31', now)).toEqual({ from: '2026-01-01', to: '2026-04-01' });
    expect(resolveDateRange('next week', now)).toBeUndefined();
  });

  it('sends a preset as IN_DATE_RANGE when the server has it, else as GTE/LT days', () => {
    const q: Question = { ...base, range: { member: 'metric_date', phrase: 'last 12 weeks' } };
    expect(toQueryInput(q, true, now).filters).toEqual([{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['last 12 weeks'] }]);
    expect(toQueryInput(q, false, now).filters).toEqual([
      { member: 'metric_date', operator: 'GTE', values: ['2025-12-15'] },
      { member: 'metric_date', operator: 'LT', values: ['2026-03-09'] },
    ]);
    // Two dates: the last day is included.
    const custom = toQueryInput({ ...base, range: { member: 'metric_date', from: '2026-01-01', to: '2026-01-31' } }, false, now);
    expect(custom.filters).toEqual([
      { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
      { member: 'metric_date', operator: 'LT', values: ['2026-02-01'] },
    ]);
  });

  it('turns filter rows into typed values, and the question into valid GraphQL and an export URL', () => {
    const q: Question = {
      ...base,
      filters: [
        { member: 'platform', operator: 'IN', value: 'facebook, instagram', numeric: false },
        { member: 'impressions', operator: 'GT', value: '1000', numeric: true },
        { member: 'post_type', operator: 'IS_NULL', value: '', numeric: false },
      ],
      limit: 500,
    };
    const input = toQueryInput(q, false, now);
    expect(input).toEqual({
      model: 'social.post_performance',
      measures: ['engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'MONTH' }, { name: 'platform' }],
      filters: [
        { member: 'platform', operator: 'IN', values: ['facebook', 'instagram'] },
        { member: 'impressions', operator: 'GT', values: [1000] },
        { member: 'post_type', operator: 'IS_NULL' },
      ],
      orderBy: [{ member: 'metric_date', grain: 'MONTH', direction: 'ASC' }],
      limit: 500,
    });
    const text = toGraphql(input);
    expect(() => parse(text)).not.toThrow();
    expect(text).toContain('dimensions: [{ name: "metric_date", grain: MONTH }, { name: "platform" }]');
    expect(text).toContain('{ member: "impressions", operator: GT, values: [1000] }');
    const path = exportPath({ ...input, filters: [...input.filters!, { member: 'account', operator: 'EQUALS', values: ['Acme, Inc.'] }] }, 'xlsx');
    const url = new URL(path, 'http://x');
    expect(url.pathname).toBe('/exports/social/post_performance.xlsx');
    expect([...url.searchParams]).toEqual([
      ['measures', 'engagement_rate'],
      ['dimensions', 'metric_date:month,platform'],
      ['order', 'metric_date:month'],
      ['platform.in', 'facebook,instagram'],
      ['impressions.gt', '1000'],
      ['post_type.is_null', ''],
      ['account.equals', 'Acme\\, Inc.'],
    ]);
    expect(path).toMatch(/&post_type\.is_null&/);
  });

  it('PUTs the service’s own signed upload URL to the page’s origin, and leaves S3 URLs alone', () => {
    expect(uploadTarget('http://127.0.0.1:4000/uploads/abc?sig=s&exp=1', 'http://localhost:4000')).toBe('http://localhost:4000/uploads/abc?sig=s&exp=1');
    const s3 = 'https://bucket.s3.amazonaws.com/uploads/abc?X-Amz-Signature=x';
    expect(uploadTarget(s3, 'http://localhost:4000')).toBe(s3);
  });
});

describe('console chart data', () => {
  const columns = [
    { name: 'metric_date', key: 'metric_date', kind: 'dimension', type: 'date', grain: 'MONTH', format: null },
    { name: 'platform', key: 'platform', kind: 'dimension', type: 'string', grain: null, format: null },
    { name: 'engagement_rate', key: 'engagement_rate', kind: 'measure', type: 'number', grain: null, format: 'percent' },
  ];

  it('draws one line per platform over the months, with gaps where a month has no row', () => {
    const data = chartData({
      columns,
      rows: [
        ['2026-02-01', 'x', 0.02],
        ['2026-01-01', 'facebook', 0.01],
        ['2026-02-01', 'facebook', 0.03],
      ],
    })!;
    expect(data.kind).toBe('line');
    expect(data.x).toEqual([Date.UTC(2026, 0, 1) / 1000, Date.UTC(2026, 1, 1) / 1000]);
    expect(data.series).toEqual([
      { label: 'facebook', values: [0.01, 0.03] },
      { label: 'x', values: [null, 0.02] },
    ]);
  });

  it('draws bars without a time dimension', () => {
    const data = chartData({ columns: columns.slice(1), rows: [['facebook', 0.01], ['x', 0.02]] })!;
    expect(data).toMatchObject({ kind: 'bars', x: [0, 1], labels: ['facebook', 'x'], series: [{ label: 'engagement_rate', values: [0.01, 0.02] }], xName: 'platform' });
  });
});
