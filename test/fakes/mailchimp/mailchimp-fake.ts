/**
 * A fake Mailchimp Marketing API (v3.0) serving the demo's audiences and campaigns.
 *
 * Imitates (research: source-apis §5):
 * - the base `https://{dc}.api.mailchimp.com/3.0`: the fake serves one data centre (`us20` unless
 *   told) and refuses a key of another one, as Mailchimp does ("…attempted to access the wrong
 *   datacenter");
 * - auth: HTTP Basic with any user name and the API key (`<hex>-<dc>`) as password, or
 *   `Authorization: Bearer|OAuth <token>`;
 * - `GET /3.0/reports` (`count` default 10, at most 1000; `offset`; `since_send_time`,
 *   `before_send_time`; `type`; `exclude_fields`) → `{reports, total_items, _links}`;
 *   `GET /3.0/reports/{campaign_id}`;
 * - `GET /3.0/lists`, `/3.0/lists/{id}`, `/3.0/lists/{id}/activity` (daily, the last 180 days, newest
 *   first), `/3.0/lists/{id}/growth-history` (monthly), all with `count`/`offset` and `total_items`;
 *   `GET /3.0/ping`;
 * - errors as problem JSON `{type,title,status,detail,instance}`: 401 "API Key Missing" / "API Key
 *   Invalid", 404 "Resource Not Found", 400 "Invalid Resource"; throttling as 429 "Too Many Requests"
 *   with no rate-limit headers; a server error as an HTML 503 page, as Mailchimp's edge sends.
 *
 * Where the fake goes beyond what we could confirm: a report's `timeseries` here holds hourly points
 * for the campaign's whole tracked life (the demo's 14 days); Mailchimp documents it as an hourly
 * breakdown that, as far as we found, covers the first 24 hours. Everything the mailchimp connector
 * reads per day comes from the timeseries; the lifetime counters (opens_total, clicks_total,
 * bounces, unsubscribes, abuse reports) come from the report and are put on the send day.
 *
 * Data: the demo's `email.campaign_daily` and `email.list_daily` rows (src/demo/email.ts).
 */
import { randomUUID } from 'node:crypto';
import { allocate } from '../../../src/demo/allocate.js';
import { DEMO_END } from '../../../src/demo/calendar.js';
import { EMAIL_LISTS } from '../../../src/demo/catalog.js';
import type { DemoRow } from '../../../src/demo/rows.js';
import { addDays, demoRows, restate, type DemoDataOptions, type Restatement } from '../demo-data.js';
import { basicAuth, intParam, json, startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from '../fake-server.js';

/** The data centre the fake serves unless told otherwise. */
export const MAILCHIMP_FAKE_DC = 'us20';
/** The API key the fake accepts unless told otherwise. */
export const MAILCHIMP_FAKE_KEY = `0f1e2d3c4b5a69788796a5b4c3d2e1f0-${MAILCHIMP_FAKE_DC}`;

const ERROR_DOC = 'https://mailchimp.com/developer/marketing/docs/errors/';
const CAMPAIGN_COUNTS = ['emails_sent', 'unique_opens', 'proxy_excluded_unique_opens', 'opens_total', 'unique_clicks', 'clicks_total', 'hard_bounces', 'soft_bounces', 'unsubscribed', 'abuse_reports'];
const LIST_COUNTS = ['subscribed', 'unsubscribed', 'cleaned'];
/** Mailchimp keeps this many days of list activity. */
export const LIST_ACTIVITY_DAYS = 180;
/** Share of a day's opens and clicks per hour (UTC), before the send hour is cut off. */
const HOURLY = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.4, 3.6, 4.2, 4, 3.6, 3.8, 3.4, 3, 2.8, 2.7, 2.9, 3.1, 3.2, 2.9, 2.4, 1.8, 1.3];

/** Options of {@link startMailchimpFake}. */
export interface MailchimpFakeOptions {
  /** The API key (Basic password) accepted; its `-dc` suffix is the data centre served. */
  apiKey?: string;
  /** An OAuth access token accepted as `Bearer` or `OAuth` (default: none). */
  oauthToken?: string;
  demo?: DemoDataOptions;
  /** "Today": list activity ends the day before, list stats are as of then (default: the day after the demo ends). */
  today?: string;
  port?: number;
}

