/**
 * `instagram` and `x` against their fakes, into the example project's social targets, on DuckDB and
 * PostgreSQL: 120-day backfills through paging, throttling (Graph code 32; X 429 with
 * x-rate-limit-reset) and a 5xx; re-pulls with changed values; wrong tokens failing at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addDays, daysBetween } from '../fakes/demo-data.js';
import { startInstagramFake, type InstagramFake } from '../fakes/instagram/instagram-fake.js';
import { startXFake, xPostTypeOf, type XFake } from '../fakes/x/x-fake.js';
import { keysUnder, openHarness, source, startSlackReceiver, target, type Harness } from './connector-harness.js';
import { DIALECTS } from '../support/warehouses.js';

const TARGETS_DIR = join(process.cwd(), 'examples', 'agency', 'targets');
const TARGETS = ['social_accounts', 'social_account_daily', 'social_post_daily'].map((n) => target(n, readFileSync(join(TARGETS_DIR, `${n}.yml`), 'utf8')));
const byName = new Map(TARGETS.map((t) => [t.name, t]));
const NOW = new Date('2026-10-01T06:00:00Z');

describe.each(DIALECTS)('instagram and x connectors on %s', (dialect) => {
  let ig: InstagramFake;
  let x: XFake;
  let slack: Awaited<ReturnType<typeof startSlackReceiver>>;
  let h: Harness;
  beforeAll(async () => {
    // Accounts the demo does not have: hash-derived values (the demo's are checked in connectors-example-project).
    ig = await startInstagramFake({
      accounts: [
        { id: '17841400000000001', username: 'northwind.coffee', name: 'Northwind Coffee' },
        { id: '17841400000000002', username: 'lumen.outdoor', name: 'Lumen Outdoor' },
      ],
    });
    x = await startXFake({
      users: [
        { id: '3066008697', name: 'Northwind Coffee', username: 'northwindcoffee' },
        { id: '3066008698', name: 'Kestrel Bank', username: 'kestrelbank' },
      ],
    });
    slack = await startSlackReceiver();
  });
  afterAll(async () => {
    await Promise.all([ig.close(), x.close(), slack.close()]);
  });
  afterEach(async () => {
    await h?.close();
    ig.reset();
    x.reset();
    ig.restatements.length = 0;
    ig.setGrowth(1);
    x.setGrowth(1);
    slack.messages.length = 0;
  });

  const open = (tokens: { ig?: string; x?: string } = {}) =>
    openHarness(dialect, {
      targets: TARGETS,
      sources: [
        source(
          'social_instagram',
          `
type: instagram
start_date: 2026-06-01
lookback_days: 2
base_url: ${ig.baseUrl}
credentials: { access_token: "\${IG_TOKEN}" }
settings: { account_ids: ["17841400000000001", "17841400000000002"] }
streams: { accounts: social_accounts, account_insights: social_account_daily, media_insights: social_post_daily }
`,
          byName,
        ),
        source(
          'social_x',
          `
type: x
start_date: 2026-06-01
base_url: ${x.baseUrl}
credentials: { bearer_token: "\${X_BEARER_TOKEN}" }
settings: { user_ids: ["3066008697", "3066008698"] }
streams: { users: social_accounts, tweets: social_post_daily }
`,
          byName,
        ),
      ],
      env: { IG_TOKEN: tokens.ig ?? ig.token, X_BEARER_TOKEN: tokens.x ?? x.token },
      slackWebhookUrl: slack.url,
      now: () => NOW,
    });

  const igDaily = (from: string, to: string) =>
    ig.accounts
      .flatMap((a) => daysBetween(from, to).map((d) => ({ account_id: a.id, metric_date: d, platform: 'instagram', new_followers: ig.value(a.id, 'follower_count', d), profile_views: ig.value(a.id, 'profile_views', d) })))
      .sort((a, b) => `${a.account_id}${a.metric_date}`.localeCompare(`${b.account_id}${b.metric_date}`));
  const igPosts = (from: string, to: string) =>
    ig.accounts
      .flatMap((a) => ig.media(a.id, addDays(from, -27), to).map((m) => ({ post_id: m.id, metric_date: '2026-10-01', impressions: ig.lifetime(m.id, 'impressions'), saves: ig.lifetime(m.id, 'saved'), likes: m.like_count })))
      .sort((a, b) => a.post_id.localeCompare(b.post_id));
  const xPosts = (from: string, to: string) =>
    x.users
      .flatMap((u) => x.tweets(u.id, from, to).map((t) => ({ post_id: t.id, metric_date: '2026-10-01', impressions: t.public_metrics.impression_count, likes: t.public_metrics.like_count, shares: t.public_metrics.retweet_count + t.public_metrics.quote_count, post_type: xPostTypeOf(t) })))
      .sort((a, b) => a.post_id.localeCompare(b.post_id));
  const posts = (platform: string, extra: string) =>
    h.rows(`SELECT post_id, CAST(metric_date AS VARCHAR) AS metric_date, impressions, ${extra} FROM social.post_daily WHERE platform = '${platform}' ORDER BY post_id`);

  it('instagram: 120 days in 30-day windows through paging, throttling and a 500; a re-pull replaces restated values', async () => {
    h = await open();
    ig.inject({ kind: 'throttle', at: 3, retryAfterSeconds: 60 });
    ig.inject({ kind: 'server_error', at: 30, times: 2 });
    const first = await h.run('social_instagram', { from: '2026-06-01', to: '2026-09-28' });
    expect(first.error).toBeUndefined();
    expect(await h.rows(`SELECT account_id, CAST(metric_date AS VARCHAR) AS metric_date, platform, new_followers, profile_views FROM social.account_daily ORDER BY account_id, metric_date`)).toEqual(igDaily('2026-06-01', '2026-09-28'));
    expect(await posts('instagram', 'saves, likes')).toEqual(igPosts('2026-06-01', '2026-09-28'));
    const insightSpans = ig.requests.filter((r) => /1784\d+\/insights$/.test(r.path) && !r.fault).map((r) => (Number(r.query.get('until')) - Number(r.query.get('since'))) / 86400);
    expect(Math.max(...insightSpans)).toBe(30);
    expect(h.waits.some((w) => w.reason.includes('code 32'))).toBe(true);
    expect((await keysUnder(h.store, `raw/social_instagram/`)).length).toBe(ig.requests.filter((r) => r.status === 200).length);

    ig.restatements.push({ from: '2026-09-20', to: '2026-09-30', factor: 3 });
    ig.setGrowth(2);
    const again = await h.run('social_instagram', { from: '2026-09-15', to: '2026-09-30' });
    expect(again.job.status).toBe('SUCCEEDED');
    expect(await h.rows(`SELECT account_id, CAST(metric_date AS VARCHAR) AS metric_date, platform, new_followers, profile_views FROM social.account_daily ORDER BY account_id, metric_date`)).toEqual(igDaily('2026-06-01', '2026-09-30'));
    // Snapshots of the media the re-pull saw carry the grown counters; none is doubled.
    const [{ n, k }] = await h.rows(`SELECT count(*) AS n, count(DISTINCT post_id) AS k FROM social.post_daily WHERE platform = 'instagram'`);
    expect(Number(n)).toBe(Number(k));
    const grown = await posts('instagram', 'saves, likes');
    const seen = new Set(ig.media(ig.accounts[0].id, addDays('2026-09-15', -27), '2026-09-30').map((m) => m.id));
    for (const row of grown.filter((r) => seen.has(String(r.post_id)))) expect(Number(row.impressions)).toBe(ig.lifetime(String(row.post_id), 'impressions'));
  });

  it('x: 120 days of tweets through paging, a 429 with x-rate-limit-reset and a 503; a re-pull replaces the snapshot', async () => {
    h = await open();
    x.inject({ kind: 'throttle', at: 2, retryAfterSeconds: 30 });
    x.inject({ kind: 'server_error', at: 6 });
    const first = await h.run('social_x', { from: '2026-06-01', to: '2026-09-28' });
    expect(first.error).toBeUndefined();
    const firstRows = await posts('x', 'likes, shares, post_type');
    expect(firstRows).toEqual(xPosts('2026-06-01', '2026-09-28'));
    // post_type from referenced_tweets (quotes, replies, threads = self-replies; retweets are excluded),
    // then the media of includes.media (photo; video for a video or an animated GIF), then entities.urls (link).
    expect(new Set(firstRows.map((r) => r.post_type))).toEqual(new Set(['tweet', 'quote', 'reply', 'thread', 'photo', 'video', 'link']));
    expect(x.requests.filter((r) => r.path.endsWith('/tweets')).every((r) => r.query.get('expansions') === 'attachments.media_keys' && /\battachments\b.*\bentities\b/.test(r.query.get('tweet.fields') ?? ''))).toBe(true);
    expect(x.requests.filter((r) => r.path.endsWith('/tweets')).every((r) => r.query.get('exclude') === 'retweets')).toBe(true);
    expect(await h.rows(`SELECT account_id, account_name, handle FROM social.accounts ORDER BY account_id`)).toEqual(x.users.map((u) => ({ account_id: u.id, account_name: u.name, handle: u.username })));
    // Waited until the reset X gave (about 30 s from the request), not a blind backoff.
    const wait = h.waits.find((w) => w.reason.includes('429'));
    expect(wait?.waitMs).toBeGreaterThan(27_000);
    expect(wait?.waitMs).toBeLessThan(32_000);
    expect(x.requests.filter((r) => r.query.has('pagination_token')).length).toBeGreaterThan(0);

    x.setGrowth(3);
    await h.run('social_x', { from: '2026-09-01', to: '2026-09-28' });
    const rows = await posts('x', 'likes, shares, post_type');
    expect(rows).toHaveLength(xPosts('2026-06-01', '2026-09-28').length);
    const septemberIds = new Set(xPosts('2026-09-01', '2026-09-28').map((p) => p.post_id));
    expect(rows.filter((r) => septemberIds.has(String(r.post_id)))).toEqual(xPosts('2026-09-01', '2026-09-28'));
  });

  it('wrong tokens fail at once, naming the source and the problem, one Slack message each, the token nowhere', async () => {
    h = await open({ ig: 'IGQwrongtoken777', x: 'wrong-bearer-555666' });
    const a = await h.run('social_instagram', { from: '2026-09-01', to: '2026-09-28' });
    const b = await h.run('social_x', { from: '2026-09-01', to: '2026-09-28' });
    expect(a.error?.message).toMatch(/^source "social_instagram", stream accounts: the access token is invalid or expired/);
    expect(b.error?.message).toMatch(/^source "social_x", stream users: the credentials were rejected \(HTTP 401: Unauthorized/);
    expect(ig.requests).toHaveLength(1);
    expect(x.requests).toHaveLength(1);
    expect(slack.messages).toHaveLength(2);
    const everything = [JSON.stringify(await h.jobs.list({ limit: 10 })), ...h.log.lines, ...slack.raw].join('\n');
    expect(everything).not.toContain('IGQwrongtoken777');
    expect(everything).not.toContain('wrong-bearer-555666');
  });
});
