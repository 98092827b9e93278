/**
 * What the Facebook Pages and Instagram fakes share: the Graph API's auth (Bearer or `?access_token=`),
 * error bodies, throttling (HTTP 400 with code 32/4 and `x-business-use-case-usage`), insights series
 * with `end_time` at the end of the day, cursor paging (`paging.cursors.after` + `paging.next`), and a
 * deterministic value per (object, metric, day) that restatements can change.
 */
import type { Restatement } from '../demo-data.js';
import { bearerToken, json, type FakeReply, type FakeRequest } from '../fake-server.js';

/** A stable pseudo-random whole number in [0, mod) for a text. */
export function hash(text: string, mod: number): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) % mod;
}

/** A value with the restatements that cover its day applied. */
export function restated(v: number, day: string, restatements: readonly Restatement[]): number {
  for (const r of restatements) if (day >= r.from && day <= r.to) v = Math.round(v * r.factor);
  return v;
}

/** The value of a metric of an object on a day, with restatements applied. */
export function metricValue(objectId: string, metric: string, day: string, restatements: readonly Restatement[], scale = 1000): number {
  let v = hash(`${objectId}|${metric}|${day}`, scale) + 1;
  for (const r of restatements) if (day >= r.from && day <= r.to) v = Math.round(v * r.factor);
  return v;
}

export function graphError(status: number, code: number, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): FakeReply {
  return json(status, { error: { message, type: 'OAuthException', code, fbtrace_id: `A${hash(message, 1e9)}`, ...extra } }, headers);
}

/** True when the request carries the token (header or query parameter). */
export function authorised(req: FakeRequest, token: string): boolean {
  return bearerToken(req) === token || req.query.get('access_token') === token;
}

export const invalidToken = (): FakeReply => graphError(400, 190, 'Invalid OAuth access token - Cannot parse access token', { error_subcode: 463 });

export const graphThrottled = (_req: FakeRequest, seconds: number): FakeReply =>
  graphError(400, 32, 'Page request limit reached', { is_transient: true }, {
    'x-business-use-case-usage': JSON.stringify({ '104512345678901': [{ type: 'pages', call_count: 100, total_cputime: 40, total_time: 60, estimated_time_to_regain_access: Math.ceil(seconds / 60) }] }),
  });

export const graphServerError = (): FakeReply => graphError(500, 1, 'An unknown error occurred', { is_transient: true });

/** `YYYY-MM-DD` of unix seconds. */
export function dayOfUnix(seconds: string | null): string | undefined {
  if (seconds === null || !/^\d+$/.test(seconds)) return undefined;
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
}

/** `end_time` of a day's value: the end of that day, Pacific daylight time, as Graph writes it. */
export function endTimeOf(day: string): string {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return `${next}T07:00:00+0000`;
}

/** An insights response for these metrics over these days (a day without a value — undefined — is left out, as Graph does for days it has no data). */
export function insightsBody(objectId: string, metrics: string[], days: string[], value: (metric: string, day: string) => number | undefined, baseUrl: string, path: string): unknown {
  return {
    data: metrics.map((name) => ({
      name,
      period: 'day',
      values: days.flatMap((d) => {
        const v = value(name, d);
        return v === undefined ? [] : [{ value: v, end_time: endTimeOf(d) }];
      }),
      title: name.replace(/_/g, ' '),
      description: `Daily: ${name}`,
      id: `${objectId}/insights/${name}/day`,
    })),
    // Insights paging points at the neighbouring time ranges, not at more of this one: connectors must not follow it.
    paging: { previous: `${baseUrl}${path}?previous`, next: `${baseUrl}${path}?next` },
  };
}

/** A cursor-paged list body (`data`, `paging.cursors`, `paging.next` while more remain). */
export function listPage<T extends { id: string }>(all: T[], req: FakeRequest, baseUrl: string, defaultLimit = 25): unknown {
  const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? defaultLimit) || defaultLimit));
  const after = req.query.get('after');
  const start = after ? all.findIndex((x) => x.id === Buffer.from(after, 'base64url').toString()) + 1 : 0;
  const page = all.slice(start, start + limit);
  const cursors = page.length ? { before: Buffer.from(page[0].id).toString('base64url'), after: Buffer.from(page[page.length - 1].id).toString('base64url') } : {};
  const more = start + limit < all.length;
  const next = new URL(`${baseUrl}${req.path}`);
  for (const [k, v] of req.query) next.searchParams.set(k, v);
  if (page.length) next.searchParams.set('after', (cursors as { after: string }).after);
  return { data: page, paging: { cursors, ...(more ? { next: next.toString() } : {}) } };
}
