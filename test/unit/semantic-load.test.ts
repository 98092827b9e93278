import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { assertValidProject, checkModelColumns, loadSemanticProject } from '../../src/semantic/load.js';
import { UserError, type Problem } from '../../src/errors.js';
import type { SemanticProject } from '../../src/semantic/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../fixtures/semantic');

describe('loadSemanticProject on a valid project', () => {
  it('builds every model with ids, defaults and teams', async () => {
    const { project, problems } = await loadSemanticProject(path.join(fixtures, 'good'));
    expect(problems).toEqual([]);
    expect(project?.teams).toEqual(['social', 'web']);
    expect([...(project?.models.keys() ?? [])].sort()).toEqual(['social.account_daily', 'social.accounts', 'social.post_performance', 'web.sessions']);
    const pp = project?.models.get('social.post_performance');
    expect(pp).toMatchObject({ id: 'social.post_performance', team: 'social', name: 'post_performance', table: 'social.post_daily', file: 'models/social/post_performance.yml' });
    expect(pp?.grain).toEqual(['platform', 'post_id', 'metric_date']);
    // A dimension's sql defaults to the column of the same name.
    expect(pp?.dimensions.find((d) => d.name === 'platform')).toEqual({ name: 'platform', type: 'string', sql: 'platform' });
    expect(pp?.dimensions.find((d) => d.name === 'duration')?.sql).toBe('duration_s');
    const m = new Map(pp?.measures.map((x) => [x.name, x]));
    // Measures' sql defaults to their name for column aggregates; count without sql stays count(*).
    expect(m.get('impressions')).toEqual({ name: 'impressions', type: 'sum', sql: 'impressions', format: 'integer' });
    expect(m.get('rows')).toEqual({ name: 'rows', type: 'count' });
    expect(m.get('engagement_rate')).toMatchObject({ type: 'ratio', numerator: 'engagements', denominator: 'impressions', format: 'percent' });
    expect(pp?.joins).toEqual([{ name: 'accounts', model: 'social.accounts', relationship: 'many_to_one', on: { account_id: 'account_id' } }]);
    expect(project?.models.get('social.account_daily')?.measures.find((x) => x.name === 'followers')).toMatchObject({ type: 'last', sql: 'follower_count' });
    expect(project?.models.get('web.sessions')?.sql).toContain('from web.sessions');
  });

  it('treats a project without models/ as empty, and a missing folder as a problem', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sextant-sem-'));
    expect(await loadSemanticProject(dir)).toEqual({ project: { models: new Map(), teams: [] }, problems: [] });
    const missing = await loadSemanticProject(path.join(dir, 'nope'));
    expect(missing.project).toBeUndefined();
    expect(missing.problems[0].message).toMatch(/does not exist/);
  });

  it('defaults the model name to the file name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sextant-sem-'));
    await mkdir(path.join(dir, 'models/email'), { recursive: true });
    await writeFile(path.join(dir, 'models/email/campaigns.yaml'), 'table: email.campaigns\ngrain: [id]\nmeasures:\n  sends: { type: sum }\n');
    const { project, problems } = await loadSemanticProject(dir);
    expect(problems).toEqual([]);
    expect(project?.models.get('email.campaigns')?.name).toBe('campaigns');
  });
});

