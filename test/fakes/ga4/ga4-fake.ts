/**
 * A fake Google Analytics 4 Data API (v1beta) serving the demo's GA4 properties.
 *
 * Imitates (research: source-apis §4):
 * - `POST /v1beta/properties/{propertyId}:runReport` with `dateRanges`, `dimensions`, `metrics`,
 *   `offset`/`limit` in the body (numbers or int64 strings), `keepEmptyRows`, `returnPropertyQuota`;
 * - the response: `dimensionHeaders`, `metricHeaders` (with types), `rows` of `dimensionValues` and
 *   `metricValues` (values as strings), `rowCount` (all rows, independent of the page), `metadata`,
 *   `propertyQuota`, `kind`; `rows` and `rowCount` are absent when nothing matched;
 * - `date` as `YYYYMMDD`; default page 10,000 rows, at most 250,000 whatever is asked; relative dates
 *   (`today`, `yesterday`, `NdaysAgo`);
 * - a request for a subset of a report's dimensions aggregates the metrics over the others, as GA4
 *   does; unknown or incompatible fields → 400 INVALID_ARGUMENT with GA4's wording;
 * - Google's error envelope `{"error":{"code","message","status"}}`: 401 UNAUTHENTICATED for a missing
 *   or wrong bearer token (with `www-authenticate`), 403 PERMISSION_DENIED for a property the token
 *   cannot read, 429 RESOURCE_EXHAUSTED with a quota message (GA4 sends no Retry-After), 500 INTERNAL.
 *
 * Not imitated: `orderBys` (rows come in a stable order, which is what paging needs), filters,
 * several date ranges, `(other)` rows, the metadata endpoint, the OAuth token exchange.
 *
 * Data: the demo's `web.ga4_daily` (dimensions date, sessionSource, sessionMedium, deviceCategory,
 * country) and `web.page_daily` (date, pagePath, pageTitle, contentGroup) rows. GA4 reports 0 where the
 * demo writes null (advertiser clicks and cost of unpaid traffic): {@link Ga4Fake.expectedRows} says so.
 */
