/**
 * `unmetric`: Unmetric competitive benchmarks (docs/connectors/unmetric.md — read its assumptions:
 * Unmetric publishes almost nothing about its API, so the shapes below are modelled on the other APIs).
 *
 * `GET /competitive-sets` names the brands of each set and which is the client; then, per channel
 * (`fb`, `ig`, `tw`) and attribute (`followers`, `posts`, `engagement`, `mentions`),
 * `GET /{channel}/{attribute}?brand_ids&start_date&end_date&page&per_page` gives one value per brand and
 * day, paged by page number against `meta.total_pages`. A record is one brand, platform and day with all
 * four attributes, so a channel's attributes are joined before its records are read: the pages of the
 * first three attributes hold no records of their own, and each page of the last one holds the joined
 * records of its brand-days (the channel's last page also those it did not list). `_source_object`
 * therefore names a `mentions` page.
 */
import { UserError } from '../../../errors.js';
import type { ConnectorType, DateWindow, PullContext, SettingsProblem, SourcePage } from '../types.js';

/** Unmetric channel code → the platform name the tables use. */
export const UNMETRIC_PLATFORMS = { fb: 'facebook', ig: 'instagram', tw: 'x' } as const;
type Channel = keyof typeof UNMETRIC_PLATFORMS;
/** Attribute path segment → record field, in request order (the last one carries the joined records). */
const ATTRIBUTES = [
  ['followers', 'followers'],
  ['posts', 'posts'],
  ['engagement', 'engagements'],
  ['mentions', 'mentions'],
] as const;

/** Settings of an `unmetric` source. */
export interface UnmetricSettings {
  /** Competitive sets by name; empty: every set the key reads. */
  competitiveSets: string[];
  channels: Channel[];
  /** Rows per request (`per_page`, 1–500). */
  pageSize: number;
}

function parseSettings(raw: Record<string, unknown>, problem: SettingsProblem): UnmetricSettings {
  for (const k of Object.keys(raw)) if (!['competitive_sets', 'channels', 'page_size'].includes(k)) problem(k, `unknown setting "${k}"; expected competitive_sets, channels, page_size`);
  let competitiveSets: string[] = [];
  if (raw.competitive_sets !== undefined) {
    if (!Array.isArray(raw.competitive_sets) || raw.competitive_sets.some((s) => typeof s !== 'string' || s === '')) problem('competitive_sets', 'expected a list of competitive set names, e.g. ["Coffee retail UK"]');
    else competitiveSets = raw.competitive_sets as string[];
  }
  let channels = Object.keys(UNMETRIC_PLATFORMS) as Channel[];
  if (raw.channels !== undefined) {
    if (!Array.isArray(raw.channels) || raw.channels.length === 0 || raw.channels.some((c) => !(c in UNMETRIC_PLATFORMS))) problem('channels', `expected a list of channels out of ${Object.keys(UNMETRIC_PLATFORMS).join(', ')}`);
    else channels = raw.channels as Channel[];
  }
  const pageSize = raw.page_size ?? 500;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) problem('page_size', `expected a whole number from 1 to 500, got ${JSON.stringify(pageSize)}`);
  return { competitiveSets, channels, pageSize: pageSize as number };
}

type Json = Record<string, unknown>;

function list(v: unknown, what: string): Json[] {
  if (!Array.isArray(v)) throw new Error(`expected ${what} to be a list`);
  return v as Json[];
}

interface BrandInfo {
  name: string;
  set: string;
  isClient: boolean;
}