describe('loadSemanticProject on a broken project', () => {
  const expected: Array<[file: string, path: string | undefined, message: RegExp, line?: number]> = [
    // syntax
    ['models/social/syntax.yml', undefined, /YAML syntax error/, 4],
    ['models/social/dup_keys.yml', undefined, /YAML syntax error: Map keys must be unique/, 6],
    // unknown keys, at every level
    ['models/social/post_performance.yml', 'colour', /unknown key "colour"; expected one of: name, description, table/, 4],
    ['models/social/post_performance.yml', 'dimensions.weird.size', /unknown key "size"/, 12],
    // table / sql: exactly one
    ['models/social/no_source.yml', undefined, /exactly one of `table`.*neither/],
    ['models/social/both_sources.yml', 'sql', /exactly one of `table` or `sql`; it has both/, 3],
    // names
    ['models/social/post_performance.yml', 'dimensions.Post-Type', /not a valid name; expected snake_case/, 8],
    ['models/social/dupes.yml', 'measures.a__b', /must not contain "__"/],
    ['models/Bad-Team', undefined, /team folder "Bad-Team" is not a valid name/],
    // names that meet in GraphQL's camelCase / PascalCase
    ['models/social_a/b.yml', 'dimensions.a_b_1', /"a_b_1" and "a_b1" both become the GraphQL field "aB1"/, 6],
    ['models/social_a/b.yml', 'name', /models social_a.b and social.a_b \(models\/social\/a_b.yml\) both become the GraphQL type SocialAB/, 1],
    // duplicates across dimensions, measures and joins
    ['models/social/post_performance.yml', 'measures.impressions', /duplicate name "impressions": already used in dimensions/, 14],
    ['models/social/dupes.yml', 'measures.total', /duplicate name "total"/],
    ['models/social/dupes.yml', 'joins.id', /duplicate name "id": already used in dimensions/, 11],
    // types and formats
    ['models/social/post_performance.yml', 'dimensions.region.type', /unknown dimension type "geography"; expected one of: string, number, boolean, time/, 10],
    ['models/social/post_performance.yml', 'measures.median_x.type', /unknown measure type "median"/, 18],
    ['models/social/post_performance.yml', 'measures.spend.format', /unknown format "dollars"; expected one of: integer, decimal, percent, currency, duration/, 19],
    // sql that could carry a second statement
    ['models/social/post_performance.yml', 'dimensions.account.sql', /without ";"/, 11],
    ['models/social/sql_shapes.yml', 'sql', /must be a query starting with SELECT or WITH/, 2],
    ['models/social/sql_shapes.yml', 'dimensions.total.sql', /per-row expression that results are grouped by; sum\(…\) belongs in a measure/, 6],
    ['models/social/sql_shapes.yml', 'measures.amount.sql', /the measure type does the aggregation, so max\(…\)/, 8],
    ['models/social/sql_shapes.yml', 'measures.doubled.sql', /would aggregate an aggregate/, 9],
    // ratios
    ['models/social/post_performance.yml', 'measures.engagement_rate.numerator', /^unknown measure "engagment"/, 16],
    ['models/social/post_performance.yml', 'measures.self_rate.numerator', /cannot use itself/, 17],
    ['models/social/post_performance.yml', 'measures.half_ratio', /needs `denominator`/, 24],
    ['models/social/post_performance.yml', 'measures.sum_with_num.numerator', /only for measures of type ratio/, 25],
    // derived
    ['models/social/post_performance.yml', 'measures.per_platform.sql', /unknown measure "platform"; a derived expression may refer only to measures/, 20],
    ['models/social/post_performance.yml', 'measures.qualified.sql', /qualified reference/, 21],
    ['models/social/post_performance.yml', 'measures.no_sql', /derived measure needs `sql`/, 23],
    ['models/social/cycles.yml', 'measures.r1', /cycle: r1 → d1 → r1/],
    // last
    ['models/social/post_performance.yml', 'measures.followers.time_dimension', /"platform" is not a time dimension/, 22],
    ['models/social/no_time.yml', 'measures.balance', /last measure needs a time dimension/],
    // grain
    ['models/social/no_source.yml', 'grain', /must be a list/],
    ['models/social/both_sources.yml', 'grain', /at least one/],
    ['models/social/dupes.yml', 'grain[1]', /listed twice/],
    // joins
    ['models/social/post_performance.yml', 'joins.accounts.relationship', /unsupported relationship "one_to_many"; expected many_to_one/, 27],
    ['models/social/post_performance.yml', 'joins.ghosts.model', /unknown model "social.ghosts"/, 28],
    ['models/social/post_performance.yml', 'joins.owners.on', /grain of social.accounts exactly \(\[account_id\]\).*got \[region\]/, 29],
    ['models/web/bad_join.yml', 'joins.accounts.on', /got \[account_id, region\]/, 9],
    ['models/web/bad_join.yml', 'joins.nowhere.model', /not a model reference; expected team.model/, 10],
    ['models/web/bad_join.yml', 'joins.weird.on.Bad Key', /"Bad Key" is not a column name of this model; expected snake_case/, 11],
    ['models/web/bad_join.yml', 'joins.empty_on.on', /must be a non-empty mapping.*got an empty mapping/, 12],
  ];

  it.each(expected)('%s → %s: %s', async (file, p, message, line) => {
    const { project, problems } = await loadSemanticProject(path.join(fixtures, 'broken'));
    expect(project).toBeUndefined();
    const hit = problems.find((x) => x.file === file && x.path === p && message.test(x.message));
    expect(hit, `no problem ${file} → ${p}: ${message} among\n${problems.map((x) => `${x.file} → ${x.path}: ${x.message}`).join('\n')}`).toBeDefined();
    if (line !== undefined) expect(hit?.line).toBe(line);
  });

  it('reports each problem once and nothing the list does not expect', async () => {
    const { problems } = await loadSemanticProject(path.join(fixtures, 'broken'));
    const unexpected = problems.filter((x) => !expected.some(([f, p, m]) => x.file === f && x.path === p && m.test(x.message)));
    expect(unexpected).toEqual([]);
    expect(problems.length).toBe(expected.length);
  });

  it('assertValidProject throws MODEL_INVALID listing every problem as file → path', async () => {
    const err = await assertValidProject(path.join(fixtures, 'broken')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const ue = err as UserError;
    expect(ue.code).toBe('MODEL_INVALID');
    expect(ue.problems.length).toBe(expected.length);
    expect(ue.message).toContain('models/social/post_performance.yml → measures.engagement_rate.numerator (line 16): unknown measure "engagment"');
  });

  it('assertValidProject returns a valid project', async () => {
    const project = await assertValidProject(path.join(fixtures, 'good'));
    expect(project.models.size).toBe(4);
  });
});

describe('checkModelColumns', () => {
  const tables: Record<string, string[]> = {
    'social.post_daily': ['platform', 'account_id', 'post_id', 'post_type', 'metric_date', 'posted_at', 'impressions', 'likes', 'comments', 'shares', 'spend', 'is_paid', 'duration_s'],
    'social.accounts': ['account_id', 'region', 'name', 'verified'],
    'social.account_daily': ['account_id', 'platform', 'metric_date', 'follower_count'],
  };
  const describeTable = async (t: string): Promise<string[] | undefined> => tables[t];
  const load = async (): Promise<SemanticProject> => assertValidProject(path.join(fixtures, 'good'));

  it('finds nothing wrong when every column exists (sql: models are not checked)', async () => {
    expect(await checkModelColumns(await load(), describeTable)).toEqual([]);
  });

  it('reports a missing table and every unknown plain column, grain column and join key', async () => {
    const problems: Problem[] = await checkModelColumns(await load(), async (t) => {
      if (t === 'social.account_daily') return undefined;
      if (t === 'social.post_daily') return tables[t].filter((c) => !['spend', 'duration_s', 'post_id', 'account_id'].includes(c));
      return tables[t];
    });
    const where = problems.map((p) => `${p.file} → ${p.path}`);
    expect(where.sort()).toEqual([
      'models/social/account_daily.yml → table',
      'models/social/post_performance.yml → dimensions.account_id.sql',
      'models/social/post_performance.yml → dimensions.duration.sql',
      'models/social/post_performance.yml → grain[1]',
      'models/social/post_performance.yml → joins.accounts.on.account_id',
      'models/social/post_performance.yml → measures.max_spend.sql',
      'models/social/post_performance.yml → measures.min_spend.sql',
      'models/social/post_performance.yml → measures.posts.sql',
      'models/social/post_performance.yml → measures.spend.sql',
    ]);
    expect(problems.find((p) => p.path === 'dimensions.duration.sql')?.message).toMatch(/^unknown column "duration_s" in table social.post_daily; its columns: platform/);
  });
});