import { GA4_PROPERTIES } from '../../../src/demo/catalog.js';
import type { DemoRow } from '../../../src/demo/rows.js';
import { addDays, demoRows, restate, type DemoDataOptions, type FakeTable, type Restatement } from '../demo-data.js';
import { bearerToken, json, startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from '../fake-server.js';

/** The token the fake accepts unless told otherwise. */
export const GA4_FAKE_TOKEN = 'ya29.fake-ga4-access-token';

type MetricType = 'TYPE_INTEGER' | 'TYPE_SECONDS' | 'TYPE_CURRENCY';

interface Report {
  table: FakeTable;
  /** GA4 dimension name → demo column. */
  dimensions: Record<string, string>;
  /** GA4 metric name → demo column and type. */
  metrics: Record<string, [column: string, type: MetricType]>;
}

/** The reports the fake can answer: each a GA4 dimension/metric set over one demo table. */
export const GA4_REPORTS: readonly Report[] = [
  {
    table: 'web.ga4_daily',
    dimensions: { date: 'metric_date', sessionSource: 'session_source', sessionMedium: 'session_medium', deviceCategory: 'device_category', country: 'country' },
    metrics: {
      sessions: ['sessions', 'TYPE_INTEGER'],
      totalUsers: ['total_users', 'TYPE_INTEGER'],
      newUsers: ['new_users', 'TYPE_INTEGER'],
      engagedSessions: ['engaged_sessions', 'TYPE_INTEGER'],
      userEngagementDuration: ['user_engagement_duration', 'TYPE_SECONDS'],
      screenPageViews: ['screen_page_views', 'TYPE_INTEGER'],
      conversions: ['conversions', 'TYPE_INTEGER'],
      purchaseRevenue: ['purchase_revenue', 'TYPE_CURRENCY'],
      advertiserAdClicks: ['ad_clicks', 'TYPE_INTEGER'],
      advertiserAdCost: ['ad_cost', 'TYPE_CURRENCY'],
    },
  },
  {
    table: 'web.page_daily',
    dimensions: { date: 'metric_date', pagePath: 'page_path', pageTitle: 'page_title', contentGroup: 'content_group' },
    metrics: {
      screenPageViews: ['screen_page_views', 'TYPE_INTEGER'],
      totalUsers: ['total_users', 'TYPE_INTEGER'],
      entrances: ['entrances', 'TYPE_INTEGER'],
      userEngagementDuration: ['user_engagement_duration', 'TYPE_SECONDS'],
    },
  },
];

const TIME_ZONES: Record<string, string> = { GB: 'Europe/London', US: 'America/New_York', CA: 'America/Toronto', AU: 'Australia/Sydney' };
const MAX_LIMIT = 250_000;
const DEFAULT_LIMIT = 10_000;

/** Options of {@link startGa4Fake}. */
export interface Ga4FakeOptions {
  /** The access token accepted (default {@link GA4_FAKE_TOKEN}). */
  token?: string;
  /** Properties the token may read (default: every demo property, and those of `propertyData`). */
  properties?: string[];
  /** More properties, each serving a demo property's rows under its own id (benchmarks: 20 accounts from 4). */
  propertyData?: Record<string, string>;
  demo?: DemoDataOptions;
  /** "Today" for relative dates (default: the real date). */
  today?: string;
  port?: number;
}

/** A running GA4 fake. */
export interface Ga4Fake extends FakeServer {
  token: string;
  /** Base URL for a source (`base_url`): `<url>/v1beta`. */
  baseUrl: string;
  /** Changes the counts of rows dated `from`…`to` from now on, as GA4's reprocessing does. */
  restate(r: Restatement): void;
  /** The rows a correct connector leaves in `table` for these properties and days, in the table's shape (site excluded: it is not a GA4 field). */
  expectedRows(table: 'web.ga4_daily' | 'web.page_daily', properties: readonly string[], from: string, to: string): DemoRow[];
}

function googleError(code: number, status: string, message: string, headers: Record<string, string> = {}): FakeReply {
  return json(code, { error: { code, message, status } }, headers);
}

function resolveDate(text: unknown, today: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === 'today') return today;
  if (text === 'yesterday') return addDays(today, -1);
  const ago = /^(\d+)daysAgo$/.exec(text);
  if (ago) return addDays(today, -Number(ago[1]));
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text)) ? text : undefined;
}

function int64(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : typeof v === 'number' && Number.isInteger(v) ? v : Number.NaN;
  return n;
}

function metricText(v: unknown): string {
  if (v === null || v === undefined) return '0';
  return String(Number(v));
}

