/**
 * `instagram`: Instagram business accounts through the Graph API (docs/connectors/instagram.md).
 *
 * - `accounts`: `GET /{ig-user-id}?fields=id,username,name,followers_count` — one record per account.
 * - `account_insights`: `GET /{ig-user-id}/insights?metric=reach,profile_views,follower_count&period=day`
 *   — one record per account and day (`follower_count` is the day's new followers, also given as
 *   `new_followers`). At most 30 days per request.
 * - `media_insights`: the media published in the window or the 28 days before it (`GET /{ig-user-id}/media`,
 *   cursor-paged), then per media its lifetime insights (`GET /{media-id}/insights`): Instagram keeps no
 *   daily history of a post, so each run records a snapshot dated the run's day.
 */
import { paginate, recordsAt, withParams } from '../paginate.js';
import type { ConnectorType, PullContext, SourcePage } from '../types.js';
import { addDays, utcDay } from '../windows.js';
import { GRAPH_BASE_URL, graphClassifier, graphHeaders, graphIds, metricNames, pivotInsights, unixDay } from '../graph/graph.js';

export interface InstagramSettings {
  accountIds: string[];
  metrics: string[];
  mediaMetrics: string[];
}

export const DEFAULT_IG_METRICS = ['reach', 'profile_views', 'follower_count'] as const;
export const DEFAULT_IG_MEDIA_METRICS = ['impressions', 'reach', 'saved', 'shares'] as const;
const ACCOUNT_ALIASES: Record<string, string> = { follower_count: 'new_followers' };
const MEDIA_ALIASES: Record<string, string> = { saved: 'saves' };

/**
 * A media's type as social.post_daily writes post types: `image`, `carousel`, `reel` (a VIDEO whose
 * media_product_type is REELS), `video`; another media_type lower-cased.
 */
export function postTypeOfMedia(mediaType: unknown, productType: unknown): unknown {
  if (typeof mediaType !== 'string') return mediaType;
  if (mediaType === 'CAROUSEL_ALBUM') return 'carousel';
  if (mediaType === 'VIDEO' && productType === 'REELS') return 'reel';
  return mediaType.toLowerCase();
}

/** Lifetime insights (`values: [{ value }]`, no end_time) as one record: metric → value. */
function lifetimeValues(json: unknown): Record<string, unknown> {
  const data = (json as { data?: Array<{ name: string; values?: Array<{ value: unknown }>; total_value?: { value: unknown } }> }).data ?? [];
  if (!Array.isArray(data)) throw new Error('expected "data" to be a list of metric series');
  const out: Record<string, unknown> = {};
  for (const s of data) {
    const v = s.values?.[0]?.value ?? s.total_value?.value;
    out[s.name] = v;
    if (MEDIA_ALIASES[s.name]) out[MEDIA_ALIASES[s.name]] = v;
  }
  return out;
}

async function* media(ctx: PullContext<InstagramSettings>, headers: Record<string, string>, from: string, to: string): AsyncGenerator<SourcePage> {
  const today = utcDay(ctx.now());
  for (const id of ctx.settings.accountIds) {
    const list = withParams(`${ctx.baseUrl}/${id}/media`, { fields: 'id,timestamp,media_type,media_product_type,like_count,comments_count,permalink', since: unixDay(addDays(from, -27)), until: unixDay(addDays(to, 1)), limit: 25 });
    const items: Array<Record<string, unknown>> = [];
    for await (const res of paginate(ctx.http, 'media_insights', { url: list, headers }, { type: 'next_url', urlPath: 'paging.next' }, (j) => recordsAt(j, 'data').length, ctx.signal)) {
      yield { stream: 'media_insights', body: res.body, records: () => [] };
      items.push(...recordsAt(res.json, 'data'));
    }
    for (const m of items) {
      const url = withParams(`${ctx.baseUrl}/${String(m.id)}/insights`, { metric: ctx.settings.mediaMetrics.join(',') });
      const res = await ctx.http.get('media_insights', url, headers, ctx.signal);
      yield {
        stream: 'media_insights',
        body: res.body,
        records: () => [
          {
            platform: 'instagram',
            post_id: String(m.id),
            account_id: id,
            metric_date: today,
            published_at: m.timestamp,
            post_type: postTypeOfMedia(m.media_type, m.media_product_type),
            likes: m.like_count,
            comments: m.comments_count,
            ...lifetimeValues(res.json),
          },
        ],
      };
    }
  }
}

export const instagramType: ConnectorType<InstagramSettings> = {
  name: 'instagram',
  description: 'Instagram business account insights and media insights (Graph API).',
  mode: 'window',
  maxWindowDays: 30,
  maxHistoryDays: 730,
  defaultBaseUrl: GRAPH_BASE_URL,
  credentials: ['access_token'],
  classify: graphClassifier,
  streams: {
    accounts: { description: 'One record per account: id, username, name, followers_count.', key: ['id'] },
    account_insights: { description: 'One record per account and day: reach, profile_views, follower_count (new followers).', key: ['account_id', 'metric_date'] },
    media_insights: { description: 'One snapshot per media and run day: lifetime impressions, reach, saves, likes, comments.', key: ['platform', 'post_id', 'metric_date'] },
  },
  parseSettings(raw, problem) {
    for (const k of Object.keys(raw)) if (!['account_ids', 'metrics', 'media_metrics'].includes(k)) problem(k, `unknown setting "${k}"; expected account_ids, metrics, media_metrics`);
    return {
      accountIds: graphIds(raw.account_ids, 'account_ids', problem),
      metrics: metricNames(raw.metrics, 'metrics', DEFAULT_IG_METRICS, problem),
      mediaMetrics: metricNames(raw.media_metrics, 'media_metrics', DEFAULT_IG_MEDIA_METRICS, problem),
    };
  },
  async *pull(ctx, window) {
    const headers = graphHeaders(ctx.credentials.access_token);
    if (ctx.streams.has('accounts')) {
      for (const id of ctx.settings.accountIds) {
        const res = await ctx.http.get('accounts', withParams(`${ctx.baseUrl}/${id}`, { fields: 'id,username,name,followers_count' }), headers, ctx.signal);
        yield { stream: 'accounts', body: res.body, records: () => [{ ...(res.json as Record<string, unknown>), platform: 'instagram' }] };
      }
    }
    if (ctx.streams.has('account_insights')) {
      for (const id of ctx.settings.accountIds) {
        const url = withParams(`${ctx.baseUrl}/${id}/insights`, { metric: ctx.settings.metrics.join(','), period: 'day', since: unixDay(window.from), until: unixDay(addDays(window.to, 1)) });
        const res = await ctx.http.get('account_insights', url, headers, ctx.signal);
        yield { stream: 'account_insights', body: res.body, records: () => pivotInsights(res.json, ACCOUNT_ALIASES).map((r) => ({ account_id: id, platform: 'instagram', ...r })) };
      }
    }
    if (ctx.streams.has('media_insights')) yield* media(ctx, headers, window.from, window.to);
  },
};
