import { describe, expect, it } from 'vitest';
import { queryFromParams, splitList } from '../../src/exports/url-query.js';
import type { Model } from '../../src/semantic/types.js';

const MODEL: Model = {
  id: 'social.post_performance',
  team: 'social',
  name: 'post_performance',
  table: 'social.post_daily',
  grain: ['platform', 'post_id', 'metric_date'],
  dimensions: [
    { name: 'metric_date', type: 'time', sql: 'metric_date' },
    { name: 'published_at', type: 'time', sql: 'published_at' },
    { name: 'platform', type: 'string', sql: 'platform' },
    { name: 'account', type: 'string', sql: 'account_name' },
  ],
  measures: [
    { name: 'impressions', type: 'sum', format: 'integer' },
    { name: 'engagement_rate', type: 'ratio', numerator: 'engagements', denominator: 'impressions', format: 'percent' },
  ],
  joins: [{ name: 'accounts', model: 'social.accounts', relationship: 'many_to_one', on: { account_id: 'account_id' } }],
  file: 'models/social/post_performance.yml',
};

describe('export URL parameters', () => {
  it('reads measures, dimensions with grains, a default grain, order and filters', () => {
    const input = queryFromParams(MODEL, {
      measures: 'impressions,engagement_rate',
      dimensions: 'metric_date,published_at:day,platform',
      grain: 'week',
      order: '-impressions,metric_date',
      platform: 'facebook,instagram',
      account: 'Acme\\, Inc.',
      'metric_date.gte': '2026-01-01',
      'impressions.gt': '1000',
      'account.is_not_null': '',
      'accounts.region': 'EMEA',
    });
    expect(input).toEqual({
      model: 'social.post_performance',
      measures: ['impressions', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'week' }, { name: 'published_at', grain: 'day' }, { name: 'platform' }],
      orderBy: [
        { member: 'impressions', direction: 'DESC' },
        { member: 'metric_date', direction: 'ASC', grain: 'week' },
      ],
      filters: [
        { member: 'platform', operator: 'IN', values: ['facebook', 'instagram'] },
        { member: 'account', operator: 'EQUALS', values: ['Acme, Inc.'] },
        { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
        { member: 'impressions', operator: 'GT', values: ['1000'] },
        { member: 'account', operator: 'IS_NOT_NULL' },
        { member: 'accounts.region', operator: 'EQUALS', values: ['EMEA'] },
      ],
    });
  });

  it('takes repeated parameters as one list', () => {
    const input = queryFromParams(MODEL, { measures: ['impressions', 'engagement_rate'], platform: ['facebook', 'x'] });
    expect(input.measures).toEqual(['impressions', 'engagement_rate']);
    expect(input.filters).toEqual([{ member: 'platform', operator: 'IN', values: ['facebook', 'x'] }]);
  });

  it('refuses what it cannot read, saying what it expected', () => {
    expect(() => queryFromParams(MODEL, {})).toThrow(/measures: name at least one measure of social.post_performance/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', measure: 'x' })).toThrow(/unknown parameter "measure": expected measures, dimensions, grain, order, or a filter/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', limit: '10' })).toThrow(/unknown parameter "limit"/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', grain: 'fortnight' })).toThrow(/grain: unknown grain "fortnight"; expected one of: hour, day, week/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', dimensions: 'metric_date:decade' })).toThrow(/unknown grain "decade"/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', 'platform.equals': '' })).toThrow(/platform.equals: give a value/);
    expect(() => queryFromParams(MODEL, { measures: 'impressions', 'platform.is_null': 'yes' })).toThrow(/is_null takes no value/);
  });

  it('splits on commas that are not escaped', () => {
    expect(splitList('a,b\\,c,, d ')).toEqual(['a', 'b,c', 'd']);
  });
});
