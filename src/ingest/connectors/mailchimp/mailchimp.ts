/**
 * `mailchimp`: Mailchimp Marketing API 3.0 (docs/connectors/mailchimp.md).
 *
 * - `campaign_activity`: `GET /reports` for the campaigns sent in the window (`since_send_time`,
 *   `before_send_time`), paged by `count`/`offset` against `total_items`. Mailchimp has no daily series
 *   per campaign besides the report's hourly `timeseries`, so a record is one campaign and one UTC day
 *   of that timeseries (sends, unique opens, proxy-excluded unique opens, clicking recipients), and the
 *   report's lifetime counters that have no daily split (opens_total, clicks_total, bounces,
 *   unsubscribes, abuse reports) go on the send day, zero on the others. Re-pulling a campaign (a
 *   `lookback_days` covering its active fortnight) replaces its rows with the grown counters.
 * - `list_activity`: per audience, `GET /lists/{id}` (name, today's member count) and
 *   `GET /lists/{id}/activity` (daily joins and leaves, newest first, the last 180 days). A record is
 *   one list and day; its `member_count` is walked back from today's count through the days after it.
 *
 * Auth: an API key (`<key>-<dc>`) as HTTP Basic password, or an OAuth token as Bearer with the `dc`
 * setting. The base URL is `https://<dc>.api.mailchimp.com/3.0`. Mailchimp sends no rate-limit headers:
 * a 429 backs off exponentially with jitter; a 5xx (often an HTML page) retries; 401/403 fail at once.
 */
import { UserError } from '../../../errors.js';
import type { ConnectorType, DateWindow, PullContext, SettingsProblem, SourcePage } from '../types.js';

/** Settings of a `mailchimp` source. */
export interface MailchimpSettings {
  /** Audiences for `list_activity`; empty: every list the account has. */
  listIds: string[];
  /** Data centre (`us20`), needed with an OAuth token; an API key carries its own. */
  dc: string | undefined;
  /** Reports per request (`count`, 1–1000). Reports carry their timeseries, so keep it modest. */
  pageSize: number;
}

/** Mailchimp keeps this many days of list activity. */
export const MAILCHIMP_ACTIVITY_DAYS = 180;
const DEFAULT_PAGE_SIZE = 50;
const LIST_ID = /^[0-9a-f]{10}$/;

function parseSettings(raw: Record<string, unknown>, problem: SettingsProblem): MailchimpSettings {
  for (const k of Object.keys(raw)) if (!['list_ids', 'dc', 'page_size'].includes(k)) problem(k, `unknown setting "${k}"; expected list_ids, dc, page_size`);
  const listIds: string[] = [];
  if (raw.list_ids !== undefined) {
    if (!Array.isArray(raw.list_ids)) problem('list_ids', 'expected a list of audience ids, e.g. ["ab6c0d6df6"]');
    else
      raw.list_ids.forEach((id, i) => {
        if (typeof id !== 'string' || !LIST_ID.test(id)) problem(`list_ids.${i}`, `expected a Mailchimp audience id (10 hexadecimal characters), got ${JSON.stringify(id)}`);
        else listIds.push(id);
      });
  }
  if (raw.dc !== undefined && (typeof raw.dc !== 'string' || !/^[a-z]{2}\d{1,3}$/.test(raw.dc))) problem('dc', `expected a Mailchimp data centre such as us20, got ${JSON.stringify(raw.dc)}`);
  const pageSize = raw.page_size ?? DEFAULT_PAGE_SIZE;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) problem('page_size', `expected a whole number from 1 to 1000, got ${JSON.stringify(pageSize)}`);
  return { listIds, dc: raw.dc as string | undefined, pageSize: pageSize as number };
}