/** Starts the fake on a free port. */
export async function startGa4Fake(options: Ga4FakeOptions = {}): Promise<Ga4Fake> {
  const token = options.token ?? GA4_FAKE_TOKEN;
  const readable = new Set(options.properties ?? [...GA4_PROPERTIES.map((p) => p.propertyId), ...Object.keys(options.propertyData ?? {})]);
  const restatements: Restatement[] = [];
  const today = (): string => options.today ?? new Date().toISOString().slice(0, 10);

  // The demo rows of each property, found once: a backfill asks for them thousands of times.
  const indexes = new Map<FakeTable, Map<string, DemoRow[]>>();
  const byProperty = (table: FakeTable): Map<string, DemoRow[]> => {
    let index = indexes.get(table);
    if (!index) {
      index = new Map(GA4_PROPERTIES.map((p) => [p.propertyId, [] as DemoRow[]]));
      for (const r of demoRows(table, options.demo)) index.get(r.property_id as string)?.push(r);
      indexes.set(table, index);
    }
    return index;
  };

  const rowsOf = (report: Report, property: string, from: string, to: string): DemoRow[] => {
    const counts = Object.values(report.metrics).map(([c]) => c);
    const source = options.propertyData?.[property] ?? property;
    return (byProperty(report.table).get(source) ?? [])
      .filter((r) => (r.metric_date as string) >= from && (r.metric_date as string) <= to)
      .map((r) => restate(source === property ? r : { ...r, property_id: property }, r.metric_date as string, counts, restatements));
  };

  const runReport = (req: FakeRequest, [property]: string[]): FakeReply => {
    const token_ = bearerToken(req);
    if (token_ === undefined) {
      return googleError(401, 'UNAUTHENTICATED', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
    }
    if (token_ !== token) return unauthorized();
    if (!readable.has(property)) {
      return googleError(403, 'PERMISSION_DENIED', 'User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.');
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body || '{}') as Record<string, unknown>;
    } catch (e) {
      return googleError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. ${(e as Error).message}`);
    }
    const names = (key: string): string[] | undefined => {
      const list = body[key];
      if (list === undefined) return [];
      if (!Array.isArray(list)) return undefined;
      return list.map((d) => (typeof d === 'object' && d !== null ? String((d as { name?: unknown }).name) : ''));
    };
    const dims = names('dimensions');
    const mets = names('metrics');
    if (!dims || !mets) return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. dimensions and metrics must be lists.');
    if (mets.length === 0 && dims.length === 0) return googleError(400, 'INVALID_ARGUMENT', 'Requests must have at least one dimension or metric.');
    if (dims.length > 9) return googleError(400, 'INVALID_ARGUMENT', `Requests are limited to 9 dimensions; this request has ${dims.length} dimensions.`);
    const ranges = body.dateRanges;
    if (!Array.isArray(ranges) || ranges.length === 0) return googleError(400, 'INVALID_ARGUMENT', 'A date range is required for this request.');
    if (ranges.length > 1) return googleError(400, 'INVALID_ARGUMENT', 'This fake answers one date range per request.');
    const range = ranges[0] as { startDate?: unknown; endDate?: unknown };
    const from = resolveDate(range.startDate, today());
    const to = resolveDate(range.endDate, today());
    if (!from || !to) return googleError(400, 'INVALID_ARGUMENT', `Field startDate/endDate has an invalid date: ${JSON.stringify(range)}. Dates are YYYY-MM-DD, today, yesterday or NdaysAgo.`);
    if (from > to) return googleError(400, 'INVALID_ARGUMENT', `Invalid date range: startDate ${from} is after endDate ${to}.`);
    const offset = int64(body.offset, 0);
    const asked = int64(body.limit, DEFAULT_LIMIT);
    if (!(offset >= 0)) return googleError(400, 'INVALID_ARGUMENT', `offset must be non-negative, got ${JSON.stringify(body.offset)}.`);
    if (!(asked > 0)) return googleError(400, 'INVALID_ARGUMENT', `limit must be positive, got ${JSON.stringify(body.limit)}.`);
    const limit = Math.min(asked, MAX_LIMIT);

    for (const d of dims) {
      if (!GA4_REPORTS.some((r) => d in r.dimensions)) return googleError(400, 'INVALID_ARGUMENT', `Field ${d} is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema`);
    }
    for (const m of mets) {
      if (!GA4_REPORTS.some((r) => m in r.metrics)) return googleError(400, 'INVALID_ARGUMENT', `Field ${m} is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema`);
    }
    const report = GA4_REPORTS.find((r) => dims.every((d) => d in r.dimensions) && mets.every((m) => m in r.metrics));
    if (!report) {
      const odd = [...dims, ...mets].find((f) => !(f in GA4_REPORTS[0].dimensions) && !(f in GA4_REPORTS[0].metrics)) ?? dims[0];
      return googleError(400, 'INVALID_ARGUMENT', `Please remove ${odd} to make the request compatible. The request's dimensions & metrics are incompatible. To learn more, see https://ga-dev-tools.google/ga4/dimensions-metrics-explorer/`);
    }

    // Group on the requested dimensions, summing the metrics over the rest (GA4 answers any subset).
    const groups = new Map<string, { dims: string[]; sums: number[] }>();
    for (const row of rowsOf(report, property, from, to)) {
      const values = dims.map((d) => {
        const v = row[report.dimensions[d]];
        return d === 'date' ? String(v).replace(/-/g, '') : String(v);
      });
      const key = JSON.stringify(values);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { dims: values, sums: mets.map(() => 0) }));
      mets.forEach((m, i) => {
        g.sums[i] += Number(row[report.metrics[m][0]] ?? 0);
      });
    }
    const all = [...groups.values()];
    const page = all.slice(offset, offset + limit);
    const response: Record<string, unknown> = {
      dimensionHeaders: dims.map((name) => ({ name })),
      metricHeaders: mets.map((name) => ({ name, type: report.metrics[name][1] })),
    };
    if (all.length > 0) {
      response.rows = page.map((g) => ({
        dimensionValues: g.dims.map((value) => ({ value })),
        metricValues: g.sums.map((s, i) => ({ value: report.metrics[mets[i]][1] === 'TYPE_CURRENCY' ? metricText(Math.round(s * 100) / 100) : metricText(s) })),
      }));
      response.rowCount = all.length;
    }
    const brand = GA4_PROPERTIES.find((p) => p.propertyId === (options.propertyData?.[property] ?? property))?.brand;
    response.metadata = { currencyCode: brand?.country === 'GB' ? 'GBP' : brand?.country === 'CA' ? 'CAD' : brand?.country === 'AU' ? 'AUD' : 'USD', timeZone: TIME_ZONES[brand?.country ?? 'US'] ?? 'America/Los_Angeles' };
    if (body.returnPropertyQuota === true) {
      response.propertyQuota = {
        tokensPerDay: { consumed: 12, remaining: 199_988 },
        tokensPerHour: { consumed: 12, remaining: 39_988 },
        concurrentRequests: { consumed: 0, remaining: 10 },
        serverErrorsPerProjectPerHour: { consumed: 0, remaining: 10 },
        potentiallyThresholdedRequestsPerHour: { consumed: 0, remaining: 120 },
        tokensPerProjectPerHour: { consumed: 12, remaining: 13_988 },
      };
    }
    response.kind = 'analyticsData#runReport';
    return json(200, response);
  };

  const unauthorized = (): FakeReply =>
    googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', {
      'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
    });

  const server = await startFakeServer(
    {
      name: 'ga4',
      routes: [{ method: 'POST', path: /^\/v1beta\/properties\/([^/:]+)(?::|%3A)runReport$/i, data: true, handle: runReport }],
      // GA4 names the exhausted quota in the message and sends no Retry-After (Airbyte's api_quota.py
      // maps each message to a wait); the concurrent-requests quota is the one a client meets first.
      throttled: () => googleError(429, 'RESOURCE_EXHAUSTED', 'Exhausted concurrent requests quota.'),
      serverError: () => googleError(500, 'INTERNAL', 'Internal error encountered.'),
      unauthorized,
      notFound: (req) => googleError(404, 'NOT_FOUND', `Requested entity was not found. (${req.method} ${req.path})`),
    },
    { port: options.port },
  );

  return Object.assign(server, {
    token,
    baseUrl: `${server.url}/v1beta`,
    restate: (r: Restatement) => {
      restatements.push(r);
    },
    expectedRows: (table: 'web.ga4_daily' | 'web.page_daily', properties: readonly string[], from: string, to: string): DemoRow[] => {
      const report = GA4_REPORTS.find((r) => r.table === table)!;
      return properties.flatMap((p) =>
        rowsOf(report, p, from, to).map((r) => {
          const out: DemoRow = { ...r };
          delete out.site;
          // GA4 has no null metric: unpaid traffic has 0 advertiser clicks and cost.
          for (const [column, type] of Object.values(report.metrics)) {
            if (out[column] === null || out[column] === undefined) out[column] = type === 'TYPE_CURRENCY' ? '0.00' : 0;
          }
          return out;
        }),
      );
    },
  });
}
