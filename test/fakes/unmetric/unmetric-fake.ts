/**
 * A fake Unmetric API serving the demo's competitive benchmarks.
 *
 * Unmetric's API is barely documented in public. All we found (research: source-apis §6) is its landing
 * page: URLs like `http://api.unmetric.com/v2/api/fb/{attribute}` for version 2, GET only, used to
 * "trace fan and follower growth over time", "page and account social media performance by day" and
 * "compare multiple brand profiles across metrics over time". Everything else below is an ASSUMPTION,
 * modelled on the other APIs and written down again in docs/connectors/unmetric.md:
 *
 * - base `https://api.unmetric.com/v2/api`; auth `Authorization: Bearer <api key>`;
 * - `GET /v2/api/competitive-sets` → the sets the key may read, each with its brands (`brand_id`,
 *   `brand_name`, `is_client`);
 * - `GET /v2/api/{channel}/{attribute}` with channel `fb` | `ig` | `tw` and attribute `followers` |
 *   `posts` | `engagement` | `mentions`; query `brand_ids` (comma-separated), `start_date`, `end_date`
 *   (inclusive `YYYY-MM-DD`, at most 92 days apart), `page` (from 1) and `per_page` (default 100, at
 *   most 500) → `{data: [{brand_id, brand_name, date, value}], meta: {page, per_page, total_pages,
 *   total_count}}`, ordered by brand then date;
 * - data reaches back two years;
 * - errors `{"error": {"code", "message"}}`: 401 `invalid_api_key`, 403 `brand_not_in_subscription`,
 *   400 `invalid_parameter`; throttling 429 `rate_limited` with `Retry-After` and
 *   `X-RateLimit-Limit/Remaining/Reset`; server errors 500 `internal_error`.
 *
 * Data: the demo's `listening.brand_daily` rows (src/demo/listening.ts).
 */
import { DEMO_END } from '../../../src/demo/calendar.js';
import { COMPETITIVE_SETS } from '../../../src/demo/catalog.js';
import type { DemoRow } from '../../../src/demo/rows.js';
import { addDays, demoRows, restate, type DemoDataOptions, type Restatement } from '../demo-data.js';
import { bearerToken, intParam, json, startFakeServer, type FakeReply, type FakeServer } from '../fake-server.js';

/** The API key the fake accepts unless told otherwise. */
export const UNMETRIC_FAKE_KEY = 'um_live_fake_4f7a2c91d0b3';

/** Unmetric channel codes and the platform names the tables use. */
export const UNMETRIC_CHANNELS = { fb: 'facebook', ig: 'instagram', tw: 'x' } as const;
/** Attribute path segment → demo column. */
export const UNMETRIC_ATTRIBUTES = { followers: 'followers', posts: 'posts', engagement: 'engagements', mentions: 'mentions' } as const;
/** Widest range of one request, in days (assumed). */
export const UNMETRIC_MAX_DAYS = 92;

/** The brands of the competitive sets with their (made-up) Unmetric ids. */
export const UNMETRIC_BRANDS = COMPETITIVE_SETS.flatMap((set) => set.brands.map((b) => ({ ...b, set: set.name }))).map((b, i) => ({ ...b, brandId: 5001 + i }));

/** Options of {@link startUnmetricFake}. */
export interface UnmetricFakeOptions {
  apiKey?: string;
  demo?: DemoDataOptions;
  /** "Today": the latest day with data is the day before (default: the day after the demo ends). */
  today?: string;
  port?: number;
}

/** A running Unmetric fake. */
export interface UnmetricFake extends FakeServer {
  apiKey: string;
  /** Base URL for a source (`base_url`): `<url>/v2/api`. */
  baseUrl: string;
  restate(r: Restatement): void;
  /** What a correct connector leaves in `listening.brand_daily` for these brand ids and days (every channel). */
  expectedRows(brandIds: readonly number[], from: string, to: string): DemoRow[];
}

function error(status: number, code: string, message: string, headers: Record<string, string> = {}): FakeReply {
  return json(status, { error: { code, message } }, headers);
}

