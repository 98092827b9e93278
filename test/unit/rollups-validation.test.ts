/**
 * A model's `rollups:` is checked at start-up with every problem at once, each with its file, path and
 * line: unknown members, a measure that cannot be rolled up (and why), a bad grain, a list twice, a
 * joined dimension of a model that lacks it.
 */
import path from 'node:path';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { parseModelFile } from '../../src/semantic/model-file.js';
import { rollupTableName } from '../../src/semantic/rollup-plan.js';
import type { Model } from '../../src/semantic/types.js';

const MODEL = `name: posts
table: social.posts
grain: [post_id, metric_date]
dimensions:
  metric_date: { type: time }
  published_at: { type: time }
  platform: { type: string }
measures:
  impressions: { type: sum }
  followers: { type: last, sql: follower_count, time_dimension: published_at }
  growth: { type: derived, sql: "followers - impressions" }
  posts: { type: count_distinct, sql: post_id }
joins:
  accounts: { model: social.accounts, relationship: many_to_one, on: { account_id: account_id } }
rollups:
  ok:
    measures: [impressions, posts]
    dimensions: [platform, accounts.region]
    time_dimension: metric_date
    grain: month
  bad:
    measures: [impressions, clicks, followers, growth, platform]
    dimensions: [platform, platform, post_type, metric_date, users.region]
    time_dimension: platform
    grain: fortnight
    colour: blue
  empty:
    measures: []
    time_dimension: metric_date
    grain: day
  Bad_Name: { measures: [impressions], time_dimension: metric_date, grain: day }
  no_time: { measures: [impressions], grain: day }
`;

describe('rollups: declaration', () => {
  it('parses a valid rollup and reports every problem of the others, located', () => {
    const parsed = parseModelFile(MODEL, 'models/social/posts.yml', 'social', 'posts');
    expect(parsed.model?.rollups).toEqual([{ name: 'ok', measures: ['impressions', 'posts'], dimensions: ['platform', 'accounts.region'], timeDimension: 'metric_date', grain: 'month' }]);
    const got = parsed.problems.map((p) => `${p.path} @${p.line}: ${p.message}`);
    const expected: Array<[string, number, RegExp]> = [
      ['rollups.bad.colour', 26, /unknown key "colour"; expected one of: measures, dimensions, time_dimension, grain, description/],
      ['rollups.bad.time_dimension', 24, /"platform" is not a time dimension; time dimensions: metric_date, published_at/],
      ['rollups.bad.grain', 25, /unknown grain "fortnight"; expected one of: hour, day, week, month, quarter, year/],
      ['rollups.bad.measures[1]', 22, /unknown measure "clicks"/],
      ['rollups.bad.measures[4]', 22, /unknown measure "platform" \("platform" is a dimension\)/],
      ['rollups.bad.dimensions[1]', 23, /"platform" is listed twice/],
      ['rollups.bad.dimensions[2]', 23, /unknown dimension "post_type"; dimensions of this model: metric_date, published_at, platform/],
      ['rollups.bad.dimensions[4]', 23, /"users.region" names no join of this model; joins: accounts/],
      ['rollups.empty.measures', 28, /must list at least one of this model's measures/],
      ['rollups.Bad_Name', 31, /rollup name "Bad_Name" is not a valid name/],
      ['rollups.no_time', 32, /a rollup needs `time_dimension`/],
    ];
    for (const [at, line, message] of expected) {
      expect(got.some((g) => g.startsWith(`${at} @${line}: `) && message.test(g)), `${at} @${line} ${message}\n${got.join('\n')}`).toBe(true);
    }
  });

  it('says why a measure cannot be rolled up, and that the time dimension is not a dimension as well', () => {
    const text = MODEL.replace('time_dimension: platform', 'time_dimension: metric_date').replace('grain: fortnight', 'grain: week');
    const got = parseModelFile(text, 'models/social/posts.yml', 'social', 'posts').problems.map((p) => `${p.path}: ${p.message}`);
    expect(got).toContain(
      'rollups.bad.measures[2]: measure "followers" cannot be rolled up: a last measure is the value at the latest point of "published_at", and this rollup keeps time points of "metric_date" only',
    );
    expect(got.find((g) => g.startsWith('rollups.bad.measures[3]'))).toMatch(/measure "growth" cannot be rolled up: its part "followers" cannot: a last measure/);
    expect(got).toContain('rollups.bad.dimensions[3]: "metric_date" is the rollup\'s time dimension, kept at grain week; list it only as `time_dimension`');
  });

  it('checks a joined dimension against the joined model, with every other problem of the project', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sextant-rollups-'));
    await mkdir(path.join(dir, 'models/social'), { recursive: true });
    await writeFile(path.join(dir, 'models/social/accounts.yml'), 'table: social.accounts\ngrain: [account_id]\ndimensions:\n  account_id: { type: string }\n  country: { type: string }\n');
    await writeFile(
      path.join(dir, 'models/social/posts.yml'),
      'table: social.posts\ngrain: [id]\ndimensions:\n  day: { type: time }\nmeasures:\n  n: { type: count }\njoins:\n  accounts: { model: social.accounts, relationship: many_to_one, on: { account_id: account_id } }\nrollups:\n  r:\n    measures: [n]\n    dimensions: [accounts.region]\n    time_dimension: day\n    grain: day\n',
    );
    const { project, problems } = await loadSemanticProject(dir);
    expect(project).toBeUndefined();
    expect(problems).toEqual([
      { file: 'models/social/posts.yml', path: 'rollups.r.dimensions[0]', line: 12, message: '"region" is not a dimension of social.accounts; its dimensions: account_id, country' },
    ]);
  });

  it('names rollup tables within PostgreSQL\'s 63 characters, distinct when cut', () => {
    const model = { team: 'social', name: 'post_performance' } as Model;
    expect(rollupTableName(model, { name: 'month_platform', measures: [], dimensions: [], timeDimension: 't', grain: 'month' })).toBe('sextant_rollups.social__post_performance__month_platform');
    const long = (n: string) => rollupTableName({ team: 'marketing_analytics', name: 'campaign_performance_by_channel' } as Model, { name: n, measures: [], dimensions: [], timeDimension: 't', grain: 'day' });
    const a = long('by_account_and_day_with_region_a');
    const b = long('by_account_and_day_with_region_b');
    expect(a.split('.')[1].length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
  });
});
