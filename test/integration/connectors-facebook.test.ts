/**
 * `facebook_pages` against the Graph API fake, into the example project's social targets, on DuckDB
 * and PostgreSQL: a 120-day backfill (two windows: 90 days is the most one request may span) through
 * paged post lists, Graph throttling (code 32), a 500 and a cut-off body; a re-pull with restated
 * insights; a wrong token failing at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addDays, daysBetween } from '../fakes/demo-data.js';
import { startFacebookFake, type FacebookFake } from '../fakes/facebook/facebook-fake.js';
import { keysUnder, openHarness, source, startSlackReceiver, target, type Harness } from './connector-harness.js';
import { DIALECTS } from '../support/warehouses.js';

/** Graph's status types as the shared post types of social.post_daily (docs/connectors/facebook_pages.md). */
const POST_TYPES: Record<string, string> = { added_photos: 'photo', added_video: 'video', shared_story: 'link', mobile_status_update: 'status' };

const TARGETS_DIR = join(process.cwd(), 'examples', 'agency', 'targets');
const exampleTarget = (name: string) => target(name, readFileSync(join(TARGETS_DIR, `${name}.yml`), 'utf8'));
const TARGETS = ['social_accounts', 'social_account_daily', 'social_post_daily'].map(exampleTarget);

const YAML = (baseUrl: string, startDate = '2026-06-01') => `
type: facebook_pages
schedule: "0 6 * * *"
start_date: ${startDate}
lookback_days: 3
base_url: ${baseUrl}
credentials:
  access_token: \${FACEBOOK_PAGE_TOKEN}
settings:
  page_ids: ["104512345678901", "104512345678902"]
streams:
  pages: social_accounts
  page_insights: social_account_daily
  post_insights: social_post_daily
`;

