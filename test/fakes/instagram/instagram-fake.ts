/**
 * Instagram Graph API (Facebook Login flavour): `GET /{ig-user-id}`, `/{ig-user-id}/insights` (at most
 * 30 days per request), `/{ig-user-id}/media` (newest first, cursor-paged) and `/{media-id}/insights`
 * (lifetime values, no end_time). Each account publishes a media every day at 16:00 UTC; unknown
 * metrics answer error 100. Same auth, throttling and errors as the Facebook fake.
 *
 * Its accounts are the demo's Instagram accounts, answering with the demo generator's rows: account
 * insights from the account's social.account_daily row (follower_count = the day's new followers,
 * profile_views; reach and impressions add up the day's post rows), media are the demo's posts, and a
 * media's lifetime insights are the sums of its daily social.post_daily rows. An account the demo does
 * not have (the `accounts` option) publishes a media a day at 16:00 UTC with hash-derived values.
 */
import { addDays, daysBetween, type DemoDataOptions, type Restatement } from '../demo-data.js';
import { json, startFakeServer, type FakeServer } from '../fake-server.js';
import { demoSocial, graphTime, type DemoPost } from '../social-demo.js';
import { authorised, dayOfUnix, graphError, graphServerError, graphThrottled, insightsBody, invalidToken, listPage, metricValue, restated } from '../facebook/graph-api.js';

export const IG_ACCOUNT_METRICS = ['reach', 'profile_views', 'follower_count', 'impressions'];
export const IG_MEDIA_METRICS = ['impressions', 'reach', 'saved', 'shares', 'engagement'];
const MEDIA_TYPES = ['IMAGE', 'CAROUSEL_ALBUM', 'VIDEO'];

export interface InstagramMedia {
  id: string;
  timestamp: string;
  media_type: string;
  media_product_type: string;
  like_count: number;
  comments_count: number;
}

export interface InstagramFake extends FakeServer {
  baseUrl: string;
  token: string;
  accounts: Array<{ id: string; username: string; name: string }>;
  restatements: Restatement[];
  media(accountId: string, from: string, to: string): InstagramMedia[];
  value(objectId: string, metric: string, day: string): number | undefined;
  /** A media's lifetime metric as served now. */
  lifetime(mediaId: string, metric: string): number;
  /** Lifetime counters grow by this factor (a later snapshot). */
  setGrowth(factor: number): void;
}

/** The demo's post type → Instagram's media_type and media_product_type. */
const MEDIA_OF: Record<string, [string, string]> = { image: ['IMAGE', 'FEED'], carousel: ['CAROUSEL_ALBUM', 'FEED'], reel: ['VIDEO', 'REELS'] };

