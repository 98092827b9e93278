/**
 * Facebook Graph API v19.0 for Pages: `GET /{page-id}`, `/{page-id}/insights`, `/{page-id}/published_posts`
 * (newest first, cursor-paged) and `/{post-id}/insights`. Page insights span at most 90 days per request
 * and 2 years back, as the real API; unknown metrics answer error 100.
 *
 * Its pages are the demo's Facebook accounts (src/demo/), and they answer with the demo generator's
 * rows: page insights are the account's social.account_daily row of the day (page_fans = follower_count,
 * …; page_impressions and page_post_engagements add up the day's post rows), posts are the demo's posts
 * with their daily social.post_daily rows for the 28 days after publication; a day or metric the demo
 * has no value for is left out of the series (video views of a photo). So a run fills the tables with
 * the rows `sextant demo` writes. A page the demo does not have (the `pages` option, e.g. 20 pages for
 * the benchmark) publishes one post a day at 14:00 UTC (two on Mondays) with values derived from a hash.
 */
import { addDays, daysBetween, type DemoDataOptions, type Restatement } from '../demo-data.js';
import { json, startFakeServer, type FakeServer } from '../fake-server.js';
import { demoSocial, graphTime, type DemoPost } from '../social-demo.js';
import { authorised, dayOfUnix, graphError, graphServerError, graphThrottled, insightsBody, invalidToken, listPage, metricValue, restated } from './graph-api.js';

export const FACEBOOK_PAGE_METRICS = ['page_impressions', 'page_post_engagements', 'page_fans', 'page_daily_follows_unique', 'page_daily_unfollows_unique', 'page_views_total'];
export const FACEBOOK_POST_METRICS = ['post_impressions', 'post_impressions_unique', 'post_clicks', 'post_video_views', 'post_reactions_like_total', 'post_comments', 'post_shares'];

export interface FacebookFakeOptions {
  port?: number;
  token?: string;
  /** Default: the demo's Facebook accounts. */
  pages?: Array<{ id: string; name: string; username: string }>;
  /** The fake's today: insights reach 2 years back from it (default 2026-12-01). */
  today?: string;
  /** Which demo the data agrees with (default: `sextant demo`'s). */
  demo?: DemoDataOptions;
}

export interface FacebookPost {
  id: string;
  page_id: string;
  created_time: string;
  status_type: string;
  from: { id: string; name: string };
}

export interface FacebookFake extends FakeServer {
  baseUrl: string;
  token: string;
  pages: Array<{ id: string; name: string; username: string }>;
  restatements: Restatement[];
  /** Posts of a page created on these days. */
  posts(pageId: string, from: string, to: string): FacebookPost[];
  /** A page or post metric's value on a day as served now (undefined: the series has no value that day). */
  value(objectId: string, metric: string, day: string): number | undefined;
}

const STATUS_TYPES = ['added_photos', 'shared_story', 'added_video', 'mobile_status_update'];
/** Graph's status_type of a demo post type (the connector maps it back: docs/connectors/facebook_pages.md). */
export const STATUS_TYPE_OF: Record<string, string> = { photo: 'added_photos', video: 'added_video', link: 'shared_story', status: 'mobile_status_update' };

/** Page metric → the demo's social.account_daily column. */
const PAGE_COLUMNS: Record<string, string> = {
  page_fans: 'follower_count',
  page_daily_follows_unique: 'new_followers',
  page_daily_unfollows_unique: 'lost_followers',
  page_views_total: 'profile_views',
};
/** Post metric → the demo's social.post_daily column. */
const POST_COLUMNS: Record<string, string> = {
  post_impressions: 'impressions',
  post_impressions_unique: 'reach',
  post_clicks: 'link_clicks',
  post_video_views: 'video_views',
  post_reactions_like_total: 'likes',
  post_comments: 'comments',
  post_shares: 'shares',
};