/** Auth header and base URL from the credentials (an API key names its data centre after the dash). */
function requester(ctx: PullContext<MailchimpSettings>): { headers: Record<string, string>; base: string } {
  const key = ctx.credentials.api_key;
  const token = ctx.credentials.access_token;
  let dc = ctx.settings.dc;
  let headers: Record<string, string>;
  if (key !== undefined) {
    const m = /-([a-z]{2}\d{1,3})$/.exec(key);
    if (!m && !ctx.source.baseUrl) throw new UserError('SOURCE_AUTH', `source "${ctx.source.name}": the Mailchimp API key does not end in its data centre (…-us20); copy the whole key from Account → Extras → API keys`);
    dc = m?.[1] ?? dc;
    headers = { authorization: `Basic ${Buffer.from(`sextant:${key}`).toString('base64')}` };
  } else if (token !== undefined) {
    if (!dc && !ctx.source.baseUrl) throw new UserError('SOURCE_AUTH', `source "${ctx.source.name}": with an OAuth access_token, set settings.dc to the account's data centre (GET https://login.mailchimp.com/oauth2/metadata names it)`);
    headers = { authorization: `Bearer ${token}` };
  } else {
    throw new UserError('SOURCE_AUTH', `source "${ctx.source.name}": give credentials.api_key (or credentials.access_token with settings.dc)`);
  }
  return { headers, base: ctx.baseUrl || `https://${dc}.api.mailchimp.com/3.0` };
}

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`expected ${what} to be an object`);
  return v as Json;
}

function list(v: unknown, what: string): Json[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`expected ${what} to be a list`);
  return v.map((x, i) => obj(x, `${what}[${i}]`));
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** One record per campaign and UTC day of its timeseries; lifetime counters on the send day. */
export function campaignRecords(report: Json): Array<Record<string, unknown>> {
  const sendTime = typeof report.send_time === 'string' ? report.send_time : '';
  const sendDay = sendTime.slice(0, 10);
  const days = new Map<string, { emails_sent: number; unique_opens: number; proxy: number | null; clicks: number }>();
  for (const point of list(report.timeseries, 'timeseries')) {
    const day = typeof point.timestamp === 'string' ? new Date(point.timestamp).toISOString().slice(0, 10) : undefined;
    if (!day || day === 'Invalid Date') throw new Error(`timeseries point without a valid timestamp: ${JSON.stringify(point.timestamp)}`);
    let d = days.get(day);
    if (!d) days.set(day, (d = { emails_sent: 0, unique_opens: 0, proxy: null, clicks: 0 }));
    d.emails_sent += num(point.emails_sent);
    d.unique_opens += num(point.unique_opens);
    // Absent for multivariate campaigns: Mailchimp does not split their Apple privacy opens.
    if (typeof point.proxy_excluded_unique_opens === 'number') d.proxy = (d.proxy ?? 0) + point.proxy_excluded_unique_opens;
    d.clicks += num(point.recipients_clicks);
  }
  const opens = report.opens && typeof report.opens === 'object' ? (report.opens as Json) : {};
  const clicks = report.clicks && typeof report.clicks === 'object' ? (report.clicks as Json) : {};
  const bounces = report.bounces && typeof report.bounces === 'object' ? (report.bounces as Json) : {};
  return [...days.entries()].map(([day, d]) => {
    const onSendDay = day === sendDay;
    return {
      id: report.id,
      timestamp: day,
      campaign_title: report.campaign_title,
      type: report.type,
      subject_line: report.subject_line,
      list_id: report.list_id,
      list_name: report.list_name,
      send_time: sendTime || null,
      emails_sent: d.emails_sent,
      unique_opens: d.unique_opens,
      proxy_excluded_unique_opens: d.proxy,
      unique_clicks: d.clicks,
      opens_total: onSendDay ? num(opens.opens_total) : 0,
      clicks_total: onSendDay ? num(clicks.clicks_total) : 0,
      hard_bounces: onSendDay ? num(bounces.hard_bounces) : 0,
      soft_bounces: onSendDay ? num(bounces.soft_bounces) : 0,
      unsubscribed: onSendDay ? num(report.unsubscribed) : 0,
      abuse_reports: onSendDay ? num(report.abuse_reports) : 0,
    };
  });
}