export async function startInstagramFake(options: { port?: number; token?: string; accounts?: Array<{ id: string; username: string; name: string }>; demo?: DemoDataOptions } = {}): Promise<InstagramFake> {
  const token = options.token ?? 'IGQfakeToken42abcdef';
  const demo = demoSocial('instagram', options.demo);
  const accounts = options.accounts ?? [...demo.values()].map(({ account: a }) => ({ id: a.accountId, username: a.handle.replace(/^@/, ''), name: a.name }));
  const restatements: Restatement[] = [];
  let bump = 1;
  const demoPosts = new Map<string, DemoPost>([...demo.values()].flatMap((a) => a.posts.map((p) => [p.id, p] as const)));
  /** A demo post's column summed over its days (its lifetime value), or a demo account's posts' column on a day. */
  const sum = (rows: Iterable<Record<string, unknown>>, column: string) => {
    let n = 0;
    for (const r of rows) n += Number(r[column] ?? 0);
    return n;
  };
  const postsOn = (accountId: string, day: string) => (demo.get(accountId)?.posts ?? []).flatMap((p) => (p.days.has(day) ? [p.days.get(day)!] : []));
  const value = (o: string, m: string, d: string): number | undefined => {
    const a = demo.get(o);
    if (!a) return metricValue(o, m, d, restatements);
    const row = a.daily.get(d);
    if (!row) return undefined;
    const v = m === 'follower_count' ? row.new_followers : m === 'profile_views' ? row.profile_views : sum(postsOn(o, d), m);
    return v === null || v === undefined ? undefined : restated(Number(v), d, restatements);
  };
  const LIFETIME_COLUMNS: Record<string, string[]> = { impressions: ['impressions'], reach: ['reach'], saved: ['saves'], shares: ['shares'], likes: ['likes'], comments: ['comments'], engagement: ['likes', 'comments', 'shares', 'saves'] };
  const lifetime = (mediaId: string, metric: string) => {
    const p = demoPosts.get(mediaId);
    if (!p) return Math.round(metricValue(mediaId, metric, 'lifetime', [], 5000) * bump);
    return Math.round((LIFETIME_COLUMNS[metric] ?? [metric]).reduce((n, c) => n + sum(p.days.values(), c), 0) * bump);
  };
  const media = (accountId: string, from: string, to: string): InstagramMedia[] => {
    const a = demo.get(accountId);
    if (a) {
      return a.posts
        .filter((p) => p.publishedAt.slice(0, 10) >= from && p.publishedAt.slice(0, 10) <= to)
        .map((p) => {
          const [type, product] = MEDIA_OF[p.postType] ?? ['IMAGE', 'FEED'];
          return { id: p.id, timestamp: graphTime(p.publishedAt), media_type: type, media_product_type: product, like_count: lifetime(p.id, 'likes'), comments_count: lifetime(p.id, 'comments') };
        });
    }
    return daysBetween(from, to).map((d) => {
      const id = `${accountId.slice(-4)}${d.replace(/-/g, '')}`;
      const type = MEDIA_TYPES[Number(d.slice(8)) % 3];
      return { id, timestamp: `${d}T16:00:00+0000`, media_type: type, media_product_type: 'FEED', like_count: lifetime(id, 'likes'), comments_count: lifetime(id, 'comments') };
    });
  };
  let origin = '';
  const range = (q: URLSearchParams) => {
    const since = dayOfUnix(q.get('since'));
    const until = dayOfUnix(q.get('until'));
    return since && until && since < until ? { since, until } : undefined;
  };
  const server = await startFakeServer(
    {
      name: 'instagram',
      routes: [
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(1784\d+)\/insights$/,
          data: true,
          handle: (req, [id]) => {
            if (!authorised(req, token)) return invalidToken();
            const metrics = (req.query.get('metric') ?? '').split(',').filter(Boolean);
            const unknown = metrics.find((m) => !IG_ACCOUNT_METRICS.includes(m));
            if (!metrics.length || unknown) return graphError(400, 100, `(#100) metric[0] must be one of the following values: ${IG_ACCOUNT_METRICS.join(', ')}`);
            const r = range(req.query);
            if (!r) return graphError(400, 100, '(#100) since and until must be unix times');
            if (daysBetween(r.since, r.until).length - 1 > 30) return graphError(400, 100, '(#100) The since and until parameters must be no more than 30 days apart');
            return json(200, insightsBody(id, metrics, daysBetween(r.since, addDays(r.until, -1)), (m, d) => value(id, m, d), origin, req.path));
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(1784\d+)\/media$/,
          data: true,
          handle: (req, [id]) => {
            if (!authorised(req, token)) return invalidToken();
            const r = range(req.query);
            if (!r) return graphError(400, 100, '(#100) since and until must be unix times');
            return json(200, listPage(media(id, r.since, addDays(r.until, -1)).reverse(), req, origin));
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(\d{12}|1789\d+)\/insights$/,
          data: true,
          handle: (req, [mediaId]) => {
            if (!authorised(req, token)) return invalidToken();
            const metrics = (req.query.get('metric') ?? '').split(',').filter(Boolean);
            const unknown = metrics.find((m) => !IG_MEDIA_METRICS.includes(m));
            if (!metrics.length || unknown) return graphError(400, 100, `(#100) The Media Insights API does not support the ${unknown ?? '(none)'} metric for this media product type`);
            return json(200, { data: metrics.map((name) => ({ name, period: 'lifetime', values: [{ value: lifetime(mediaId, name) }], title: name, id: `${mediaId}/insights/${name}/lifetime` })) });
          },
        },
        {
          method: 'GET',
          path: /^\/v\d+\.\d+\/(1784\d+)$/,
          handle: (req, [id]) => {
            if (!authorised(req, token)) return invalidToken();
            const a = accounts.find((x) => x.id === id);
            if (!a) return graphError(400, 100, `Unsupported get request. Object with ID '${id}' does not exist`);
            const latest = demo.has(id) ? [...demo.get(id)!.daily.values()].at(-1)?.follower_count : undefined;
            return json(200, { ...a, followers_count: latest !== undefined ? Number(latest) : 10_000 + (value(id, 'followers', 'now') ?? 0) });
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
  return Object.assign(server, {
    baseUrl: `${server.url}/v19.0`,
    token,
    accounts,
    restatements,
    media,
    value,
    get lifetime() {
      return lifetime;
    },
    /** Lifetime counters grow by this factor (a later snapshot). */
    setGrowth(factor: number) {
      bump = factor;
    },
  });
}
