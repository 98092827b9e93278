/**
 * Instagram Graph API (Facebook Login flavour): `GET /{ig-user-id}`, `/{ig-user-id}/insights` (at most
 * 30 days per request), `/{ig-user-id}/media` (newest first, cursor-paged) and `/{media-id}/insights`
 * (lifetime values, no end_time). Each account publishes a media every day at 16:00 UTC; unknown
 * metrics answer error 100. Same auth, throttling and errors as the Facebook fake.
 */
import { addDays, daysBetween, type Restatement } from '../demo-data.js';
import { json, startFakeServer, type FakeServer } from '../fake-server.js';
import { authorised, dayOfUnix, graphError, graphServerError, graphThrottled, insightsBody, invalidToken, listPage, metricValue } from '../facebook/graph-api.js';

export const IG_ACCOUNT_METRICS = ['reach', 'profile_views', 'follower_count', 'impressions'];
export const IG_MEDIA_METRICS = ['impressions', 'reach', 'saved', 'shares', 'engagement'];
const MEDIA_TYPES = ['IMAGE', 'CAROUSEL_ALBUM', 'VIDEO'];

export interface InstagramMedia {
  id: string;
  timestamp: string;
  media_type: string;
  like_count: number;
  comments_count: number;
}

export interface InstagramFake extends FakeServer {
  baseUrl: string;
  token: string;
  accounts: Array<{ id: string; username: string; name: string }>;
  restatements: Restatement[];
  media(accountId: string, from: string, to: string): InstagramMedia[];
  value(objectId: string, metric: string, day: string): number;
  /** A media's lifetime metric as served now. */
  lifetime(mediaId: string, metric: string): number;
  /** Lifetime counters grow by this factor (a later snapshot). */
  setGrowth(factor: number): void;
}

export async function startInstagramFake(options: { port?: number; token?: string } = {}): Promise<InstagramFake> {
  const token = options.token ?? 'IGQfakeToken42abcdef';
  const accounts = [
    { id: '17841400000000001', username: 'northwind.coffee', name: 'Northwind Coffee' },
    { id: '17841400000000002', username: 'lumen.outdoor', name: 'Lumen Outdoor' },
  ];
  const restatements: Restatement[] = [];
  let bump = 1;
  const value = (o: string, m: string, d: string) => metricValue(o, m, d, restatements);
  const lifetime = (mediaId: string, metric: string) => Math.round(metricValue(mediaId, metric, 'lifetime', [], 5000) * bump);
  const media = (accountId: string, from: string, to: string): InstagramMedia[] =>
    daysBetween(from, to).map((d) => {
      const id = `${accountId.slice(-4)}${d.replace(/-/g, '')}`;
      return { id, timestamp: `${d}T16:00:00+0000`, media_type: MEDIA_TYPES[Number(d.slice(8)) % 3], like_count: lifetime(id, 'likes'), comments_count: lifetime(id, 'comments') };
    });
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
          path: /^\/v\d+\.\d+\/(\d{12})\/insights$/,
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
            return json(200, { ...a, followers_count: 10_000 + value(id, 'followers', 'now') });
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
