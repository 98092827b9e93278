/**
 * `facebook_pages`: Facebook Page Insights and post insights through the Graph API (docs/connectors/facebook_pages.md).
 *
 * - `pages`: `GET /{page-id}?fields=id,name,username,category,followers_count` — one record per page.
 * - `page_insights`: `GET /{page-id}/insights?metric=…&period=day&since=&until=` — one record per page and
 *   day, each metric a field (plus the shared names `followers_count`, `new_followers`, `lost_followers`,
 *   `profile_views` that social.account_daily reads). At most 90 days per request; 2 years back.
 * - `post_insights`: the page's posts published in the window or the 28 days before it
 *   (`GET /{page-id}/published_posts`, cursor-paged through `paging.next`), then per post
 *   `GET /{post-id}/insights?metric=…&period=day&since=&until=` — one record per post and day.
 */
import { paginate, recordsAt, withParams } from '../paginate.js';
import type { ConnectorType, PullContext, SourcePage } from '../types.js';
import { addDays } from '../windows.js';
import { GRAPH_BASE_URL, graphClassifier, graphHeaders, graphIds, metricNames, pivotInsights, unixDay } from '../graph/graph.js';

export interface FacebookPagesSettings {
  pageIds: string[];
  metrics: string[];
  postMetrics: string[];
  /** Days after publication a post's daily insights are pulled (default 28). */
  postDays: number;
}

export const DEFAULT_PAGE_METRICS = ['page_impressions', 'page_post_engagements', 'page_fans', 'page_daily_follows_unique', 'page_daily_unfollows_unique', 'page_views_total'] as const;
export const DEFAULT_POST_METRICS = ['post_impressions', 'post_impressions_unique', 'post_clicks', 'post_video_views', 'post_reactions_like_total', 'post_comments', 'post_shares'] as const;

/** Graph metric → the shared column name of social.account_daily / social.post_daily. */
const PAGE_ALIASES: Record<string, string> = {
  page_fans: 'followers_count',
  page_follows: 'followers_count',
  page_daily_follows: 'new_followers',
  page_daily_follows_unique: 'new_followers',
  page_daily_unfollows: 'lost_followers',
  page_daily_unfollows_unique: 'lost_followers',
  page_views_total: 'profile_views',
};
const POST_ALIASES: Record<string, string> = {
  post_impressions: 'impressions',
  post_impressions_unique: 'reach',
  post_clicks: 'link_clicks',
  post_video_views: 'video_views',
  post_reactions_like_total: 'likes',
  post_comments: 'comments',
  post_shares: 'shares',
};

/**
 * Graph's `status_type` of a post → the post type social.post_daily shares with the other platforms
 * (photo, video, link, status); another status type is kept as Graph writes it.
 */
export const POST_TYPE_OF_STATUS: Readonly<Record<string, string>> = {
  added_photos: 'photo',
  added_video: 'video',
  shared_story: 'link',
  mobile_status_update: 'status',
};

async function* pagesStream(ctx: PullContext<FacebookPagesSettings>, headers: Record<string, string>): AsyncGenerator<SourcePage> {
  for (const id of ctx.settings.pageIds) {
    const res = await ctx.http.get('pages', withParams(`${ctx.baseUrl}/${id}`, { fields: 'id,name,username,category,followers_count' }), headers, ctx.signal);
    yield { stream: 'pages', body: res.body, records: () => [{ ...(res.json as Record<string, unknown>), platform: 'facebook' }] };
  }
}

async function* pageInsights(ctx: PullContext<FacebookPagesSettings>, headers: Record<string, string>, from: string, to: string): AsyncGenerator<SourcePage> {
  for (const id of ctx.settings.pageIds) {
    // `until` is exclusive: the day after the window, so the window's last day is included.
    const url = withParams(`${ctx.baseUrl}/${id}/insights`, { metric: ctx.settings.metrics.join(','), period: 'day', since: unixDay(from), until: unixDay(addDays(to, 1)) });
    const res = await ctx.http.get('page_insights', url, headers, ctx.signal);
    yield {
      stream: 'page_insights',
      body: res.body,
      records: () => pivotInsights(res.json, PAGE_ALIASES).map((r) => ({ account_id: id, platform: 'facebook', ...r })),
    };
  }
}

