/**
 * A generic cursor-paged JSON API for the declarative `rest` connector: `GET /v1/events?since=&until=
 * &limit=&cursor=` with `Authorization: Bearer <token>`, answering `{ data: [...], meta: { next_cursor } }`
 * (Stripe / Slack style). Events are deterministic: `perDay` events a day, each with a nested object
 * (flattened by the connector) and an amount that `restate` can change after the fact.
 */
import { addDays, daysBetween, type Restatement } from '../demo-data.js';
import { bearerToken, intParam, json, startFakeServer, type FakeServer } from '../fake-server.js';

export interface RestFakeOptions {
  port?: number;
  token?: string;
  /** Events per day (default 3). */
  perDay?: number;
  /** Largest page the API serves (default 50). */
  maxLimit?: number;
  /** Milliseconds each data request takes (a slow API; default 0). */
  delayMs?: number;
  /**
   * The API gains fields from this day on, as APIs do between versions: events of that day and later
   * also carry `coupon` (text) and `tags` (a list). Default: never.
   */
  newFieldsFrom?: string;
}

export interface RestEvent {
  id: string;
  day: string;
  channel: string;
  amount: number;
  details: { region: string; campaign: string };
  /** Only on events of days from `newFieldsFrom` on. */
  coupon?: string;
  tags?: string[];
}

export interface RestFake extends FakeServer {
  baseUrl: string;
  token: string;
  /** Events per day of the fake. */
  perDay: number;
  /** Values change after the fact for these days (amount × factor). */
  restatements: Restatement[];
  /** The events of [from, to], as served now. */
  events(from: string, to: string): RestEvent[];
  /** The microsites' sessions of [from, to], as served now. */
  sessions(from: string, to: string): MicrositeSessions[];
}

const CHANNELS = ['web', 'store', 'partner'];
const SITES = ['summit.example', 'run-festival.example'];

/** A row of the microsites' sessions API. */
export interface MicrositeSessions {
  site: string;
  date: string;
  channel: string;
  sessions: number;
  users: number;
  conversions: number;
}

/**
 * A `rest` source reading the fake's cursor-paged /v1/events (30-day windows, 25 events a page, bearer
 * token from `${SHOP_API_TOKEN}`) into target `shop_events`, as a user would write it; `head` adds
 * top-level keys (`start_date: …`).
 */
export function eventsSourceYaml(baseUrl: string, head = ''): string {
  return `
type: rest
${head}
base_url: ${baseUrl}
credentials:
  token: \${SHOP_API_TOKEN}
settings:
  auth: { type: bearer, credential: token }
  max_window_days: 30
  streams:
    events:
      path: /v1/events
      key: [id]
      records: data
      params: { limit: 25 }
      window: { from_param: since, to_param: until, format: date }
      paginator: { type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor }
streams:
  events: shop_events
`;
}