async function* pullCampaigns(ctx: PullContext<MailchimpSettings>, window: DateWindow, headers: Record<string, string>, base: string): AsyncIterable<SourcePage> {
  const stream = 'campaign_activity';
  const since = `${window.from}T00:00:00+00:00`;
  const before = `${new Date(Date.parse(`${window.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)}T00:00:00+00:00`;
  for (let offset = 0; ; ) {
    const url = `${base}/reports?${new URLSearchParams({ count: String(ctx.settings.pageSize), offset: String(offset), since_send_time: since, before_send_time: before, exclude_fields: 'reports._links,_links' })}`;
    const res = await ctx.http.request(stream, { url, headers }, ctx.signal);
    const json = res.json as Json | undefined;
    const reports = Array.isArray(json?.reports) ? json.reports.length : 0;
    yield { stream, body: res.body, records: () => list(obj(res.json, 'the response').reports, 'reports').flatMap(campaignRecords) };
    offset += reports;
    if (reports === 0 || offset >= num(json?.total_items)) break;
  }
}

async function* pullLists(ctx: PullContext<MailchimpSettings>, window: DateWindow, headers: Record<string, string>, base: string): AsyncIterable<SourcePage> {
  const stream = 'list_activity';
  let ids = ctx.settings.listIds;
  if (ids.length === 0) {
    ids = [];
    for (let offset = 0; ; ) {
      const res = await ctx.http.request(stream, { url: `${base}/lists?count=1000&offset=${offset}&fields=lists.id,total_items`, headers }, ctx.signal);
      const lists = list(obj(res.json, 'the response').lists, 'lists');
      ids.push(...lists.map((l) => String(l.id)));
      offset += lists.length;
      if (lists.length === 0 || offset >= num((res.json as Json).total_items)) break;
    }
  }
  for (const id of ids) {
    const info = await ctx.http.request(stream, { url: `${base}/lists/${encodeURIComponent(id)}?fields=id,name,stats.member_count`, headers }, ctx.signal);
    const listJson = obj(info.json, 'the list');
    const stats = obj(listJson.stats ?? {}, 'stats');
    // Today's count, walked back day by day: the count at the end of a day is the next day's count
    // minus that next day's joins plus its leaves.
    let members = num(stats.member_count);
    let reachedWindow = false;
    for (let offset = 0; !reachedWindow; ) {
      const url = `${base}/lists/${encodeURIComponent(id)}/activity?count=${MAILCHIMP_ACTIVITY_DAYS}&offset=${offset}`;
      const res = await ctx.http.request(stream, { url, headers }, ctx.signal);
      const days = list(obj(res.json, 'the response').activity, 'activity');
      const records: Array<Record<string, unknown>> = [];
      for (const a of days) {
        const day = String(a.day).slice(0, 10);
        if (day < window.from) reachedWindow = true;
        else if (day <= window.to) {
          records.push({ id, metric_date: day, name: listJson.name, member_count: members, subscribed: num(a.subs) + num(a.other_adds), unsubscribed: num(a.unsubs), cleaned: num(a.other_removes) });
        }
        members -= num(a.subs) + num(a.other_adds) - num(a.unsubs) - num(a.other_removes);
      }
      yield { stream, body: res.body, records: () => records };
      offset += days.length;
      if (days.length === 0 || offset >= num((res.json as Json).total_items)) break;
    }
  }
}

async function* pull(ctx: PullContext<MailchimpSettings>, window: DateWindow): AsyncIterable<SourcePage> {
  const { headers, base } = requester(ctx);
  if (ctx.streams.has('campaign_activity')) yield* pullCampaigns(ctx, window, headers, base);
  if (ctx.streams.has('list_activity')) yield* pullLists(ctx, window, headers, base);
}

/** The `mailchimp` connector type. */
export const mailchimpType: ConnectorType<MailchimpSettings> = {
  name: 'mailchimp',
  description: 'Mailchimp Marketing API: campaign activity per campaign and day, audience size and changes per day',
  mode: 'window',
  credentials: [],
  optionalCredentials: ['api_key', 'access_token'],
  // /reports filters by send time with no limit; 90 days keeps a window's reports to a few pages.
  maxWindowDays: 90,
  streams: {
    campaign_activity: { description: 'One campaign and UTC day: timeseries activity, lifetime counters on the send day', key: ['id', 'timestamp'] },
    list_activity: { description: 'One audience and day: member count, joins, unsubscribes, cleaned (the last 180 days)', key: ['id', 'metric_date'] },
  },
  parseSettings,
  pull,
};
