/**
 * The demo generator's social data, indexed the way the Graph API fakes serve it: per account, its
 * daily account row by day and its posts (published time, type, daily row by day). An account of the
 * demo (src/demo/catalog.ts) answers with the demo's numbers, so the connector fills social.account_daily
 * and social.post_daily with the rows `sextant demo` writes for the same days.
 */
import { SOCIAL_ACCOUNT_LIST, type SocialAccount } from '../../src/demo/catalog.js';
import type { DemoRow } from '../../src/demo/rows.js';
import { demoRows, type DemoDataOptions } from './demo-data.js';

/** A post of the demo and its tracked days. */
export interface DemoPost {
  id: string;
  accountId: string;
  /** `YYYY-MM-DD HH:MM:SS` (UTC). */
  publishedAt: string;
  postType: string;
  days: Map<string, DemoRow>;
}

/** The demo's social data of one account. */
export interface DemoSocialAccount {
  account: SocialAccount;
  daily: Map<string, DemoRow>;
  /** Oldest first. */
  posts: DemoPost[];
}

const cache = new Map<string, Map<string, DemoSocialAccount>>();

/** The demo's accounts of a platform, by account id (memoised per platform, rows and seed). */
export function demoSocial(platform: 'facebook' | 'instagram' | 'x', options: DemoDataOptions = {}): Map<string, DemoSocialAccount> {
  const key = `${platform}|${options.rows ?? ''}|${options.seed ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const out = new Map<string, DemoSocialAccount>();
  for (const account of SOCIAL_ACCOUNT_LIST) if (account.platform === platform) out.set(account.accountId, { account, daily: new Map(), posts: [] });
  for (const r of demoRows('social.account_daily', options)) out.get(r.account_id as string)?.daily.set(r.metric_date as string, r);
  const posts = new Map<string, DemoPost>();
  for (const r of demoRows('social.post_daily', options)) {
    const a = out.get(r.account_id as string);
    if (!a) continue;
    let post = posts.get(r.post_id as string);
    if (!post) {
      post = { id: r.post_id as string, accountId: a.account.accountId, publishedAt: r.published_at as string, postType: r.post_type as string, days: new Map() };
      posts.set(post.id, post);
      a.posts.push(post);
    }
    post.days.set(r.metric_date as string, r);
  }
  for (const a of out.values()) a.posts.sort((x, y) => (x.publishedAt < y.publishedAt ? -1 : x.publishedAt > y.publishedAt ? 1 : x.id < y.id ? -1 : 1));
  cache.set(key, out);
  return out;
}

/** A demo timestamp as Graph writes one: `2026-11-24T13:05:09+0000`. */
export function graphTime(ts: string): string {
  return `${ts.replace(' ', 'T')}+0000`;
}