export async function startRestFake(options: RestFakeOptions = {}): Promise<RestFake> {
  const token = options.token ?? 'rest-fake-token-7f3a9c';
  const perDay = options.perDay ?? 3;
  const maxLimit = options.maxLimit ?? 50;
  const restatements: Restatement[] = [];

  const events = (from: string, to: string): RestEvent[] =>
    daysBetween(from, to).flatMap((day) =>
      Array.from({ length: perDay }, (_, i) => {
        const n = Number(day.replace(/-/g, '')) * 10 + i;
        let amount = (n % 997) + i * 3;
        for (const r of restatements) if (day >= r.from && day <= r.to) amount = Math.round(amount * r.factor);
        const event: RestEvent = { id: `ev_${day.replace(/-/g, '')}_${i}`, day, channel: CHANNELS[n % CHANNELS.length], amount, details: { region: i % 2 ? 'emea' : 'amer', campaign: `c${n % 5}` } };
        if (options.newFieldsFrom !== undefined && day >= options.newFieldsFrom) Object.assign(event, { coupon: `SAVE${n % 4}`, tags: i % 2 ? ['promo'] : ['promo', 'app'] });
        return event;
      }),
    );

  const sessions = (from: string, to: string): MicrositeSessions[] =>
    daysBetween(from, to).flatMap((date) =>
      SITES.flatMap((site) =>
        CHANNELS.map((channel) => {
          const n = Number(date.replace(/-/g, '')) + site.length * 7 + channel.length;
          let sessionsCount = 50 + (n % 400);
          for (const r of restatements) if (date >= r.from && date <= r.to) sessionsCount = Math.round(sessionsCount * r.factor);
          return { site, date, channel, sessions: sessionsCount, users: Math.round(sessionsCount * 0.8), conversions: n % 9 };
        }),
      ),
    );

  const server: FakeServer = await startFakeServer(
    {
      name: 'rest',
      routes: [
        {
          method: 'GET',
          path: /^\/v1\/events$/,
          data: true,
          handle: async (req) => {
            if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
            if (bearerToken(req) !== token) return json(401, { error: { type: 'unauthorized', message: 'Invalid API token' } });
            const since = req.query.get('since');
            const until = req.query.get('until');
            const day = /^\d{4}-\d{2}-\d{2}$/;
            if (!since || !until || !day.test(since) || !day.test(until) || since > until) {
              return json(400, { error: { type: 'invalid_request', message: 'since and until are required days, since ≤ until' } });
            }
            if (daysBetween(since, until).length > 31) return json(400, { error: { type: 'invalid_request', message: 'the window may span at most 31 days' } });
            const limit = intParam(req.query, 'limit', 20, 1);
            if (!Number.isFinite(limit) || limit > maxLimit) return json(400, { error: { type: 'invalid_request', message: `limit must be 1..${maxLimit}` } });
            const all = events(since, until);
            const cursor = req.query.get('cursor');
            const start = cursor ? all.findIndex((e) => e.id === Buffer.from(cursor, 'base64url').toString()) + 1 : 0;
            const page = all.slice(start, start + limit);
            const more = start + limit < all.length;
            return json(200, { data: page, meta: { count: page.length, ...(more ? { next_cursor: Buffer.from(page[page.length - 1].id).toString('base64url') } : {}) } });
          },
        },
        {
          // A second API shape: page-number paging announced in a Link header (GitHub style), records
          // under "results" — what the example project's web_microsites source reads.
          method: 'GET',
          path: /^\/v1\/sessions$/,
          data: true,
          handle: (req) => {
            if (bearerToken(req) !== token) return json(401, { error: { type: 'unauthorized', message: 'Invalid API token' } });
            const from = req.query.get('date_from');
            const to = req.query.get('date_to');
            if (!from || !to || from > to) return json(400, { error: { type: 'invalid_request', message: 'date_from and date_to are required days' } });
            const perPage = intParam(req.query, 'per_page', 30, 1);
            const page = intParam(req.query, 'page', 1, 1);
            const all = sessions(from, to);
            const rows = all.slice((page - 1) * perPage, page * perPage);
            const headers: Record<string, string> = {};
            if (page * perPage < all.length) {
              const next = new URL(`${server.url}${req.path}`);
              for (const [k, v] of req.query) next.searchParams.set(k, v);
              next.searchParams.set('page', String(page + 1));
              headers.link = `<${next.toString()}>; rel="next"`;
            }
            return json(200, { results: rows, page, total: all.length }, headers);
          },
        },
      ],
      throttled: (_req, seconds) => json(429, { error: { type: 'rate_limited', message: 'Too many requests' } }, { 'retry-after': String(seconds) }),
      serverError: () => ({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' }),
      unauthorized: () => json(401, { error: { type: 'unauthorized', message: 'Invalid API token' } }),
    },
    { port: options.port },
  );
  return Object.assign(server, { baseUrl: server.url, token, perDay, restatements, events, sessions });
}

export { addDays };
