/**
 * The newcomer's path: the example project's sources (examples/agency/sources/*.yml), pointed at the
 * fakes by exactly the environment `npm run fakes` prints, load the tables the example models read —
 * and, for the APIs whose fakes serve the demo generator's rows (GA4, Mailchimp, Crimson Hexagon,
 * Unmetric, Facebook, Instagram, X), with the rows `sextant demo` writes — for Instagram and X, whose
 * APIs give a post's lifetime counters only, their sums.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCIAL_ACCOUNT_LIST } from '../../src/demo/catalog.js';
import type { DemoRow } from '../../src/demo/rows.js';
import { addDays, demoRows, type FakeTable } from '../fakes/demo-data.js';
import { exampleEnvironment, FAKES, type StartedFake } from '../fakes/registry.js';
import { openHarness, type Harness } from './connector-harness.js';

const WINDOW = { from: '2026-11-24', to: '2026-11-30' };
const inWindow = (r: DemoRow) => (r.metric_date as string) >= WINDOW.from && (r.metric_date as string) <= WINDOW.to;

/** The demo's rows of `table` for the window, as the API reports them. */
function demoWindow(table: FakeTable, adjust: (r: DemoRow) => DemoRow = (r) => r): DemoRow[] {
  return demoRows(table).filter(inWindow).map(adjust);
}