describe.each(DIALECTS)('facebook_pages connector on %s', (dialect) => {
  let fake: FacebookFake;
  let slack: Awaited<ReturnType<typeof startSlackReceiver>>;
  let h: Harness;
  beforeAll(async () => {
    // Two pages the demo does not have: values from the fake's hash, every day, one or two posts a day.
    fake = await startFacebookFake({
      pages: [
        { id: '104512345678901', name: 'Northwind Coffee', username: 'northwindcoffee' },
        { id: '104512345678902', name: 'Lumen Outdoor', username: 'lumenoutdoor' },
      ],
    });
    slack = await startSlackReceiver();
  });
  afterAll(async () => {
    await fake.close();
    await slack.close();
  });
  afterEach(async () => {
    await h?.close();
    fake.reset();
    fake.restatements.length = 0;
    slack.messages.length = 0;
  });

  const open = (token: string, startDate?: string) =>
    openHarness(dialect, {
      targets: TARGETS,
      sources: [source('social_facebook', YAML(fake.baseUrl, startDate), new Map(TARGETS.map((t) => [t.name, t])))],
      env: { FACEBOOK_PAGE_TOKEN: token },
      slackWebhookUrl: slack.url,
      now: () => new Date('2026-10-01T06:00:00Z'),
    });

  const expectedAccountDaily = (from: string, to: string) =>
    fake.pages
      .flatMap((p) =>
        daysBetween(from, to).map((d) => ({
          account_id: p.id,
          metric_date: d,
          platform: 'facebook',
          follower_count: fake.value(p.id, 'page_fans', d),
          new_followers: fake.value(p.id, 'page_daily_follows_unique', d),
          lost_followers: fake.value(p.id, 'page_daily_unfollows_unique', d),
          profile_views: fake.value(p.id, 'page_views_total', d),
        })),
      )
      .sort((a, b) => `${a.account_id}${a.metric_date}`.localeCompare(`${b.account_id}${b.metric_date}`));

  const expectedPostDaily = (from: string, to: string) =>
    fake.pages
      .flatMap((p) =>
        fake.posts(p.id, addDays(from, -27), to).flatMap((post) =>
          daysBetween(from, to)
            .filter((d) => d >= post.created_time.slice(0, 10) && d <= addDays(post.created_time.slice(0, 10), 27))
            .map((d) => ({ post_id: post.id, metric_date: d, account_id: p.id, post_type: POST_TYPES[post.status_type], impressions: fake.value(post.id, 'post_impressions', d), reach: fake.value(post.id, 'post_impressions_unique', d), link_clicks: fake.value(post.id, 'post_clicks', d) })),
        ),
      )
      .sort((a, b) => `${a.post_id}${a.metric_date}`.localeCompare(`${b.post_id}${b.metric_date}`));

  const accountDaily = () =>
    h.rows(`SELECT account_id, CAST(metric_date AS VARCHAR) AS metric_date, platform, follower_count, new_followers, lost_followers, profile_views FROM social.account_daily ORDER BY account_id, metric_date`);
  const postDaily = () =>
    h.rows(`SELECT post_id, CAST(metric_date AS VARCHAR) AS metric_date, account_id, post_type, impressions, reach, link_clicks FROM social.post_daily ORDER BY post_id, metric_date`);

  it('backfills 120 days in two windows through paging, throttling, a 500 and a cut-off body: exactly the fake\'s rows', async () => {
    h = await open(fake.token);
    fake.inject({ kind: 'throttle', at: 4, retryAfterSeconds: 120 });
    fake.inject({ kind: 'server_error', at: 40 });
    fake.inject({ kind: 'truncate', at: 77 });
    const { job, error } = await h.run('social_facebook', { from: '2026-06-01', to: '2026-09-28' });
    expect(error).toBeUndefined();
    expect(job.status).toBe('SUCCEEDED');
    expect(await accountDaily()).toEqual(expectedAccountDaily('2026-06-01', '2026-09-28'));
    const posts = expectedPostDaily('2026-06-01', '2026-09-28');
    expect(await postDaily()).toEqual(posts);
    expect(await h.rows(`SELECT account_id, account_name, handle, platform FROM social.accounts ORDER BY account_id`)).toEqual(
      fake.pages.map((p) => ({ account_id: p.id, account_name: p.name, handle: p.username, platform: 'facebook' })),
    );

    // Windows of at most 90 days: the page insights were asked for twice per page.
    const insightRanges = fake.requests.filter((r) => /\/\d+\/insights$/.test(r.path) && !r.fault).map((r) => (Number(r.query.get('until')) - Number(r.query.get('since'))) / 86400);
    expect(insightRanges).toEqual([90, 90, 30, 30]);
    // Code 32 with x-business-use-case-usage: waited the 2 minutes it says.
    expect(h.waits.find((w) => w.reason.includes('code 32'))?.waitMs).toBeGreaterThanOrEqual(120_000);
    expect(h.waits.some((w) => w.reason.includes('HTTP 500') || w.reason.includes('unknown error'))).toBe(true);
    expect(h.waits.some((w) => w.reason.includes('cut off'))).toBe(true);
    // Every response page, list pages included, is in the store; the token is in none of the requests' URLs.
    const keys = await keysUnder(h.store, `raw/social_facebook/dt=2026-10-01/${job.id}/`);
    expect(keys.length).toBe(fake.requests.filter((r) => !r.fault && r.status === 200).length);
    expect(fake.requests.every((r) => !r.query.has('access_token') && r.headers.authorization === `Bearer ${fake.token}`)).toBe(true);
    expect(await h.state.get('social_facebook')).toMatchObject({ lastCompleteDay: '2026-09-28' });
  });

  it('re-pulls with the lookback and restated insights: new values, no duplicates', async () => {
    h = await open(fake.token, '2026-08-01');
    await h.run('social_facebook', { from: '2026-08-01', to: '2026-09-26' });
    expect(await h.state.get('social_facebook')).toMatchObject({ lastCompleteDay: '2026-09-26' });
    fake.restatements.push({ from: '2026-09-24', to: '2026-09-30', factor: 2 });
    // The scheduled run: from the state (09-26) minus 3 days of lookback, to yesterday (09-30).
    const { job } = await h.run('social_facebook');
    expect(job.status).toBe('SUCCEEDED');
    expect(await accountDaily()).toEqual(expectedAccountDaily('2026-08-01', '2026-09-30'));
    const [{ n, keys }] = await h.rows(`SELECT count(*) AS n, count(DISTINCT post_id || CAST(metric_date AS VARCHAR)) AS keys FROM social.post_daily`);
    expect(Number(n)).toBe(Number(keys));
    // Restated days carry the new values.
    expect(await postDaily()).toEqual(
      [...expectedPostDaily('2026-08-01', '2026-09-30')].sort((a, b) => `${a.post_id}${a.metric_date}`.localeCompare(`${b.post_id}${b.metric_date}`)),
    );
  });

  it('fails at once on an invalid token (Graph code 190): source and cause named, one Slack message, the token nowhere', async () => {
    const wrong = 'EAAwrongtoken99887766';
    h = await open(wrong);
    const { job, error } = await h.run('social_facebook', { from: '2026-06-01', to: '2026-09-28' });
    expect(job.status).toBe('FAILED');
    expect(error?.message).toMatch(/^source "social_facebook", stream pages: the access token is invalid or expired \(Invalid OAuth access token/);
    expect(fake.requests).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);
    const everything = [JSON.stringify(await h.jobs.get(job.id)), ...h.log.lines, ...slack.raw].join('\n');
    expect(everything).not.toContain(wrong);
  });
});
