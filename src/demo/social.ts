/**
 * Social rows: accounts, daily post insights, daily account insights and manually uploaded posts.
 *
 * A post is tracked for a few weeks after it is published, as the connectors re-pull post insights;
 * its daily impressions decay from the day it went out. Platforms differ in reach and engagement
 * (catalog.ts), days in seasonality (calendar.ts).
 */
import { DEMO_DAYS, epochMsOf, isoDay, season, timestampOf } from './calendar.js';
import { MANUAL_PLATFORMS, PLATFORM_PROFILES, SOCIAL_ACCOUNT_LIST, followersTier, type SocialAccount } from './catalog.js';
import { trackedStarts } from './allocate.js';
import { noise, Rng } from './random.js';
import { tailLengths, type DemoRow } from './rows.js';

/** Days a post's insights are pulled after publication. */
export const POST_TRACKED_DAYS = 28;
/** Days a manually uploaded post is reported for. */
export const MANUAL_POST_TRACKED_DAYS = 7;

/** Followers of an account at the end of day `d`: compounding growth with a slow wobble (campaign bursts, quiet spells). */
export function followersOn(account: SocialAccount, d: number): number {
  const wobble = 1 + 0.006 * Math.sin(d / 11 + account.index) + 0.003 * Math.sin(d / 3.7 + 2 * account.index);
  return Math.round(account.startFollowers * Math.exp((account.growth * d) / 365) * wobble);
}

/** The social accounts (a dimension table: not counted in `rows`). */
export function* accountRows(): Iterable<DemoRow> {
  for (const a of SOCIAL_ACCOUNT_LIST) {
    yield {
      account_id: a.accountId,
      platform: a.platform,
      account_name: a.name,
      handle: a.handle,
      brand: a.brand.name,
      region: a.brand.region,
      country: a.brand.country,
      category: a.brand.category,
      followers_tier: followersTier(followersOn(a, DEMO_DAYS - 1)),
      connected_on: isoDay(a.connectedDay),
      // One account was handed back to the client and is no longer managed (its history stays).
      is_active: !(a.brand.slug === 'kestrelbank' && a.platform === 'x'),
    };
  }
}

const TYPE_FACTOR: Record<string, number> = { reel: 1.7, video: 1.25, carousel: 1.15, photo: 1.0, image: 1.0, tweet: 1.0, thread: 1.2, link: 0.7, status: 0.55 };
const VIDEO_TYPES = new Set(['video', 'reel']);

function postId(account: SocialAccount, seq: number, publishedMs: number): string {
  switch (account.platform) {
    case 'facebook':
      // Page-scoped post ids: "{page_id}_{post_id}".
      return `${account.accountId}_${(1_000_000_000_000_000n + BigInt(seq) * 7_919n).toString()}`;
    case 'instagram':
      return (17_895_695_668_000_000n + BigInt(seq) * 3_001n).toString();
    case 'x':
      // Snowflake ids: milliseconds since the Twitter epoch shifted left 22 bits, then a sequence.
      // The milliseconds come from the sequence too, so two posts in one second never share an id.
      return ((BigInt(publishedMs + (seq % 1000) - 1_288_834_974_657) << 22n) | BigInt(seq % 4096)).toString();
  }
}

