/**
 * `google_analytics`: Google Analytics 4 through the Data API v1beta `runReport`
 * (docs/connectors/google_analytics.md).
 *
 * One report per stream and property: `POST /properties/{id}:runReport` with the stream's dimensions
 * and metrics, the window as one inclusive date range, and `offset`/`limit` in the body until `rowCount`
 * rows have come (GA4's paging). A record is one row: `property_id`, each dimension by its GA4 name
 * (`date` rewritten from `YYYYMMDD` to `YYYY-MM-DD`), each metric by its GA4 name (GA4 sends them as
 * text; the target's types convert them), and `site` when the settings name one for the property.
 *
 * GA4 restates the last 24–48 hours while it processes them, so sources set `lookback_days: 2` or
 * more; rows merge on property and dimensions, so the re-pull replaces them. Throttling (429
 * RESOURCE_EXHAUSTED, no Retry-After) backs off exponentially with jitter; 401/403 fail at once.
 */
import type { ConnectorType, DateWindow, PullContext, SettingsProblem, SourcePage } from '../types.js';

/** A GA4 report a stream runs: its dimensions and metrics, by their API names. */
export interface Ga4Report {
  dimensions: readonly string[];
  metrics: readonly string[];
}

/** The built-in reports, one per stream; their fields are what examples/agency/targets/web_*.yml read. */
export const GA4_STREAM_REPORTS: Readonly<Record<string, Ga4Report>> = {
  traffic: {
    dimensions: ['date', 'sessionSource', 'sessionMedium', 'deviceCategory', 'country'],
    metrics: ['sessions', 'totalUsers', 'newUsers', 'engagedSessions', 'userEngagementDuration', 'screenPageViews', 'conversions', 'purchaseRevenue', 'advertiserAdClicks', 'advertiserAdCost'],
  },
  pages: {
    dimensions: ['date', 'pagePath', 'pageTitle', 'contentGroup'],
    metrics: ['screenPageViews', 'totalUsers', 'entrances', 'userEngagementDuration'],
  },
};

/** Settings of a `google_analytics` source. */
export interface GoogleAnalyticsSettings {
  /** GA4 property ids (numeric text). */
  propertyIds: string[];
  /** Property id → site name written to the `site` field (optional). */
  sites: Record<string, string>;
  /** Rows per request (`limit`), 1 to 250,000. */
  pageSize: number;
}

/** GA4 answers at most this many rows per request, whatever `limit` asks. */
const GA4_MAX_LIMIT = 250_000;
const DEFAULT_PAGE_SIZE = 10_000;

function parseSettings(raw: Record<string, unknown>, problem: SettingsProblem): GoogleAnalyticsSettings {
  for (const k of Object.keys(raw)) if (!['property_ids', 'sites', 'page_size'].includes(k)) problem(k, `unknown setting "${k}"; expected property_ids, sites, page_size`);
  const ids = raw.property_ids;
  const propertyIds: string[] = [];
  if (!Array.isArray(ids) || ids.length === 0) problem('property_ids', 'expected a list of GA4 property ids, e.g. ["312456780"]');
  else
    ids.forEach((id, i) => {
      const text = typeof id === 'number' ? String(id) : id;
      if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) problem(`property_ids.${i}`, `expected a numeric GA4 property id (Admin → Property settings), got ${JSON.stringify(id)}`);
      else propertyIds.push(text);
    });
  const sites: Record<string, string> = {};
  if (raw.sites !== undefined) {
    if (raw.sites === null || typeof raw.sites !== 'object' || Array.isArray(raw.sites)) problem('sites', 'expected a mapping of property id to site name');
    else
      for (const [id, site] of Object.entries(raw.sites as Record<string, unknown>)) {
        if (typeof site !== 'string' || site === '') problem(`sites.${id}`, 'expected the site name as text');
        else if (!propertyIds.includes(id)) problem(`sites.${id}`, `property ${id} is not in property_ids`);
        else sites[id] = site;
      }
  }
  const pageSize = raw.page_size ?? DEFAULT_PAGE_SIZE;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > GA4_MAX_LIMIT) problem('page_size', `expected a whole number of rows from 1 to ${GA4_MAX_LIMIT}, got ${JSON.stringify(pageSize)}`);
  return { propertyIds, sites, pageSize: pageSize as number };
}

