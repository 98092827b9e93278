/**
 * Facebook Graph API v19.0 for Pages: `GET /{page-id}`, `/{page-id}/insights`, `/{page-id}/published_posts`
 * (newest first, cursor-paged) and `/{post-id}/insights`. Page insights span at most 90 days per request
 * and 2 years back, as the real API; unknown metrics answer error 100. Every page publishes one post a
 * day at 14:00 UTC (two on Mondays) whose daily insights run for 28 days.
 */
import { addDays, daysBetween, type Restatement } from '../demo-data.js';
import { json, startFakeServer, type FakeServer } from '../fake-server.js';
import { authorised, dayOfUnix, graphError, graphServerError, graphThrottled, insightsBody, invalidToken, listPage, metricValue } from './graph-api.js';

export const FACEBOOK_PAGE_METRICS = ['page_impressions', 'page_post_engagements', 'page_fans', 'page_daily_follows_unique', 'page_daily_unfollows_unique', 'page_views_total'];
export const FACEBOOK_POST_METRICS = ['post_impressions', 'post_impressions_unique', 'post_clicks', 'post_video_views', 'post_reactions_like_total', 'post_comments', 'post_shares'];

export interface FacebookFakeOptions {
  port?: number;
  token?: string;
  pages?: Array<{ id: string; name: string; username: string }>;
  /** The fake's today: insights reach 2 years back from it (default 2026-12-01). */
  today?: string;
}

export interface FacebookPost {
  id: string;
  page_id: string;
  created_time: string;
  status_type: string;
}

export interface FacebookFake extends FakeServer {
  baseUrl: string;
  token: string;
  pages: Array<{ id: string; name: string; username: string }>;
  restatements: Restatement[];
  /** Posts of a page created on these days. */
  posts(pageId: string, from: string, to: string): FacebookPost[];
  /** A page metric's value on a day (as served now). */
  value(objectId: string, metric: string, day: string): number;
}

const STATUS_TYPES = ['added_photos', 'shared_story', 'added_video', 'mobile_status_update'];

export async function startFacebookFake(options: FacebookFakeOptions = {}): Promise<FacebookFake> {
  const token = options.token ?? 'EAAfakePageToken0123456789';
  const pages = options.pages ?? [
    { id: '104512345678901', name: 'Northwind Coffee', username: 'northwindcoffee' },
    { id: '104512345678902', name: 'Lumen Outdoor', username: 'lumenoutdoor' },
  ];
  const today = options.today ?? '2026-12-01';
  const restatements: Restatement[] = [];
  const value = (objectId: string, metric: string, day: string) => metricValue(objectId, metric, day, restatements, metric === 'page_fans' ? 100_000 : 1000);
  const posts = (pageId: string, from: string, to: string): FacebookPost[] =>
    daysBetween(from, to).flatMap((d) => {
      const n = new Date(`${d}T00:00:00Z`).getUTCDay() === 1 ? 2 : 1;
      return Array.from({ length: n }, (_, k) => ({
        id: `${pageId}_${d.replace(/-/g, '')}${k}`,
        page_id: pageId,
        created_time: `${d}T${k ? '18' : '14'}:00:00+0000`,
        status_type: STATUS_TYPES[(Number(d.slice(8)) + k) % STATUS_TYPES.length],
      }));
    });
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
            const created = `${postId.split('_')[1].slice(0, 4)}-${postId.split('_')[1].slice(4, 6)}-${postId.split('_')[1].slice(6, 8)}`;
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
            return json(200, { id: page.id, name: page.name, username: page.username, category: 'Brand', followers_count: value(page.id, 'page_fans', today) });
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