/** A running Mailchimp fake. */
export interface MailchimpFake extends FakeServer {
  apiKey: string;
  dc: string;
  /** Base URL for a source (`base_url`): `<url>/3.0`. */
  baseUrl: string;
  restate(r: Restatement): void;
  /** What a correct connector leaves in `email.campaign_daily` for campaigns sent `from`…`to` (UTC days). */
  expectedCampaignRows(from: string, to: string): DemoRow[];
  /** What a correct connector leaves in `email.list_daily` for `from`…`to` (within the last 180 days). */
  expectedListRows(listIds: readonly string[], from: string, to: string): DemoRow[];
}

interface Campaign {
  id: string;
  sendDate: string;
  sendTime: string;
  first: DemoRow;
  days: DemoRow[];
}

function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): FakeReply {
  return { status, headers: { 'content-type': 'application/problem+json; charset=utf-8' }, body: { type: ERROR_DOC, title, status, detail, instance: randomUUID(), ...extra } };
}

function isoOffset(ts: string): string {
  return `${ts.replace(' ', 'T')}+00:00`;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** Drops `exclude_fields` (dot paths under the collection, e.g. `reports.timeseries,_links`). */
function exclude<T extends Record<string, unknown>>(item: T, paths: string[], prefix: string): T {
  const out: Record<string, unknown> = { ...item };
  for (const p of paths) {
    const rel = prefix === '' ? p : p.startsWith(`${prefix}.`) ? p.slice(prefix.length + 1) : undefined;
    if (rel && !rel.includes('.')) delete out[rel];
  }
  return out as T;
}

/** Starts the fake on a free port. */
export async function startMailchimpFake(options: MailchimpFakeOptions = {}): Promise<MailchimpFake> {
  const apiKey = options.apiKey ?? MAILCHIMP_FAKE_KEY;
  const dc = apiKey.slice(apiKey.lastIndexOf('-') + 1);
  const today = options.today ?? addDays(DEMO_END, 1);
  const restatements: Restatement[] = [];

  const campaigns = (): Campaign[] => {
    const byId = new Map<string, Campaign>();
    for (const raw of demoRows('email.campaign_daily', options.demo)) {
      const row = restate(raw, raw.metric_date as string, CAMPAIGN_COUNTS, restatements);
      const id = row.campaign_id as string;
      let c = byId.get(id);
      if (!c) byId.set(id, (c = { id, sendDate: (row.send_time as string).slice(0, 10), sendTime: row.send_time as string, first: row, days: [] }));
      c.days.push(row);
    }
    return [...byId.values()].sort((a, b) => (a.sendTime < b.sendTime ? -1 : a.sendTime > b.sendTime ? 1 : a.id < b.id ? -1 : 1));
  };

  const timeseries = (c: Campaign): Array<Record<string, unknown>> => {
    const sendHour = Number(c.sendTime.slice(11, 13));
    const proxyKnown = c.first.proxy_excluded_unique_opens !== null;
    const out: Array<Record<string, unknown>> = [];
    for (const day of c.days) {
      const date = day.metric_date as string;
      const weights = HOURLY.map((w, h) => (date === c.sendDate && h < sendHour ? 0 : w));
      const opens = allocate(num(day.unique_opens), weights);
      const proxy = allocate(num(day.proxy_excluded_unique_opens), weights);
      const clicks = allocate(num(day.unique_clicks), weights);
      for (let h = 0; h < 24; h++) {
        if (weights[h] === 0) continue;
        const point: Record<string, unknown> = {
          timestamp: `${date}T${String(h).padStart(2, '0')}:00:00+00:00`,
          emails_sent: date === c.sendDate && h === sendHour ? num(day.emails_sent) : 0,
          unique_opens: opens[h],
        };
        // Multivariate campaigns do not split out Apple Mail Privacy Protection opens.
        if (proxyKnown) point.proxy_excluded_unique_opens = proxy[h];
        point.recipients_clicks = clicks[h];
        out.push(point);
      }
    }
    return out;
  };

  const report = (c: Campaign): Record<string, unknown> => {
    const sum = (k: string): number => c.days.reduce((s, d) => s + num(d[k]), 0);
    const sent = sum('emails_sent');
    const uniqueOpens = sum('unique_opens');
    const uniqueClicks = sum('unique_clicks');
    const proxyKnown = c.first.proxy_excluded_unique_opens !== null;
    const last = c.days[c.days.length - 1].metric_date as string;
    const opens: Record<string, unknown> = { opens_total: sum('opens_total'), unique_opens: uniqueOpens, open_rate: sent > 0 ? uniqueOpens / sent : 0 };
    if (proxyKnown) {
      opens.proxy_excluded_opens = Math.round(sum('opens_total') * 0.6);
      opens.proxy_excluded_unique_opens = sum('proxy_excluded_unique_opens');
      opens.proxy_excluded_open_rate = sent > 0 ? sum('proxy_excluded_unique_opens') / sent : 0;
    }
    opens.last_open = `${last}T20:00:00+00:00`;
    return {
      id: c.id,
      campaign_title: c.first.campaign_title,
      type: c.first.campaign_type,
      list_id: c.first.list_id,
      list_is_active: true,
      list_name: c.first.list_name,
      subject_line: c.first.subject_line,
      preview_text: '',
      emails_sent: sent,
      abuse_reports: sum('abuse_reports'),
      unsubscribed: sum('unsubscribed'),
      send_time: isoOffset(c.sendTime),
      bounces: { hard_bounces: sum('hard_bounces'), soft_bounces: sum('soft_bounces'), syntax_errors: 0 },
      forwards: { forwards_count: 0, forwards_opens: 0 },
      opens,
      clicks: { clicks_total: sum('clicks_total'), unique_clicks: uniqueClicks, unique_subscriber_clicks: uniqueClicks, click_rate: sent > 0 ? uniqueClicks / sent : 0, last_click: `${last}T19:00:00+00:00` },
      industry_stats: { type: 'Retail', open_rate: 0.27, click_rate: 0.021, bounce_rate: 0.006, unopen_rate: 0.73, unsub_rate: 0.002, abuse_rate: 0.0001 },
      list_stats: { sub_rate: 0, unsub_rate: 0, open_rate: 0.3, click_rate: 0.03 },
      timeseries: timeseries(c),
      _links: [{ rel: 'self', href: `https://${dc}.api.mailchimp.com/3.0/reports/${c.id}`, method: 'GET' }],
    };
  };

  /** List rows up to the day before `today`, restated. */
  const listRows = (listId: string): DemoRow[] =>
    demoRows('email.list_daily', options.demo)
      .filter((r) => r.list_id === listId && (r.metric_date as string) < today)
      .map((r) => restate(r, r.metric_date as string, LIST_COUNTS, restatements));

  /**
   * Today's member count: the demo's, moved by whatever restated joins and leaves changed, so that days
   * before a restatement keep their counts (history is not rewritten, only today's total moves).
   */
  const currentMembers = (listId: string): number => {
    const net = (r: DemoRow): number => num(r.subscribed) - num(r.unsubscribed) - num(r.cleaned);
    const original = demoRows('email.list_daily', options.demo).filter((r) => r.list_id === listId && (r.metric_date as string) < today);
    const restated = listRows(listId);
    return num(original[original.length - 1]?.member_count) + restated.reduce((s, r, i) => s + net(r) - net(original[i]), 0);
  };

  const listOf = (id: string): Record<string, unknown> | undefined => {
    const list = EMAIL_LISTS.find((l) => l.listId === id);
    if (!list) return undefined;
    const rows = listRows(id);
    const latest = rows[rows.length - 1];
    return {
      id,
      web_id: 100_000 + EMAIL_LISTS.indexOf(list),
      name: list.name,
      contact: { company: list.brand.name, country: list.brand.country },
      date_created: '2019-03-12T10:00:00+00:00',
      list_rating: 4,
      stats: {
        member_count: currentMembers(id),
        unsubscribe_count: rows.reduce((s, r) => s + num(r.unsubscribed), 0),
        cleaned_count: rows.reduce((s, r) => s + num(r.cleaned), 0),
        campaign_count: campaigns().filter((c) => c.first.list_id === id).length,
        last_sub_date: latest ? `${latest.metric_date as string}T18:00:00+00:00` : '',
      },
      _links: [{ rel: 'self', href: `https://${dc}.api.mailchimp.com/3.0/lists/${id}`, method: 'GET' }],
    };
  };

  const activity = (listId: string): Array<Record<string, unknown>> => {
    const first = addDays(today, -LIST_ACTIVITY_DAYS);
    const sends = new Map<string, DemoRow[]>();
    for (const c of campaigns()) {
      if (c.first.list_id !== listId) continue;
      for (const d of c.days) sends.set(d.metric_date as string, [...(sends.get(d.metric_date as string) ?? []), d]);
    }
    return listRows(listId)
      .filter((r) => (r.metric_date as string) >= first)
      .reverse()
      .map((r) => {
        const day = sends.get(r.metric_date as string) ?? [];
        const total = (k: string): number => day.reduce((s, d) => s + num(d[k]), 0);
        return {
          day: r.metric_date,
          emails_sent: total('emails_sent'),
          unique_opens: total('unique_opens'),
          recipient_clicks: total('unique_clicks'),
          hard_bounce: total('hard_bounces'),
          soft_bounce: total('soft_bounces'),
          subs: r.subscribed,
          unsubs: r.unsubscribed,
          other_adds: 0,
          other_removes: r.cleaned,
        };
      });
  };

  const growth = (listId: string): Array<Record<string, unknown>> => {
    const months = new Map<string, DemoRow[]>();
    for (const r of listRows(listId)) {
      const m = (r.metric_date as string).slice(0, 7);
      months.set(m, [...(months.get(m) ?? []), r]);
    }
    return [...months.entries()].reverse().map(([month, rows]) => ({
      list_id: listId,
      month,
      existing: num(rows[0].member_count),
      imports: 0,
      optins: rows.reduce((s, r) => s + num(r.subscribed), 0),
      subscribed: num(rows[rows.length - 1].member_count),
      unsubscribed: rows.reduce((s, r) => s + num(r.unsubscribed), 0),
      reconfirm: 0,
      cleaned: rows.reduce((s, r) => s + num(r.cleaned), 0),
      pending: 0,
      deleted: 0,
      transactional: 0,
    }));
  };

  const authProblem = (req: FakeRequest): FakeReply | undefined => {
    const header = req.headers.authorization ?? '';
    if (header === '') return problem(401, 'API Key Missing', 'Your request did not include an API key.');
    const basic = basicAuth(req);
    if (basic) return basic.password === apiKey ? undefined : invalidKey();
    const oauth = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header);
    if (oauth && options.oauthToken !== undefined && oauth[1] === options.oauthToken) return undefined;
    return invalidKey();
  };
  const invalidKey = (): FakeReply => problem(401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
  const notFound = (): FakeReply => problem(404, 'Resource Not Found', 'The requested resource could not be found.');

  /** `count`/`offset` paging with Mailchimp's limits; a problem reply when they are malformed. */
  const paged = <T>(req: FakeRequest, all: T[]): { items: T[] } | { error: FakeReply } => {
    const count = intParam(req.query, 'count', 10, 1);
    const offset = intParam(req.query, 'offset', 0);
    const errors: Array<{ field: string; message: string }> = [];
    if (!(count >= 1 && count <= 1000)) errors.push({ field: 'count', message: 'Must be a whole number from 1 to 1000.' });
    if (!(offset >= 0)) errors.push({ field: 'offset', message: 'Must be a whole number from 0.' });
    if (errors.length > 0) return { error: problem(400, 'Invalid Resource', "The resource submitted could not be validated. For field-specific details, see the 'errors' array.", { errors }) };
    return { items: all.slice(offset, offset + count) };
  };

  const guarded =
    (handle: (req: FakeRequest, params: string[]) => FakeReply) =>
    (req: FakeRequest, params: string[]): FakeReply =>
      authProblem(req) ?? handle(req, params);

  const excludes = (req: FakeRequest): string[] => (req.query.get('exclude_fields') ?? '').split(',').map((s) => s.trim()).filter(Boolean);

  const server = await startFakeServer(
    {
      name: 'mailchimp',
      routes: [
        { method: 'GET', path: /^\/3\.0\/ping\/?$/, handle: guarded(() => json(200, { health_status: "Everything's Chimpy!" })) },
        {
          method: 'GET',
          path: /^\/3\.0\/reports\/?$/,
          data: true,
          handle: guarded((req) => {
            const since = req.query.get('since_send_time');
            const before = req.query.get('before_send_time');
            const type = req.query.get('type');
            const bad = [since, before].find((t) => t !== null && Number.isNaN(Date.parse(t)));
            if (bad !== undefined) return problem(400, 'Invalid Resource', `Invalid date-time: ${bad}. Use ISO 8601, e.g. 2015-10-21T15:41:36+00:00.`);
            const all = campaigns().filter((c) => {
              const t = Date.parse(isoOffset(c.sendTime));
              return (since === null || t >= Date.parse(since!)) && (before === null || t < Date.parse(before!)) && (type === null || c.first.campaign_type === type);
            });
            const page = paged(req, all);
            if ('error' in page) return page.error;
            const ex = excludes(req);
            return json(200, exclude({ reports: page.items.map((c) => exclude(report(c), ex, 'reports')), total_items: all.length, _links: [{ rel: 'self', href: `https://${dc}.api.mailchimp.com/3.0/reports`, method: 'GET' }] }, ex, ''));
          }),
        },
        {
          method: 'GET',
          path: /^\/3\.0\/reports\/([^/]+)\/?$/,
          data: true,
          handle: guarded((req, [id]) => {
            const c = campaigns().find((x) => x.id === id);
            return c ? json(200, exclude(report(c), excludes(req), '')) : notFound();
          }),
        },
        {
          method: 'GET',
          path: /^\/3\.0\/lists\/?$/,
          data: true,
          handle: guarded((req) => {
            const all = EMAIL_LISTS.map((l) => listOf(l.listId)!);
            const page = paged(req, all);
            if ('error' in page) return page.error;
            return json(200, { lists: page.items, total_items: all.length, constraints: { may_create: true, max_instances: 5, current_total_instances: all.length }, _links: [] });
          }),
        },
        {
          method: 'GET',
          path: /^\/3\.0\/lists\/([^/]+)\/?$/,
          data: true,
          handle: guarded((_req, [id]) => {
            const list = listOf(id);
            return list ? json(200, list) : notFound();
          }),
        },
        {
          method: 'GET',
          path: /^\/3\.0\/lists\/([^/]+)\/activity\/?$/,
          data: true,
          handle: guarded((req, [id]) => {
            if (!listOf(id)) return notFound();
            const all = activity(id);
            const page = paged(req, all);
            if ('error' in page) return page.error;
            return json(200, { activity: page.items, list_id: id, total_items: all.length, _links: [] });
          }),
        },
        {
          method: 'GET',
          path: /^\/3\.0\/lists\/([^/]+)\/growth-history\/?$/,
          data: true,
          handle: guarded((req, [id]) => {
            if (!listOf(id)) return notFound();
            const all = growth(id);
            const page = paged(req, all);
            if ('error' in page) return page.error;
            return json(200, { history: page.items, list_id: id, total_items: all.length, _links: [] });
          }),
        },
      ],
      // Mailchimp limits a user to 10 simultaneous connections and answers more with 429; it sends no
      // rate-limit headers, so a client backs off on its own.
      throttled: () => problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'),
      serverError: () => ({
        status: 503,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>\n',
      }),
      unauthorized: invalidKey,
      notFound,
    },
    { port: options.port },
  );

  return Object.assign(server, {
    apiKey,
    dc,
    baseUrl: `${server.url}/3.0`,
    restate: (r: Restatement) => {
      restatements.push(r);
    },
    expectedCampaignRows: (from: string, to: string): DemoRow[] =>
      campaigns()
        .filter((c) => c.sendDate >= from && c.sendDate <= to)
        .flatMap((c) => {
          const lifetime = (k: string): number => c.days.reduce((s, d) => s + num(d[k]), 0);
          return c.days.map((d) => {
            const sendDay = d.metric_date === c.sendDate;
            return {
              campaign_id: c.id,
              metric_date: d.metric_date,
              campaign_title: d.campaign_title,
              campaign_type: d.campaign_type,
              subject_line: d.subject_line,
              list_id: d.list_id,
              list_name: d.list_name,
              send_time: d.send_time,
              emails_sent: d.emails_sent,
              unique_opens: d.unique_opens,
              proxy_excluded_unique_opens: d.proxy_excluded_unique_opens,
              unique_clicks: d.unique_clicks,
              // Lifetime counters without a daily split are put on the send day.
              opens_total: sendDay ? lifetime('opens_total') : 0,
              clicks_total: sendDay ? lifetime('clicks_total') : 0,
              hard_bounces: sendDay ? lifetime('hard_bounces') : 0,
              soft_bounces: sendDay ? lifetime('soft_bounces') : 0,
              unsubscribed: sendDay ? lifetime('unsubscribed') : 0,
              abuse_reports: sendDay ? lifetime('abuse_reports') : 0,
            };
          });
        }),
    expectedListRows: (listIds: readonly string[], from: string, to: string): DemoRow[] =>
      listIds.flatMap((id) => {
        const rows = listRows(id);
        // member_count walks back from today's count through the activity, as the connector must.
        let members = currentMembers(id);
        const out: DemoRow[] = [];
        const first = addDays(today, -LIST_ACTIVITY_DAYS);
        for (let i = rows.length - 1; i >= 0 && (rows[i].metric_date as string) >= first; i--) {
          const r = rows[i];
          const date = r.metric_date as string;
          if (date >= from && date <= to) out.push({ list_id: id, metric_date: date, list_name: r.list_name, member_count: members, subscribed: r.subscribed, unsubscribed: r.unsubscribed, cleaned: r.cleaned });
          members -= num(r.subscribed) - num(r.unsubscribed) - num(r.cleaned);
        }
        return out.reverse();
      }),
  });
}