describe('the example project against `npm run fakes`', () => {
  let h: Harness;
  const fakes = new Map<string, StartedFake>();
  let env: Record<string, string> = {};
  beforeAll(async () => {
    h = await openHarness('duckdb');
    for (const entry of FAKES) {
      const f = await entry.start();
      fakes.set(entry.name, f);
      env = { ...env, ...(await exampleEnvironment(entry, f)) };
    }
  });
  afterAll(async () => {
    for (const f of fakes.values()) await f.server.close();
    await h.close();
  });

  const runExample = async (source: string) => {
    const yaml = await readFile(join(import.meta.dirname, '../../examples/agency/sources', `${source}.yml`), 'utf8');
    return h.pull(source, yaml, WINDOW, env);
  };

  it('web_ga4 fills web.ga4_daily and web.page_daily with the demo’s rows (GA4 reports 0 where the demo has no cost data)', async () => {
    await runExample('web_ga4');
    const zeroCost = (r: DemoRow): DemoRow => ({ ...r, ad_clicks: r.ad_clicks ?? 0, ad_cost: r.ad_cost ?? '0' });
    expect(await h.tableLines('web_ga4_daily')).toEqual(h.expectedLines('web_ga4_daily', demoWindow('web.ga4_daily', zeroCost)));
    expect(await h.tableLines('web_page_daily')).toEqual(h.expectedLines('web_page_daily', demoWindow('web.page_daily')));
  });

  it('listening_crimson_hexagon and listening_unmetric fill their tables with exactly the demo’s rows', async () => {
    await runExample('listening_crimson_hexagon');
    await runExample('listening_unmetric');
    const mentions = await h.tableLines('listening_mentions_daily');
    expect(mentions.length).toBeGreaterThan(100);
    expect(mentions).toEqual(h.expectedLines('listening_mentions_daily', demoWindow('listening.mentions_daily')));
    expect(await h.tableLines('listening_brand_daily')).toEqual(h.expectedLines('listening_brand_daily', demoWindow('listening.brand_daily')));
  });

  it('social_facebook fills social.account_daily and social.post_daily with exactly the demo’s Facebook rows', async () => {
    await runExample('social_facebook');
    const facebook = (r: DemoRow) => r.platform === 'facebook';
    const accountDaily = await h.tableLines('social_account_daily');
    expect(accountDaily.length).toBe(4 * 7);
    expect(accountDaily).toEqual(h.expectedLines('social_account_daily', demoWindow('social.account_daily').filter(facebook)));
    // Every post tracked in the window (published up to 27 days before it), every column the demo fills.
    const posts = await h.tableLines('social_post_daily');
    expect(posts.length).toBeGreaterThan(50);
    expect(posts).toEqual(h.expectedLines('social_post_daily', demoWindow('social.post_daily').filter(facebook)));
    const accounts = await h.rows(`SELECT account_id, platform, account_name, handle FROM social.accounts ORDER BY account_id`);
    expect(accounts).toEqual(
      SOCIAL_ACCOUNT_LIST.filter((a) => a.platform === 'facebook')
        .map((a) => ({ account_id: a.accountId, platform: 'facebook', account_name: a.name, handle: a.handle }))
        .sort((x, y) => (x.account_id < y.account_id ? -1 : 1)),
    );
  });

  /**
   * Instagram and X keep no daily history of a post: a run records each recent post's lifetime counters,
   * dated the run's day. The demo's daily rows of a post add up to them.
   */
  const lifetimes = (platform: string, publishedFrom: string) => {
    const byPost = new Map<string, Record<string, number | string>>();
    for (const r of demoRows('social.post_daily')) {
      if (r.platform !== platform) continue;
      const day = (r.published_at as string).slice(0, 10);
      if (day < publishedFrom || day > WINDOW.to) continue;
      const t = byPost.get(r.post_id as string) ?? { post_id: r.post_id as string, post_type: r.post_type as string, impressions: 0, likes: 0, comments: 0, shares: 0, saves: 0, reach: 0 };
      for (const c of ['impressions', 'likes', 'comments', 'shares', 'saves', 'reach'] as const) t[c] = Number(t[c]) + Number(r[c] ?? 0);
      byPost.set(r.post_id as string, t);
    }
    return [...byPost.values()].sort((a, b) => (a.post_id < b.post_id ? -1 : 1));
  };
  const numbers = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' || (typeof v === 'string' && k !== 'post_id' && k !== 'post_type' && k !== 'metric_date' && k !== 'account_id') ? Number(v) : v])));

  it('social_instagram fills account insights with the demo’s days and snapshots of the demo’s posts (their daily rows summed)', async () => {
    await runExample('social_instagram');
    const daily = numbers(await h.rows(`SELECT account_id, CAST(metric_date AS VARCHAR) AS metric_date, new_followers, profile_views FROM social.account_daily WHERE platform = 'instagram' ORDER BY account_id, metric_date`));
    expect(daily).toHaveLength(4 * 7);
    expect(daily).toEqual(
      demoWindow('social.account_daily')
        .filter((r) => r.platform === 'instagram')
        .map((r) => ({ account_id: r.account_id, metric_date: r.metric_date, new_followers: r.new_followers, profile_views: r.profile_views }))
        .sort((a, b) => `${a.account_id}${a.metric_date}`.localeCompare(`${b.account_id}${b.metric_date}`)),
    );
    // Media published in the window or the 27 days before it, one snapshot each, dated the run's day.
    const posts = numbers(await h.rows(`SELECT post_id, CAST(metric_date AS VARCHAR) AS metric_date, post_type, impressions, reach, likes, comments, shares, saves FROM social.post_daily WHERE platform = 'instagram' ORDER BY post_id`));
    const expected = lifetimes('instagram', addDays(WINDOW.from, -27)).map((t) => ({ post_id: t.post_id, metric_date: '2026-12-01', post_type: t.post_type, impressions: t.impressions, reach: t.reach, likes: t.likes, comments: t.comments, shares: t.shares, saves: t.saves }));
    expect(expected.length).toBeGreaterThan(20);
    expect(posts).toEqual(expected);
  });

  it('social_x fills tweet snapshots with the demo’s posts (their daily rows summed) and followers with the demo’s latest count', async () => {
    await runExample('social_x');
    // post_type too: the demo's tweet, thread, video and link posts come back as such (media, links, self-replies).
    const posts = numbers(await h.rows(`SELECT post_id, CAST(metric_date AS VARCHAR) AS metric_date, post_type, impressions, likes, comments, shares FROM social.post_daily WHERE platform = 'x' ORDER BY post_id`));
    const expected = lifetimes('x', WINDOW.from).map((t) => ({ post_id: t.post_id, metric_date: '2026-12-01', post_type: t.post_type, impressions: t.impressions, likes: t.likes, comments: t.comments, shares: t.shares }));
    expect(expected.length).toBeGreaterThan(10);
    expect(posts).toEqual(expected);
    const followers = numbers(await h.rows(`SELECT account_id, follower_count FROM social.account_daily WHERE platform = 'x' AND metric_date = DATE '2026-12-01' ORDER BY account_id`));
    const latest = demoRows('social.account_daily').filter((r) => r.platform === 'x' && r.metric_date === WINDOW.to);
    expect(followers).toEqual(latest.map((r) => ({ account_id: r.account_id, follower_count: r.follower_count })).sort((a, b) => String(a.account_id).localeCompare(String(b.account_id))));
  });

  it('email_mailchimp fills email.list_daily with the demo’s rows and email.campaign_daily with its daily activity', async () => {
    await runExample('email_mailchimp');
    expect(await h.tableLines('email_list_daily')).toEqual(h.expectedLines('email_list_daily', demoWindow('email.list_daily')));

    // Campaigns sent in the window: every tracked day's sends, opens and clicks as the demo has them;
    // the lifetime counters Mailchimp does not split by day add up to the demo's totals on the send day.
    const sent = demoRows('email.campaign_daily').filter((r) => (r.send_time as string).slice(0, 10) >= WINDOW.from && (r.send_time as string).slice(0, 10) <= WINDOW.to);
    const rows = await h.warehouse.query('SELECT campaign_id, metric_date, emails_sent, unique_opens, proxy_excluded_unique_opens, unique_clicks, opens_total, unsubscribed FROM email.campaign_daily');
    const daily = (r: Record<string, unknown>) => [r.campaign_id, String(r.metric_date instanceof Date ? r.metric_date.toISOString() : r.metric_date).slice(0, 10), Number(r.emails_sent), Number(r.unique_opens), r.proxy_excluded_unique_opens === null ? null : Number(r.proxy_excluded_unique_opens), Number(r.unique_clicks)].join('|');
    expect(rows.map(daily).sort()).toEqual(sent.map(daily).sort());
    const total = (list: Array<Record<string, unknown>>, k: string) => list.reduce((s, r) => s + Number(r[k] ?? 0), 0);
    expect(total(rows, 'opens_total')).toBe(total(sent, 'opens_total'));
    expect(total(rows, 'unsubscribed')).toBe(total(sent, 'unsubscribed'));
    expect(sent.length).toBeGreaterThan(10);
  });
});