async function* pull(ctx: PullContext<UnmetricSettings>, window: DateWindow): AsyncIterable<SourcePage> {
  const stream = 'brand_daily';
  if (!ctx.streams.has(stream)) return;
  const headers = { authorization: `Bearer ${ctx.credentials.api_key}` };
  const setsRes = await ctx.http.request(stream, { url: `${ctx.baseUrl}/competitive-sets`, headers }, ctx.signal);
  const brands = new Map<number, BrandInfo>();
  const known: string[] = [];
  for (const set of list((setsRes.json as Json | undefined)?.data, 'data')) {
    known.push(String(set.name));
    if (ctx.settings.competitiveSets.length > 0 && !ctx.settings.competitiveSets.includes(String(set.name))) continue;
    for (const b of list(set.brands, 'brands')) brands.set(Number(b.brand_id), { name: String(b.brand_name), set: String(set.name), isClient: b.is_client === true });
  }
  const missing = ctx.settings.competitiveSets.filter((s) => !known.includes(s));
  if (missing.length > 0) throw new UserError('SOURCE_FAILED', `source "${ctx.source.name}", stream ${stream}: no competitive set named ${missing.map((s) => `"${s}"`).join(', ')}; the key reads ${known.map((s) => `"${s}"`).join(', ') || 'none'}`);
  if (brands.size === 0) return;
  const ids = [...brands.keys()].join(',');

  for (const channel of ctx.settings.channels) {
    const platform = UNMETRIC_PLATFORMS[channel];
    // brand id|day → the attributes seen so far.
    const joined = new Map<string, Record<string, unknown>>();
    for (let a = 0; a < ATTRIBUTES.length; a++) {
      const [attribute, field] = ATTRIBUTES[a];
      const last = a === ATTRIBUTES.length - 1;
      const pages: Array<{ body: Buffer; rows: Json[] }> = [];
      for (let page = 1, total = 1; page <= total; page++) {
        const url = `${ctx.baseUrl}/${channel}/${attribute}?${new URLSearchParams({ brand_ids: ids, start_date: window.from, end_date: window.to, page: String(page), per_page: String(ctx.settings.pageSize) })}`;
        const res = await ctx.http.request(stream, { url, headers }, ctx.signal);
        const json = res.json as Json | undefined;
        total = Number((json?.meta as Json | undefined)?.total_pages ?? 1);
        const rows = Array.isArray(json?.data) ? (json.data as Json[]) : [];
        for (const r of rows) {
          const key = `${String(r.brand_id)}|${String(r.date)}`;
          let rec = joined.get(key);
          if (!rec) joined.set(key, (rec = { brand_id: Number(r.brand_id), metric_date: String(r.date).slice(0, 10) }));
          rec[field] = r.value ?? null;
        }
        // The attribute's values wait in `joined`; the page itself is stored like any other.
        if (!last) yield { stream, body: res.body, records: () => (list(json?.data, 'data'), []) };
        else pages.push({ body: res.body, rows });
      }
      if (!last) continue;
      const emitted = new Set<string>();
      for (let p = 0; p < pages.length; p++) {
        const keys = pages[p].rows.map((r) => `${String(r.brand_id)}|${String(r.date)}`);
        // The channel's last page also carries the brand-days the last attribute did not list.
        if (p === pages.length - 1) keys.push(...[...joined.keys()].filter((k) => !keys.includes(k)));
        const records = keys
          .filter((k) => !emitted.has(k) && (emitted.add(k), true))
          .map((k) => {
            const rec = joined.get(k)!;
            const b = brands.get(rec.brand_id as number);
            if (!b) throw new Error(`brand_id ${String(rec.brand_id)} is not in the competitive sets`);
            return { brand: b.name, platform, metric_date: rec.metric_date, competitive_set: b.set, is_client: b.isClient, followers: rec.followers ?? null, posts: rec.posts ?? null, engagements: rec.engagements ?? null, mentions: rec.mentions ?? null };
          });
        yield { stream, body: pages[p].body, records: () => records };
      }
    }
  }
}

/** The `unmetric` connector type. */
export const unmetricType: ConnectorType<UnmetricSettings> = {
  name: 'unmetric',
  description: 'Unmetric competitive benchmarks: followers, posts, engagement and mentions per brand, platform and day',
  mode: 'window',
  defaultBaseUrl: 'https://api.unmetric.com/v2/api',
  credentials: ['api_key'],
  maxWindowDays: 92,
  maxHistoryDays: 730,
  streams: {
    brand_daily: { description: 'One brand of a competitive set, on one platform, on one day', key: ['brand', 'platform', 'metric_date'] },
  },
  parseSettings,
  pull,
};