/** Starts the fake on a free port. */
export async function startUnmetricFake(options: UnmetricFakeOptions = {}): Promise<UnmetricFake> {
  const apiKey = options.apiKey ?? UNMETRIC_FAKE_KEY;
  const today = options.today ?? addDays(DEMO_END, 1);
  const restatements: Restatement[] = [];
  const oldest = addDays(today, -730);

  const rowsOf = (brand: string, platform: string, from: string, to: string): DemoRow[] =>
    demoRows('listening.brand_daily', options.demo)
      .filter((r) => r.brand === brand && r.platform === platform && (r.metric_date as string) >= from && (r.metric_date as string) <= to && (r.metric_date as string) < today)
      .map((r) => restate(r, r.metric_date as string, ['followers', 'posts', 'engagements', 'mentions'], restatements));

  const unauthorized = (): FakeReply => error(401, 'invalid_api_key', 'The API key is missing, invalid or revoked.');
  const authorized = (token: string | undefined): boolean => token === apiKey;

  const server = await startFakeServer(
    {
      name: 'unmetric',
      routes: [
        {
          method: 'GET',
          path: /^\/v2\/api\/competitive-sets\/?$/,
          handle: (req) => {
            if (!authorized(bearerToken(req))) return unauthorized();
            const data = COMPETITIVE_SETS.map((set, i) => ({
              id: 701 + i,
              name: set.name,
              brands: UNMETRIC_BRANDS.filter((b) => b.set === set.name).map((b) => ({ brand_id: b.brandId, brand_name: b.brand, is_client: b.isClient })),
            }));
            return json(200, { data, meta: { page: 1, per_page: 100, total_pages: 1, total_count: data.length } });
          },
        },
        {
          method: 'GET',
          path: /^\/v2\/api\/([a-z]+)\/([a-z_]+)\/?$/,
          data: true,
          handle: (req, [channel, attribute]) => {
            if (!authorized(bearerToken(req))) return unauthorized();
            const platform = UNMETRIC_CHANNELS[channel as keyof typeof UNMETRIC_CHANNELS];
            const column = UNMETRIC_ATTRIBUTES[attribute as keyof typeof UNMETRIC_ATTRIBUTES];
            if (!platform) return error(404, 'not_found', `Unknown channel "${channel}": use ${Object.keys(UNMETRIC_CHANNELS).join(', ')}.`);
            if (!column) return error(404, 'not_found', `Unknown attribute "${attribute}": use ${Object.keys(UNMETRIC_ATTRIBUTES).join(', ')}.`);
            const from = req.query.get('start_date') ?? '';
            const to = req.query.get('end_date') ?? '';
            const isDay = (d: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d));
            if (!isDay(from) || !isDay(to) || from > to) return error(400, 'invalid_parameter', `start_date and end_date must be YYYY-MM-DD with start_date ≤ end_date, got ${from || '(none)'} and ${to || '(none)'}.`);
            if (Date.parse(to) - Date.parse(from) > (UNMETRIC_MAX_DAYS - 1) * 86_400_000) return error(400, 'invalid_parameter', `A request may span at most ${UNMETRIC_MAX_DAYS} days.`);
            if (from < oldest) return error(400, 'invalid_parameter', `Data is available from ${oldest}; start_date ${from} is older.`);
            const ids = (req.query.get('brand_ids') ?? '').split(',').filter(Boolean);
            if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id))) return error(400, 'invalid_parameter', 'brand_ids must list one or more numeric brand ids, comma-separated.');
            const brands = ids.map((id) => UNMETRIC_BRANDS.find((b) => b.brandId === Number(id)));
            const missing = ids.find((_, i) => brands[i] === undefined);
            if (missing !== undefined) return error(403, 'brand_not_in_subscription', `Brand ${missing} is not in your subscription.`);
            const page = intParam(req.query, 'page', 1, 1);
            const perPage = intParam(req.query, 'per_page', 100, 1);
            if (!(page >= 1) || !(perPage >= 1 && perPage <= 500)) return error(400, 'invalid_parameter', 'page must be ≥ 1 and per_page from 1 to 500.');
            const all = brands.flatMap((b) => rowsOf(b!.brand, platform, from, to).map((r) => ({ brand_id: b!.brandId, brand_name: b!.brand, date: r.metric_date, value: r[column] })));
            const totalPages = Math.max(1, Math.ceil(all.length / perPage));
            return json(
              200,
              { data: all.slice((page - 1) * perPage, page * perPage), meta: { page, per_page: perPage, total_pages: totalPages, total_count: all.length } },
              { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '599', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60) },
            );
          },
        },
      ],
      throttled: (_req, seconds) =>
        error(429, 'rate_limited', 'Too many requests; retry after the time given in Retry-After.', {
          'retry-after': String(seconds),
          'x-ratelimit-limit': '600',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + seconds),
        }),
      serverError: () => error(500, 'internal_error', 'Something went wrong on our side. Please retry.'),
      unauthorized,
      notFound: (req) => error(404, 'not_found', `No such endpoint: ${req.path}`),
    },
    { port: options.port },
  );

  return Object.assign(server, {
    apiKey,
    baseUrl: `${server.url}/v2/api`,
    restate: (r: Restatement) => {
      restatements.push(r);
    },
    expectedRows: (brandIds: readonly number[], from: string, to: string): DemoRow[] =>
      brandIds.flatMap((id) => {
        const b = UNMETRIC_BRANDS.find((x) => x.brandId === id)!;
        return Object.values(UNMETRIC_CHANNELS).flatMap((platform) => rowsOf(b.brand, platform, from, to).map((r) => ({ ...r })));
      }),
  });
}
