/**
 * What Facebook Pages and Instagram share: the Graph API. Tokens go in `Authorization: Bearer` (Graph
 * accepts it as well as `?access_token=`, and a header never ends up in a URL). Throttling comes as HTTP
 * 400/403 with error codes 4/17/32/613 and, for page tokens, `x-business-use-case-usage` saying how many
 * minutes until access returns. Insights come as one series per metric (`values[{ value, end_time }]`),
 * pivoted here into one record per object and day.
 */
import type { Classifier } from '../http-client.js';
import { defaultVerdict } from '../http-client.js';
import { addDays } from '../windows.js';

export const GRAPH_VERSION = 'v19.0';
export const GRAPH_BASE_URL = `https://graph.facebook.com/${GRAPH_VERSION}`;

/** The request headers of a Graph call. */
export function graphHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, accept: 'application/json' };
}

/** Unix seconds of a day's midnight UTC. */
export function unixDay(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/**
 * The day a value describes. Graph stamps a daily value with the *end* of its day (`2026-03-02T08:00:00+0000`
 * is the value of 1 March, Pacific time); the day before the end_time's date is that day.
 */
export function dayOfEndTime(endTime: string): string {
  // A backfill reads the same few hundred end times in every series of every page: worked out once each.
  let day = endDays.get(endTime);
  if (day === undefined) {
    if (endDays.size >= 10_000) endDays.clear();
    day = addDays(endTime.slice(0, 10), -1);
    endDays.set(endTime, day);
  }
  return day;
}
const endDays = new Map<string, string>();

/**
 * Graph's reading of a response: the default (codes 4/17/32/613 throttle, 190/10/2xx auth), with the wait
 * taken from `x-business-use-case-usage` (`estimated_time_to_regain_access`, minutes) when it says one.
 */
export const graphClassifier: Classifier = ({ status, headers, json, text }, now) => {
  const verdict = defaultVerdict(status, headers, json, text, now);
  if (verdict.kind !== 'throttled' || verdict.waitMs !== undefined) return verdict;
  const usage = headers.get('x-business-use-case-usage');
  if (!usage) return verdict;
  try {
    let minutes = 0;
    for (const entries of Object.values(JSON.parse(usage) as Record<string, Array<{ estimated_time_to_regain_access?: number }>>)) {
      for (const e of entries) minutes = Math.max(minutes, Number(e.estimated_time_to_regain_access ?? 0));
    }
    return minutes > 0 ? { ...verdict, waitMs: minutes * 60_000 } : verdict;
  } catch {
    return verdict;
  }
};

/** One metric's series in an insights response. */
interface InsightSeries {
  name: string;
  period?: string;
  values?: Array<{ value: unknown; end_time?: string }>;
}

/**
 * Pivots an insights response (`data: [{ name, values: [{ value, end_time }] }]`) into one record per
 * day: `{ metric_date, <metric>: value, … }`. Breakdown values (objects) are kept whole; the framework
 * flattens them into `<metric>_<key>` fields.
 */
export function pivotInsights(json: unknown, rename: Readonly<Record<string, string>> = {}): Array<Record<string, unknown>> {
  const data = (json as { data?: InsightSeries[] } | undefined)?.data;
  if (data === undefined) return [];
  if (!Array.isArray(data)) throw new Error('expected "data" to be a list of metric series');
  const byDay = new Map<string, Record<string, unknown>>();
  for (const series of data) {
    if (typeof series?.name !== 'string') throw new Error('a metric series has no "name"');
    for (const v of series.values ?? []) {
      if (typeof v.end_time !== 'string') continue;
      const day = dayOfEndTime(v.end_time);
      let record = byDay.get(day);
      if (!record) byDay.set(day, (record = { metric_date: day }));
      record[series.name] = v.value;
      const alias = rename[series.name];
      if (alias) record[alias] = v.value;
    }
  }
  return [...byDay.values()].sort((a, b) => String(a.metric_date).localeCompare(String(b.metric_date)));
}

/** Checks a settings list of Graph ids (digits). */
export function graphIds(raw: unknown, key: string, problem: (path: string, message: string) => void): string[] {
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((v) => (typeof v === 'string' || typeof v === 'number') && /^\d+$/.test(String(v)))) {
    problem(key, `expected a non-empty list of numeric ids (quote them: "104512345678901")`);
    return [];
  }
  return raw.map(String);
}

/** Checks a settings list of metric names. */
export function metricNames(raw: unknown, key: string, fallback: readonly string[], problem: (path: string, message: string) => void): string[] {
  if (raw === undefined) return [...fallback];
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((v) => typeof v === 'string' && /^[a-z0-9_]+$/.test(v))) {
    problem(key, 'expected a non-empty list of metric names (lower-case, e.g. page_impressions)');
    return [...fallback];
  }
  return raw as string[];
}