interface RunReportResponse {
  dimensionHeaders?: Array<{ name: string }>;
  metricHeaders?: Array<{ name: string }>;
  rows?: Array<{ dimensionValues?: Array<{ value?: string }>; metricValues?: Array<{ value?: string }> }>;
  rowCount?: number;
}

/** The records of one runReport page, read by header name (GA4 answers in the order asked, but the headers say so). */
function recordsOf(json: unknown, property: string, site: string | undefined): Array<Record<string, unknown>> {
  if (json === null || typeof json !== 'object') throw new Error('expected a runReport response object');
  const body = json as RunReportResponse;
  const dims = (body.dimensionHeaders ?? []).map((h) => h.name);
  const mets = (body.metricHeaders ?? []).map((h) => h.name);
  // GA4 leaves `rows` out when nothing matched.
  return (body.rows ?? []).map((row, i) => {
    if (!Array.isArray(row.dimensionValues) || row.dimensionValues.length !== dims.length || !Array.isArray(row.metricValues) || row.metricValues.length !== mets.length) {
      throw new Error(`row ${i + 1} does not match the dimension and metric headers`);
    }
    const record: Record<string, unknown> = { property_id: property };
    dims.forEach((d, j) => {
      const v = row.dimensionValues![j].value ?? null;
      record[d] = d === 'date' && typeof v === 'string' && /^\d{8}$/.test(v) ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}` : v;
    });
    mets.forEach((m, j) => {
      record[m] = row.metricValues![j].value ?? null;
    });
    if (site !== undefined) record.site = site;
    return record;
  });
}

async function* pull(ctx: PullContext<GoogleAnalyticsSettings>, window: DateWindow): AsyncIterable<SourcePage> {
  const { settings } = ctx;
  const headers = { authorization: `Bearer ${ctx.credentials.access_token}`, 'content-type': 'application/json' };
  for (const [stream, report] of Object.entries(GA4_STREAM_REPORTS)) {
    if (!ctx.streams.has(stream)) continue;
    for (const property of settings.propertyIds) {
      const url = `${ctx.baseUrl}/properties/${encodeURIComponent(property)}:runReport`;
      for (let offset = 0; ; ) {
        const body = JSON.stringify({
          dateRanges: [{ startDate: window.from, endDate: window.to }],
          dimensions: report.dimensions.map((name) => ({ name })),
          metrics: report.metrics.map((name) => ({ name })),
          offset: String(offset),
          limit: String(settings.pageSize),
          keepEmptyRows: false,
        });
        const res = await ctx.http.request(stream, { method: 'POST', url, headers, body }, ctx.signal);
        const json = res.json as RunReportResponse | undefined;
        const count = json?.rows?.length ?? 0;
        yield { stream, body: res.body, records: () => recordsOf(res.json, property, settings.sites[property]) };
        offset += count;
        // rowCount counts every row of the report, whatever the page (absent when there are none).
        if (count === 0 || offset >= (json?.rowCount ?? 0)) break;
      }
    }
  }
}

/** The `google_analytics` connector type. */
export const googleAnalyticsType: ConnectorType<GoogleAnalyticsSettings> = {
  name: 'google_analytics',
  description: 'Google Analytics 4 (Data API runReport): traffic by source, medium, device and country; page views by page',
  mode: 'window',
  defaultBaseUrl: 'https://analyticsdata.googleapis.com/v1beta',
  credentials: ['access_token'],
  // GA4 has no limit on a date range; a month keeps one report's rows (and a retried page) small.
  maxWindowDays: 31,
  streams: {
    traffic: { description: 'GA4 traffic per property and day by sessionSource, sessionMedium, deviceCategory and country', key: ['property_id', 'date', 'sessionSource', 'sessionMedium', 'deviceCategory', 'country'] },
    pages: { description: 'GA4 page views per property, day and pagePath', key: ['property_id', 'date', 'pagePath'] },
  },
  parseSettings,
  pull,
};