/** Daily post insights: exactly `count` rows. */
export function* postDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 11);
  const { first, starts } = trackedStarts(count, (d) => season('social', d), DEMO_DAYS, POST_TRACKED_DAYS);
  const accounts = SOCIAL_ACCOUNT_LIST;
  const accountWeights = accounts.map((a) => PLATFORM_PROFILES[a.platform].postWeight * Math.sqrt(a.brand.scale));
  let seq = 0;
  for (let i = 0; i < starts.length; i++) {
    const d = first + i;
    for (let j = 0; j < starts[i]; j++) {
      seq++;
      const account = rng.pick(accounts, accountWeights);
      const profile = PLATFORM_PROFILES[account.platform];
      const postType = rng.pick(
        profile.postTypes.map((t) => t[0]),
        profile.postTypes.map((t) => t[1]),
      );
      // Posting hours cluster in the working day, local time roughly matching UTC ± a few hours.
      const seconds = Math.min(86_399, Math.max(0, (13 + 3.2 * rng.normal()) * 3600));
      const publishedMs = epochMsOf(d, seconds);
      const quality = rng.spread(0.7) * (TYPE_FACTOR[postType] ?? 1);
      const lifetimeImpressions = followersOn(account, d) * profile.impressionsPerFollower * quality * season('social', d);
      const engagementRate = profile.engagementRate * Math.pow(quality, 0.35) * rng.spread(0.25);
      const tau = profile.halfLifeDays * (postType === 'reel' ? 2.5 : 1);
      const firstDayShare = 1 - Math.exp(-1 / tau);
      const id = postId(account, seq, publishedMs);
      const publishedAt = timestampOf(d, seconds);
      const isVideo = VIDEO_TYPES.has(postType);
      // Posts published before the first day contribute only their days inside the range.
      for (let k = Math.max(0, -d); k < POST_TRACKED_DAYS && d + k < DEMO_DAYS; k++) {
        const md = d + k;
        const share = firstDayShare * Math.exp(-k / tau);
        const impressions = Math.round(lifetimeImpressions * share * rng.spread(0.2) * (season('social', md) / season('social', d)));
        const engagements = impressions * engagementRate;
        yield {
          platform: account.platform,
          post_id: id,
          metric_date: isoDay(md),
          account_id: account.accountId,
          account_name: account.name,
          post_type: postType,
          published_at: publishedAt,
          impressions,
          // X reports no reach (public_metrics has impressions only).
          reach: account.platform === 'x' ? null : Math.round(impressions * (0.68 + 0.12 * rng.next())),
          likes: rng.count(engagements * profile.mix.likes),
          comments: rng.count(engagements * profile.mix.comments),
          shares: rng.count(engagements * profile.mix.shares),
          // Saves exist on Instagram only.
          saves: account.platform === 'instagram' ? rng.count(engagements * 0.09) : null,
          video_views: isVideo ? Math.round(impressions * (0.3 + 0.25 * rng.next())) : null,
          // Instagram feed posts carry no links.
          link_clicks: account.platform === 'instagram' ? null : rng.count(impressions * (postType === 'link' ? 0.014 : 0.002)),
        };
      }
    }
  }
}

/** Daily account insights: `count` rows spread over the accounts, each account keeping its most recent days. */
export function* accountDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const lengths = tailLengths(count, SOCIAL_ACCOUNT_LIST.length, DEMO_DAYS);
  for (const a of SOCIAL_ACCOUNT_LIST) {
    for (let d = DEMO_DAYS - lengths[a.index]; d < DEMO_DAYS; d++) {
      const followers = followersOn(a, d);
      const net = followers - followersOn(a, d - 1);
      // Unfollows: a steady trickle, more after heavy posting days; at least enough to explain a dip.
      const churn = Math.round(followers * 0.00035 * (0.6 + 0.8 * noise(seed, 21, a.index, d)));
      const lost = Math.max(churn, -net);
      const profileViews = Math.round(followers * 0.004 * season('social', d) * (0.7 + 0.6 * noise(seed, 22, a.index, d)));
      yield {
        account_id: a.accountId,
        metric_date: isoDay(d),
        platform: a.platform,
        follower_count: followers,
        new_followers: net + lost,
        // X reports neither unfollows nor profile views.
        lost_followers: a.platform === 'x' ? null : lost,
        profile_views: a.platform === 'x' ? null : profileViews,
      };
    }
  }
}

/** Manually uploaded LinkedIn and TikTok posts, in the exact contract of docs/targets.md: `count` rows. */
export function* manualPostRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 12);
  const { first, starts } = trackedStarts(count, (d) => season('social', d), DEMO_DAYS, MANUAL_POST_TRACKED_DAYS);
  let seq = 0;
  for (let i = 0; i < starts.length; i++) {
    const d = first + i;
    for (let j = 0; j < starts[i]; j++) {
      seq++;
      const platform = rng.pick(MANUAL_PLATFORMS, [2, 1]);
      const id = platform === 'linkedin' ? `urn:li:activity:${7_212_345_678_901_234_567n + BigInt(seq) * 9_973n}` : (7_312_345_678_901_234_567n + BigInt(seq) * 7_907n).toString();
      const total = (platform === 'linkedin' ? 9_000 : 40_000) * rng.spread(0.9) * season('social', d);
      const tau = platform === 'linkedin' ? 1.5 : 1.0;
      // Spreadsheets are incomplete: a fifth of the TikTok rows were copied without likes.
      const likesMissing = platform === 'tiktok' && rng.chance(0.2);
      for (let k = Math.max(0, -d); k < MANUAL_POST_TRACKED_DAYS && d + k < DEMO_DAYS; k++) {
        const impressions = Math.round(total * (1 - Math.exp(-1 / tau)) * Math.exp(-k / tau) * rng.spread(0.2));
        yield {
          platform,
          post_id: id,
          metric_date: isoDay(d + k),
          impressions,
          likes: likesMissing ? null : rng.count(impressions * (platform === 'linkedin' ? 0.018 : 0.06)),
        };
      }
    }
  }
}