export async function startFacebookFake(options: FacebookFakeOptions = {}): Promise<FacebookFake> {
  const token = options.token ?? 'EAAfakePageToken0123456789';
  const demo = demoSocial('facebook', options.demo);
  const pages = options.pages ?? [...demo.values()].map(({ account: a }) => ({ id: a.accountId, name: a.name, username: a.handle }));
  const nameOf = (pageId: string) => pages.find((p) => p.id === pageId)?.name ?? pageId;
  const today = options.today ?? '2026-12-01';
  const restatements: Restatement[] = [];
  const demoPosts = new Map<string, DemoPost>([...demo.values()].flatMap((a) => a.posts.map((p) => [p.id, p] as const)));
  /** A demo page's post totals of a day: impressions and engagements (likes + comments + shares). */
  const postTotals = new Map<string, Map<string, { impressions: number; engagements: number }>>();
  const totalsOf = (pageId: string, day: string) => {
    let byDay = postTotals.get(pageId);
    if (!byDay) {
      byDay = new Map();
      for (const post of demo.get(pageId)?.posts ?? []) {
        for (const [d, r] of post.days) {
          const t = byDay.get(d) ?? { impressions: 0, engagements: 0 };
          t.impressions += Number(r.impressions ?? 0);
          t.engagements += Number(r.likes ?? 0) + Number(r.comments ?? 0) + Number(r.shares ?? 0);
          byDay.set(d, t);
        }
      }
      postTotals.set(pageId, byDay);
    }
    return byDay.get(day);
  };
  const value = (objectId: string, metric: string, day: string): number | undefined => {
    let v: unknown;
    if (demo.has(objectId)) {
      const row = demo.get(objectId)!.daily.get(day);
      if (!row) return undefined;
      if (metric === 'page_impressions') v = totalsOf(objectId, day)?.impressions ?? 0;
      else if (metric === 'page_post_engagements') v = totalsOf(objectId, day)?.engagements ?? 0;
      else v = row[PAGE_COLUMNS[metric]];
    } else if (demoPosts.has(objectId)) {
      v = demoPosts.get(objectId)!.days.get(day)?.[POST_COLUMNS[metric]];
    } else return metricValue(objectId, metric, day, restatements, metric === 'page_fans' ? 100_000 : 1000);
    return v === null || v === undefined ? undefined : restated(Number(v), day, restatements);
  };
  const posts = (pageId: string, from: string, to: string): FacebookPost[] => {
    const from_ = { id: pageId, name: nameOf(pageId) };
    const ofDemo = demo.get(pageId);
    if (ofDemo) {
      return ofDemo.posts
        .filter((p) => p.publishedAt.slice(0, 10) >= from && p.publishedAt.slice(0, 10) <= to)
        .map((p) => ({ id: p.id, page_id: pageId, created_time: graphTime(p.publishedAt), status_type: STATUS_TYPE_OF[p.postType] ?? p.postType, from: from_ }));
    }
    return daysBetween(from, to).flatMap((d) => {
      const n = new Date(`${d}T00:00:00Z`).getUTCDay() === 1 ? 2 : 1;
      return Array.from({ length: n }, (_, k) => ({
        id: `${pageId}_${d.replace(/-/g, '')}${k}`,
        page_id: pageId,
        created_time: `${d}T${k ? '18' : '14'}:00:00+0000`,
        status_type: STATUS_TYPES[(Number(d.slice(8)) + k) % STATUS_TYPES.length],
        from: from_,
      }));
    });
  };
  /** The day a post was published. */
  const createdDay = (postId: string): string => {
    const p = demoPosts.get(postId);
    if (p) return p.publishedAt.slice(0, 10);
    const digits = postId.split('_')[1];
    return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  };
  let origin = '';
  const range = (q: URLSearchParams): { since: string; until: string } | undefined => {
    const since = dayOfUnix(q.get('since'));
    const until = dayOfUnix(q.get('until'));
    return since && until && since < until ? { since, until } : undefined;
  };

  const server = await startFakeServer(
    {
      name: 'facebook',
      routes: [
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(\d+)\/insights$/,
          data: true,
          handle: (req, [pageId]) => {
            if (!authorised(req, token)) return invalidToken();
            if (!pages.some((p) => p.id === pageId)) return graphError(400, 100, `Unsupported get request. Object with ID '${pageId}' does not exist`);
            const metrics = (req.query.get('metric') ?? '').split(',').filter(Boolean);
            const unknown = metrics.find((m) => !FACEBOOK_PAGE_METRICS.includes(m));
            if (metrics.length === 0 || unknown) return graphError(400, 100, `(#100) The value must be a valid insights metric${unknown ? `: ${unknown}` : ''}`);
            if (req.query.get('period') !== 'day') return graphError(400, 100, '(#100) period must be day for this request');
            const r = range(req.query);
            if (!r) return graphError(400, 100, '(#100) since and until must be unix times, since before until');
            if (daysBetween(r.since, r.until).length - 1 > 90) return graphError(400, 100, '(#100) There cannot be more than 90 days (7776000 s) between since and until');
            if (r.since < addDays(today, -730)) return graphError(400, 100, '(#100) Insights are available for the last 2 years only');
            const days = daysBetween(r.since, addDays(r.until, -1));
            return json(200, insightsBody(pageId, metrics, days, (m, d) => value(pageId, m, d), origin, req.path));
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(\d+)\/published_posts$/,
          data: true,
          handle: (req, [pageId]) => {
            if (!authorised(req, token)) return invalidToken();
            const r = range(req.query);
            if (!r) return graphError(400, 100, '(#100) since and until must be unix times');
            const all = posts(pageId, r.since, addDays(r.until, -1)).reverse();
            return json(200, listPage(all, req, origin));
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(\d+_\d+)\/insights$/,
          data: true,
          handle: (req, [postId]) => {
            if (!authorised(req, token)) return invalidToken();
            const metrics = (req.query.get('metric') ?? '').split(',').filter(Boolean);
            const unknown = metrics.find((m) => !FACEBOOK_POST_METRICS.includes(m));
            if (metrics.length === 0 || unknown) return graphError(400, 100, `(#100) The value must be a valid insights metric${unknown ? `: ${unknown}` : ''}`);
            const r = range(req.query);
            if (!r) return graphError(400, 100, '(#100) since and until must be unix times');
            const created = createdDay(postId);
            const days = daysBetween(r.since, addDays(r.until, -1)).filter((d) => d >= created && d <= addDays(created, 27));
            return json(200, insightsBody(postId, metrics, days, (m, d) => value(postId, m, d), origin, req.path));
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(\d+)$/,
          handle: (req, [pageId]) => {
            if (!authorised(req, token)) return invalidToken();
            const page = pages.find((p) => p.id === pageId);
            if (!page) return graphError(400, 100, `Unsupported get request. Object with ID '${pageId}' does not exist`);
            return json(200, { id: page.id, name: page.name, username: page.username, category: 'Brand', followers_count: value(page.id, 'page_fans', addDays(today, -1)) ?? 0 });
          },
        },
      ],
      throttled: graphThrottled,
      serverError: graphServerError,
      unauthorized: invalidToken,
    },
    { port: options.port },
  );
  origin = server.url;
  return Object.assign(server, { baseUrl: `${server.url}/v19.0`, token, pages, restatements, posts, value });
}