async function* postInsights(ctx: PullContext<FacebookPagesSettings>, headers: Record<string, string>, from: string, to: string): AsyncGenerator<SourcePage> {
  const { postDays } = ctx.settings;
  for (const id of ctx.settings.pageIds) {
    const list = withParams(`${ctx.baseUrl}/${id}/published_posts`, {
      fields: 'id,created_time,status_type,message,from',
      since: unixDay(addDays(from, -(postDays - 1))),
      until: unixDay(addDays(to, 1)),
      limit: 25,
    });
    const posts: Array<Record<string, unknown>> = [];
    for await (const res of paginate(ctx.http, 'post_insights', { url: list, headers }, { type: 'next_url', urlPath: 'paging.next' }, (j) => recordsAt(j, 'data').length, ctx.signal)) {
      // The list page is a response like any other: kept in the store; its posts become no rows themselves.
      yield { stream: 'post_insights', body: res.body, records: () => [] };
      posts.push(...recordsAt(res.json, 'data'));
    }
    for (const post of posts) {
      const postId = String(post.id);
      const published = String(post.created_time ?? '').slice(0, 10);
      // Only the days the post is tracked: publication to publication + postDays − 1, inside the window.
      const first = published > from ? published : from;
      const lastTracked = addDays(published, postDays - 1);
      const last = lastTracked < to ? lastTracked : to;
      if (!published || first > last) continue;
      const url = withParams(`${ctx.baseUrl}/${postId}/insights`, { metric: ctx.settings.postMetrics.join(','), period: 'day', since: unixDay(first), until: unixDay(addDays(last, 1)) });
      const res = await ctx.http.get('post_insights', url, headers, ctx.signal);
      yield {
        stream: 'post_insights',
        body: res.body,
        records: () =>
          pivotInsights(res.json, POST_ALIASES).map((r) => ({
            platform: 'facebook',
            post_id: postId,
            account_id: id,
            account_name: (post.from as { name?: unknown } | undefined)?.name,
            published_at: post.created_time,
            post_type: typeof post.status_type === 'string' ? (POST_TYPE_OF_STATUS[post.status_type] ?? post.status_type) : post.status_type,
            ...r,
          })),
      };
    }
  }
}

export const facebookPagesType: ConnectorType<FacebookPagesSettings> = {
  name: 'facebook_pages',
  description: 'Facebook Page Insights and post insights (Graph API), per page and day.',
  mode: 'window',
  maxWindowDays: 90,
  maxHistoryDays: 730,
  defaultBaseUrl: GRAPH_BASE_URL,
  credentials: ['access_token'],
  classify: graphClassifier,
  streams: {
    pages: { description: 'One record per page: id, name, username, category, followers_count.', key: ['id'] },
    page_insights: { description: 'One record per page and day; each requested metric a field.', key: ['account_id', 'metric_date'] },
    post_insights: { description: 'One record per post and day for the 28 days after publication.', key: ['platform', 'post_id', 'metric_date'] },
  },
  parseSettings(raw, problem) {
    for (const k of Object.keys(raw)) if (!['page_ids', 'metrics', 'post_metrics', 'post_days'].includes(k)) problem(k, `unknown setting "${k}"; expected page_ids, metrics, post_metrics, post_days`);
    const postDays = raw.post_days ?? 28;
    if (typeof postDays !== 'number' || !Number.isInteger(postDays) || postDays < 1 || postDays > 90) problem('post_days', `expected a whole number of days from 1 to 90, got "${String(postDays)}"`);
    return {
      pageIds: graphIds(raw.page_ids, 'page_ids', problem),
      metrics: metricNames(raw.metrics, 'metrics', DEFAULT_PAGE_METRICS, problem),
      postMetrics: metricNames(raw.post_metrics, 'post_metrics', DEFAULT_POST_METRICS, problem),
      postDays: typeof postDays === 'number' ? postDays : 28,
    };
  },
  async *pull(ctx, window) {
    const headers = graphHeaders(ctx.credentials.access_token);
    if (ctx.streams.has('pages')) yield* pagesStream(ctx, headers);
    if (ctx.streams.has('page_insights')) yield* pageInsights(ctx, headers, window.from, window.to);
    if (ctx.streams.has('post_insights')) yield* postInsights(ctx, headers, window.from, window.to);
  },
};
