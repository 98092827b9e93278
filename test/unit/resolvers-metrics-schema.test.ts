/**
 * The typed schema without a database: what it declares for a small project, and which SemanticQuery
 * each model field's arguments and selection turn into (captured by a fake of the serving layer's port).
 */
import { graphql, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { LOOPBACK_PRINCIPAL } from '../../src/auth/principal.js';
import { silentLogger } from '../../src/log.js';
import { createRequestContext } from '../../src/resolvers/request-context.js';
import { SchemaRegistry } from '../../src/resolvers/schema-registry.js';
import type { Model, SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import type { Answer, Serving } from '../../src/serving/types.js';
import { NO_OPERATIONS } from '../integration/graphql-harness.js';

const posts: Model = {
  id: 'social.post_performance',
  team: 'social',
  name: 'post_performance',
  description: 'Daily performance of posts.',
  table: 'social.post_daily',
  grain: ['post_id', 'metric_date'],
  dimensions: [
    { name: 'metric_date', type: 'time', sql: 'metric_date', description: 'Day' },
    { name: 'platform', type: 'string', sql: 'platform' },
    { name: 'duration_s', type: 'number', sql: 'duration_s' },
    { name: 'is_paid', type: 'boolean', sql: 'is_paid' },
  ],
  measures: [
    { name: 'impressions', type: 'sum', sql: 'impressions', format: 'integer' },
    { name: 'engagement_rate', type: 'ratio', numerator: 'impressions', denominator: 'impressions', format: 'percent' },
  ],
  joins: [{ name: 'accounts', model: 'social.accounts', relationship: 'many_to_one', on: { account_id: 'account_id' } }],
  file: 'models/social/post_performance.yml',
};
const accounts: Model = {
  id: 'social.accounts',
  team: 'social',
  name: 'accounts',
  table: 'social.accounts',
  grain: ['account_id'],
  dimensions: [
    { name: 'region', type: 'string', sql: 'region' },
    { name: 'connected_on', type: 'time', sql: 'connected_on' },
  ],
  measures: [{ name: 'accounts', type: 'count' }],
  joins: [],
  file: 'models/social/accounts.yml',
};
const campaigns: Model = {
  id: 'email.campaigns',
  team: 'email',
  name: 'campaigns',
  table: 'email.campaign_daily',
  grain: ['campaign_id'],
  dimensions: [{ name: 'campaign_id', type: 'string', sql: 'campaign_id' }],
  measures: [{ name: 'sends', type: 'sum', sql: 'emails_sent' }],
  joins: [],
  file: 'models/email/campaigns.yml',
};
const project: SemanticProject = { models: new Map([posts, accounts, campaigns].map((m) => [m.id, m])), teams: ['email', 'social'] };

function setup() {
  const captured: SemanticQuery[] = [];
  const registry = new SchemaRegistry({ project, limits: { defaultRows: 1000, maxRows: 5000 }, operations: NO_OPERATIONS });
  const serving = (teams: readonly string[]): Serving =>
    ({
      teams: () => [...teams],
      answer: async (_principal, q: SemanticQuery): Promise<Answer> => {
        captured.push(q);
        return { query: q, columns: [], rows: [], hasMore: false, cacheHit: false, computedAt: new Date(0), lastLoadedAt: null, rollup: null, tables: [] };
      },
    }) as Partial<Serving> as Serving;
  const run = async (source: string, variableValues?: Record<string, unknown>, teams: readonly string[] = ['email', 'social']) =>
    graphql({
      schema: registry.schemaFor(teams),
      source,
      variableValues,
      contextValue: createRequestContext(serving(teams), LOOPBACK_PRINCIPAL, silentLogger),
    });
  return { captured, run, registry };
}

describe('generated metrics schema', () => {
  it('declares teams, models, typed members, joins and filter inputs', () => {
    const { registry } = setup();
    const sdl = printSchema(registry.schemaFor(['social']));
    expect(sdl).toMatch(/social: SocialTeam!/);
    expect(sdl).toMatch(
      /postPerformance\(\s*where: SocialPostPerformanceWhere\s*having: SocialPostPerformanceHaving\s*orderBy: \[SocialPostPerformanceOrderBy!\]\s*"""Rows to return; default 1000, at most 5000\."""\s*limit: Int\s*offset: Int = 0\s*\): \[SocialPostPerformanceRow!\]!/,
    );
    expect(sdl).toMatch(/metricDate\(grain: TimeGrain = DAY\): TimeValue/);
    expect(sdl).toMatch(/durationS: Float/);
    expect(sdl).toMatch(/isPaid: Boolean/);
    expect(sdl).toMatch(/engagementRate: Float/);
    expect(sdl).toMatch(/accounts: SocialPostPerformanceAccounts!/);
    expect(sdl).toMatch(/input SocialPostPerformanceWhere \{[^}]*metricDate: TimeFilter[^}]*platform: StringFilter[^}]*durationS: NumberFilter[^}]*isPaid: BooleanFilter[^}]*accounts: SocialPostPerformanceAccountsWhere[^}]*AND: \[SocialPostPerformanceWhere!\][^}]*OR: \[SocialPostPerformanceWhere!\]/);
    expect(sdl).not.toMatch(/Email|campaigns/);
  });

  it('turns arguments and selection into one SemanticQuery', async () => {
    const { captured, run } = setup();
    const res = await run(
      `query($paid: Boolean!, $from: TimeValue) { social {
        postPerformance(
          where: { platform: { in: ["fb", "ig"], notEquals: "x" }, metricDate: { gte: $from, lt: "2026-04-01" }, durationS: { isNull: false },
                   accounts: { region: { startsWith: "EM" } }, OR: [{ isPaid: { equals: true } }, { durationS: { gt: 30 } }] }
          having: { impressions: { gte: 10 }, AND: [{ engagementRate: { lt: 0.5 } }] }
          orderBy: [{ metricDate: DESC }, { accounts: { region: ASC } }, { impressions: DESC }]
          limit: 10, offset: 20
        ) {
          month: metricDate(grain: MONTH)
          metricDate(grain: WEEK)
          ... on SocialPostPerformanceRow { platform }
          ...M
          isPaid @include(if: $paid)
          durationS @skip(if: true)
          accounts { region connected: connectedOn(grain: YEAR) }
          __typename
        } } }
      fragment M on SocialPostPerformanceRow { impressions engagementRate impressions }`,
      { paid: false, from: '2026-01-01' },
    );
    expect(res.errors).toBeUndefined();
    expect(captured).toEqual([
      {
        model: 'social.post_performance',
        measures: ['impressions', 'engagement_rate'],
        dimensions: [
          { name: 'metric_date', grain: 'month' },
          { name: 'metric_date', grain: 'week' },
          { name: 'platform' },
          { name: 'accounts.region' },
          { name: 'accounts.connected_on', grain: 'year' },
        ],
        // GraphQL coerces input objects in the order their fields are declared, not the order written.
        filters: [
          { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
          { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] },
          { member: 'platform', operator: 'NOT_EQUALS', values: ['x'] },
          { member: 'platform', operator: 'IN', values: ['fb', 'ig'] },
          { member: 'duration_s', operator: 'IS_NOT_NULL' },
          { member: 'accounts.region', operator: 'STARTS_WITH', values: ['EM'] },
          { or: [{ and: [{ member: 'is_paid', operator: 'EQUALS', values: [true] }] }, { and: [{ member: 'duration_s', operator: 'GT', values: [30] }] }] },
          { member: 'impressions', operator: 'GTE', values: [10] },
          { member: 'engagement_rate', operator: 'LT', values: [0.5] },
        ],
        orderBy: [
          { member: 'metric_date', direction: 'DESC', grain: 'month' },
          { member: 'accounts.region', direction: 'ASC' },
          { member: 'impressions', direction: 'DESC' },
        ],
        limit: 10,
        offset: 20,
      },
    ]);
  });

  it('defaults the limit and the grain, and computes equal questions once per request', async () => {
    const { captured, run } = setup();
    const res = await run(`{ social { a: postPerformance { metricDate impressions } b: postPerformance { impressions metricDate(grain: DAY) } } }`);
    expect(res.errors).toBeUndefined();
    expect(captured).toHaveLength(1);
    expect(captured[0]).toMatchObject({ dimensions: [{ name: 'metric_date', grain: 'day' }], limit: 1000, offset: 0, filters: [], orderBy: [] });
  });

  it('refuses a limit over the cap, null filter values and ambiguous orderBy entries', async () => {
    const { run } = setup();
    const over = await run(`{ social { postPerformance(limit: 5001) { impressions } } }`);
    expect(over.errors?.[0].message).toBe('limit: 5001 is over the maximum of 5000 rows per query; page with offset, or use an export for more');
    const negative = await run(`{ social { postPerformance(offset: -1) { impressions } } }`);
    expect(negative.errors?.[0].message).toMatch(/offset: expected a whole number ≥ 0/);
    const nullValue = await run(`{ social { postPerformance(where: { platform: { equals: null } }) { impressions } } }`);
    expect(nullValue.errors?.[0].message).toMatch(/where\.platform\.equals: null is not a value to compare with; use isNull: true/);
    const two = await run(`{ social { postPerformance(orderBy: [{ platform: ASC, impressions: DESC }]) { platform impressions } } }`);
    expect(two.errors?.[0].message).toMatch(/orderBy\[0\]: give exactly one member per orderBy entry/);
  });

  it('keeps a team out of a schema built for other teams', async () => {
    const { run } = setup();
    const res = await run(`{ email { campaigns { sends } } }`, undefined, ['social']);
    expect(res.errors?.[0].message).toMatch(/Cannot query field "email" on type "Query"/);
  });
});
