import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertValidProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import { describeCatalog } from '../../src/semantic/catalog.js';
import { UserError } from '../../src/errors.js';
import type { SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import { duckdbDialect } from '../../src/warehouse/duckdb/dialect.js';
import { postgresDialect } from '../../src/warehouse/postgres/dialect.js';
import { tokenizeSql } from '../../src/semantic/sql-tokens.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let project: SemanticProject;
beforeAll(async () => {
  project = await assertValidProject(path.join(here, '../fixtures/semantic/good'));
});

function q(partial: Partial<SemanticQuery>): SemanticQuery {
  return { model: 'social.post_performance', measures: [], dimensions: [], filters: [], orderBy: [], limit: 100, offset: 0, ...partial };
}

/** The planner's error for a query, which must be a UserError. */
function errorOf(query: SemanticQuery): UserError {
  try {
    planQuery(project, query, postgresDialect);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected the planner to throw');
}

/** Statements in the SQL: `;` outside literals. */
function statementSeparators(sql: string): number {
  return tokenizeSql(sql).filter((t) => t.kind === 'punct' && t.text === ';').length;
}

describe.each([postgresDialect, duckdbDialect])('planQuery SQL for $name', (dialect) => {
  const full = (): ReturnType<typeof planQuery> =>
    planQuery(
      project,
      q({
        measures: ['impressions', 'engagement_rate', 'cost_per_engagement'],
        dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }, { name: 'accounts.region' }],
        filters: [
          { member: 'platform', operator: 'IN', values: ['facebook', 'instagram'] },
          { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
          { member: 'impressions', operator: 'GT', values: [1000] },
        ],
        limit: 50,
        offset: 10,
      }),
      dialect,
    );

  it('is one statement whose values are all parameters', () => {
    const plan = full();
    expect(statementSeparators(plan.sql)).toBe(0);
    expect(plan.params).toEqual(['facebook', 'instagram', '2026-01-01', 1000, 50, 10]);
    for (const v of ['facebook', 'instagram', '2026-01-01', '1000']) expect(plan.sql).not.toContain(v);
    expect(plan.sql).toContain(dialect.param(1, 'string'));
    expect(plan.sql).toContain(dialect.param(3, 'date'));
    expect(plan.sql).toContain(dialect.param(4, 'number'));
    expect(plan.sql).toMatch(/limit \$5 offset \$6$/);
  });

  it('quotes every identifier from the model and returns stable column keys', () => {
    const plan = full();
    expect(plan.sql).toContain('from "social"."post_daily"');
    expect(plan.sql).toContain('"social"."accounts"');
    expect(plan.sql).toContain('as "metric_date__month"');
    expect(plan.sql).toContain('as "accounts__region"');
    expect(plan.columns.map((c) => c.key)).toEqual(['metric_date__month', 'platform', 'accounts__region', 'impressions', 'engagement_rate', 'cost_per_engagement']);
    expect(plan.columns[0]).toEqual({ name: 'metric_date', key: 'metric_date__month', kind: 'dimension', type: 'date', grain: 'month' });
    expect(plan.columns[4]).toEqual({ name: 'engagement_rate', key: 'engagement_rate', kind: 'measure', type: 'number', format: 'percent' });
    expect(plan.tables).toEqual(['social.post_daily', 'social.accounts']);
  });

  it('divides a ratio of separately aggregated sums, guarded against 0', () => {
    const sql = full().sql;
    expect(sql).toContain('nullif(');
    expect(sql).not.toMatch(/avg\(/);
    expect(sql).toContain(dialect.truncTime('month', '"_s"."_c0"'));
  });

  it('joins a subquery grouped by the joined grain, only when a joined dimension is used', () => {
    expect(full().sql).toMatch(/left join \(select "account_id" as "_k0", min\("region"\) as "_c0" from "social"."accounts" group by "account_id"\)/);
    const plain = planQuery(project, q({ measures: ['impressions'], dimensions: [{ name: 'platform' }] }), dialect);
    expect(plain.sql).not.toContain('join');
    expect(plain.tables).toEqual(['social.post_daily']);
    const filtered = planQuery(project, q({ measures: ['impressions'], filters: [{ member: 'accounts.region', operator: 'EQUALS', values: ['emea'] }] }), dialect);
    expect(filtered.sql).toContain('left join');
  });

  it('plans last with a window over the period of the selected grain', () => {
    const plan = planQuery(project, q({ model: 'social.account_daily', measures: ['followers'], dimensions: [{ name: 'metric_date', grain: 'quarter' }] }), dialect);
    expect(plan.sql).toContain(`over (partition by ${dialect.truncTime('quarter', '"_s"."_c0"')})`);
    const whole = planQuery(project, q({ model: 'social.account_daily', measures: ['followers'], dimensions: [{ name: 'platform' }] }), dialect);
    expect(whole.sql).toContain('over ()');
  });

  it('hour grain is a timestamp column; day is the default grain', () => {
    const plan = planQuery(project, q({ measures: ['rows'], dimensions: [{ name: 'posted_at', grain: 'hour' }, { name: 'metric_date' }] }), dialect);
    expect(plan.columns.map((c) => [c.key, c.type])).toEqual([['posted_at__hour', 'timestamp'], ['metric_date__day', 'date'], ['rows', 'number']]);
  });
});

describe('derived measures', () => {
  it('substitute aggregated measures but never inside string literals or function names', async () => {
    const { mkdtemp, mkdir, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(path.join(tmpdir(), 'sextant-derived-'));
    await mkdir(path.join(dir, 'models/t'), { recursive: true });
    await writeFile(
      path.join(dir, 'models/t/m.yml'),
      [
        'table: s.t',
        'grain: [id]',
        'measures:',
        '  spend: { type: sum }',
        '  sum_x: { type: sum }',
        "  labelled: { type: derived, sql: \"case when 'spend' = 'spend' then spend else sum_x end -- spend\" }",
        '  cast_it: { type: derived, sql: "cast(spend as double precision) / nullif(sum_x, 0)" }',
      ].join('\n'),
    );
    const p = await assertValidProject(dir);
    const plan = planQuery(p, { model: 't.m', measures: ['labelled', 'cast_it'], dimensions: [], filters: [], orderBy: [], limit: 1, offset: 0 }, postgresDialect);
    expect(plan.sql).toContain("case when 'spend' = 'spend' then ((sum(\"_v0\"))::float8) else ((sum(\"_v1\"))::float8) end");
    expect(plan.sql).not.toContain('-- spend');
    expect(plan.sql).toContain('cast(((sum("_v0"))::float8) as double precision)');
  });
});

describe('planQuery rejects bad input with BAD_USER_INPUT', () => {
  const cases: Array<[string, Partial<SemanticQuery>, RegExp]> = [
    ['unknown dimension, listing the valid ones', { measures: ['rows'], dimensions: [{ name: 'colour' }] }, /unknown dimension "colour" in social.post_performance; dimensions: metric_date, posted_at, platform.*accounts\.region/],
    ['a measure used as a dimension', { dimensions: [{ name: 'impressions' }] }, /"impressions" is a measure/],
    ['unknown measure, listing the valid ones', { measures: ['reach'] }, /unknown measure "reach" in social.post_performance; measures: rows, posts, impressions/],
    ['a measure of a joined model', { measures: ['accounts.accounts'] }, /unknown measure "accounts.accounts"/],
    ['a grain on a non-time dimension', { measures: ['rows'], dimensions: [{ name: 'platform', grain: 'month' }] }, /"platform" is a string dimension; only time dimensions take a grain/],
    ['an unknown grain', { measures: ['rows'], dimensions: [{ name: 'metric_date', grain: 'fortnight' as 'day' }] }, /unknown grain "fortnight"/],
    ['the same dimension twice at one grain', { measures: ['rows'], dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'metric_date', grain: 'month' }] }, /selected twice/],
    ['nothing selected', {}, /select at least one measure or dimension/],
    ['a time filter that is not ISO', { measures: ['rows'], filters: [{ member: 'metric_date', operator: 'GTE', values: ['01/02/2026'] }] }, /expected an ISO date \(2026-01-31\) or timestamp/],
    ['an impossible date', { measures: ['rows'], filters: [{ member: 'metric_date', operator: 'LT', values: ['2026-02-30'] }] }, /expected an ISO date/],
    ['a number for a time filter', { measures: ['rows'], filters: [{ member: 'metric_date', operator: 'LT', values: [20260101] }] }, /expected an ISO date/],
    ['a non-number for a number dimension', { measures: ['rows'], filters: [{ member: 'duration', operator: 'GT', values: ['ten'] }] }, /filter on "duration": expected a number, got "ten"/],
    ['a non-number for a measure', { measures: ['rows'], filters: [{ member: 'impressions', operator: 'GT', values: ['lots'] }] }, /expected a number/],
    ['a non-boolean for a boolean', { measures: ['rows'], filters: [{ member: 'is_paid', operator: 'EQUALS', values: ['yes'] }] }, /expected true or false/],
    ['CONTAINS on a number', { measures: ['rows'], filters: [{ member: 'duration', operator: 'CONTAINS', values: ['1'] }] }, /operator CONTAINS does not apply to a number dimension; use one of: EQUALS, NOT_EQUALS, IN, NOT_IN, GT/],
    ['GT on a string', { measures: ['rows'], filters: [{ member: 'platform', operator: 'GT', values: ['a'] }] }, /operator GT does not apply to a string dimension/],
    ['NOT_EQUALS on time', { measures: ['rows'], filters: [{ member: 'metric_date', operator: 'NOT_EQUALS', values: ['2026-01-01'] }] }, /does not apply to a time dimension/],
    ['IN on a boolean', { measures: ['rows'], filters: [{ member: 'is_paid', operator: 'IN', values: [true] }] }, /does not apply to a boolean dimension; use one of: EQUALS/],
    ['IN on a measure', { measures: ['rows'], filters: [{ member: 'impressions', operator: 'IN', values: [1] }] }, /does not apply to a measure/],
    ['an unknown operator', { measures: ['rows'], filters: [{ member: 'platform', operator: 'LIKE' as 'EQUALS', values: ['a'] }] }, /does not apply|unknown operator/],
    ['IN with more than 1000 values', { measures: ['rows'], filters: [{ member: 'platform', operator: 'IN', values: Array.from({ length: 1001 }, (_, i) => `p${i}`) }] }, /at most 1000 values, got 1001/],
    ['IN without values', { measures: ['rows'], filters: [{ member: 'platform', operator: 'IN', values: [] }] }, /at least one value/],
    ['EQUALS with two values', { measures: ['rows'], filters: [{ member: 'platform', operator: 'EQUALS', values: ['a', 'b'] }] }, /exactly one value, got 2/],
    ['IS_NULL with a value', { measures: ['rows'], filters: [{ member: 'platform', operator: 'IS_NULL', values: ['a'] }] }, /IS_NULL takes no values/],
    ['a filter on an unknown member', { measures: ['rows'], filters: [{ member: 'colour', operator: 'EQUALS', values: ['a'] }] }, /cannot filter on unknown member "colour"/],
    ['an OR mixing a dimension and a measure', { measures: ['rows'], filters: [{ or: [{ member: 'platform', operator: 'EQUALS', values: ['x'] }, { member: 'rows', operator: 'GT', values: [1] }] }] }, /cannot mix dimension and measure/],
    ['a negative limit', { measures: ['rows'], limit: -1 }, /limit must be a whole number of 0 or more, got -1/],
    ['a negative offset', { measures: ['rows'], offset: -5 }, /offset must be a whole number/],
    ['a fractional limit', { measures: ['rows'], limit: 1.5 }, /limit must be a whole number/],
    ['order by an unknown member', { measures: ['rows'], orderBy: [{ member: 'colour', direction: 'ASC' }] }, /cannot order by unknown member "colour"/],
    ['order by a dimension not selected', { measures: ['rows'], orderBy: [{ member: 'platform', direction: 'ASC' }] }, /cannot order by "platform": it is not selected/],
    ['order by a time dimension at a grain not selected', { measures: ['rows'], dimensions: [{ name: 'metric_date', grain: 'month' }], orderBy: [{ member: 'metric_date', grain: 'year', direction: 'ASC' }] }, /at grain year: it is not selected/],
    ['a bad order direction', { measures: ['rows'], orderBy: [{ member: 'rows', direction: 'UP' as 'ASC' }] }, /ASC or DESC/],
  ];
  it.each(cases)('%s', (_name, partial, message) => {
    const err = errorOf(q(partial));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toMatch(message);
  });

  it('UNKNOWN_MODEL for a model that does not exist, listing the models', () => {
    const err = errorOf(q({ model: 'social.nope', measures: ['rows'] }));
    expect(err.code).toBe('UNKNOWN_MODEL');
    expect(err.message).toMatch(/unknown model "social.nope"; models: .*social.post_performance/);
  });

  it('accepts exactly 1000 IN values and numeric strings for numbers', () => {
    const plan = planQuery(
      project,
      q({ measures: ['rows'], filters: [{ member: 'platform', operator: 'IN', values: Array.from({ length: 1000 }, (_, i) => `p${i}`) }, { member: 'duration', operator: 'GT', values: ['12.5'] }] }),
      postgresDialect,
    );
    expect(plan.params.slice(999, 1001)).toEqual(['p999', 12.5]);
  });
});

describe('client strings never reach the SQL text', () => {
  const nasty = [`x'; drop table social.post_daily; --`, `") or 1=1 --`, `a" as "b`, `1) or (1=1`, `x\\' or 'a'='a`];

  it.each(nasty)('filter values %s travel only as parameters', (value) => {
    for (const dialect of [postgresDialect, duckdbDialect]) {
      const plan = planQuery(
        project,
        q({
          measures: ['rows'],
          dimensions: [{ name: 'platform' }],
          filters: [
            { member: 'platform', operator: 'EQUALS', values: [value] },
            { member: 'post_type', operator: 'IN', values: [value, 'video'] },
            { member: 'account_id', operator: 'CONTAINS', values: [value] },
            { member: 'accounts.region', operator: 'STARTS_WITH', values: [value] },
          ],
        }),
        dialect,
      );
      expect(plan.sql).not.toContain(value);
      expect(plan.sql).not.toMatch(/1=1|drop table|;/i);
      expect(plan.params.filter((p) => p === value)).toHaveLength(4);
    }
  });

  it.each(nasty)('member names %s are refused, not quoted into SQL', (name) => {
    const attempts: Array<Partial<SemanticQuery>> = [
      { measures: [name] },
      { measures: ['rows'], dimensions: [{ name }] },
      { measures: ['rows'], filters: [{ member: name, operator: 'EQUALS', values: ['a'] }] },
      { measures: ['rows'], orderBy: [{ member: name, direction: 'ASC' }] },
      { model: name, measures: ['rows'] },
    ];
    for (const a of attempts) expect(['BAD_USER_INPUT', 'UNKNOWN_MODEL']).toContain(errorOf(q(a)).code);
  });
});

describe('describeCatalog', () => {
  it('lists teams, models, dimensions with grains, measures with type and format, joins', () => {
    const catalog = describeCatalog(project);
    expect(catalog.teams.map((t) => t.name)).toEqual(['social', 'web']);
    const pp = catalog.teams[0].models.find((m) => m.name === 'post_performance');
    expect(pp).toMatchObject({ id: 'social.post_performance', team: 'social', description: 'Daily performance of published posts.', tables: ['social.post_daily'] });
    expect(pp?.dimensions.find((d) => d.name === 'metric_date')).toEqual({
      name: 'metric_date', type: 'time', description: 'Day the metrics describe', grains: ['hour', 'day', 'week', 'month', 'quarter', 'year'],
    });
    expect(pp?.measures.find((m) => m.name === 'engagement_rate')).toEqual({ name: 'engagement_rate', type: 'ratio', format: 'percent' });
    expect(pp?.joins[0]).toMatchObject({ name: 'accounts', model: 'social.accounts' });
    expect(pp?.joins[0].dimensions.map((d) => d.name)).toEqual(['account_id', 'region', 'account_name', 'verified']);
    expect(catalog.teams[1].models[0]).toMatchObject({ id: 'web.sessions', tables: ['web.sessions'] });
    // Plain data: survives JSON.
    expect(JSON.parse(JSON.stringify(catalog))).toEqual(catalog);
  });
});
