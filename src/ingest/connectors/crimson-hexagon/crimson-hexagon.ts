/**
 * `crimson_hexagon`: Crimson Hexagon ForSight monitors (the listening API Brandwatch took over)
 * (docs/connectors/crimson_hexagon.md).
 *
 * Auth: `GET /authenticate?username&password` gives a token (valid 24 hours) that every call carries as
 * the query parameter `auth`; a token that expires mid-run is renewed once. ForSight pages nothing: a
 * window is one request per monitor (and per source for `results`), `start` inclusive, `end`
 * exclusive. A body with `"status": "error"` is a failure even under HTTP 200 (as hexpy treats it).
 *
 * - `results` (mentions by topic, source and sentiment): `GET /monitor/results?id&start&end&filter=source:<s>`
 *   per monitor and source. The monitors are opinion monitors whose categories are named
 *   `<topic><separator><sentiment>` (`price / negative`); a record is one monitor, day, category and
 *   source with documents in it: `id`, `startDate` (the day), `category` (the topic), `sentiment`,
 *   `source`, `numberOfDocuments`, `impressions` (potential reach; absent for forums and reviews),
 *   `monitor_name`, `brand`.
 * - `volume`: `GET /monitor/volume?groupBy=DAILY`: `id`, `startDate`, `numberOfDocuments`, `monitor_name`, `brand`.
 */
import { UserError, isUserError } from '../../../errors.js';
import type { HttpResponse } from '../http-client.js';
import type { ConnectorType, DateWindow, PullContext, SettingsProblem, SourcePage } from '../types.js';

/** Settings of a `crimson_hexagon` source. */
export interface CrimsonHexagonSettings {
  monitorIds: string[];
  /** Monitor id → brand written to `brand` (optional). */
  brands: Record<string, string>;
  /** The sources `results` splits by (`filter=source:<name>`). */
  sources: string[];
  /** Between topic and sentiment in a category name. */
  categorySeparator: string;
}

/** The content sources ForSight classifies, as the demo and the example project use them. */
export const DEFAULT_SOURCES = ['twitter', 'instagram', 'facebook', 'news', 'blogs', 'reddit', 'forums', 'reviews'];

function parseSettings(raw: Record<string, unknown>, problem: SettingsProblem): CrimsonHexagonSettings {
  for (const k of Object.keys(raw)) if (!['monitor_ids', 'brands', 'sources', 'category_separator'].includes(k)) problem(k, `unknown setting "${k}"; expected monitor_ids, brands, sources, category_separator`);
  const monitorIds: string[] = [];
  if (!Array.isArray(raw.monitor_ids) || raw.monitor_ids.length === 0) problem('monitor_ids', 'expected a list of monitor ids, e.g. [9846117000]');
  else
    raw.monitor_ids.forEach((id, i) => {
      const text = typeof id === 'number' ? String(id) : id;
      if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) problem(`monitor_ids.${i}`, `expected a numeric monitor id, got ${JSON.stringify(id)}`);
      else monitorIds.push(text);
    });
  const brands: Record<string, string> = {};
  if (raw.brands !== undefined) {
    if (raw.brands === null || typeof raw.brands !== 'object' || Array.isArray(raw.brands)) problem('brands', 'expected a mapping of monitor id to brand name');
    else
      for (const [id, b] of Object.entries(raw.brands as Record<string, unknown>)) {
        if (typeof b !== 'string' || b === '') problem(`brands.${id}`, 'expected the brand name as text');
        else if (!monitorIds.includes(id)) problem(`brands.${id}`, `monitor ${id} is not in monitor_ids`);
        else brands[id] = b;
      }
  }
  let sources = DEFAULT_SOURCES;
  if (raw.sources !== undefined) {
    if (!Array.isArray(raw.sources) || raw.sources.length === 0 || raw.sources.some((s) => typeof s !== 'string' || !/^[a-z_]+$/.test(s))) problem('sources', 'expected a list of source names, e.g. [twitter, news, forums]');
    else sources = raw.sources as string[];
  }
  const sep = raw.category_separator ?? ' / ';
  if (typeof sep !== 'string' || sep === '') problem('category_separator', 'expected the text between topic and sentiment in category names, e.g. " / "');
  return { monitorIds, brands, sources, categorySeparator: sep as string };
}

type Json = Record<string, unknown>;

function dayAfter(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function list(v: unknown, what: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`expected ${what} to be a list`);
  return v as Json[];
}

/** A run's token, kept across its windows: the run's HTTP client lives exactly as long as the run. */
const runTokens = new WeakMap<object, string>();

/** The token-carrying requester: authenticates on first use and once more if the token is refused. */
class ForSight {
  constructor(private readonly ctx: PullContext<CrimsonHexagonSettings>) {}

  get #token(): string | undefined {
    return runTokens.get(this.ctx.http);
  }

  set #token(token: string | undefined) {
    if (token === undefined) runTokens.delete(this.ctx.http);
    else runTokens.set(this.ctx.http, token);
  }

  async #authenticate(stream: string): Promise<string> {
    const { username, password } = this.ctx.credentials;
    const url = `${this.ctx.baseUrl}/authenticate?${new URLSearchParams({ username, password, noExpiration: 'false' })}`;
    const res = await this.ctx.http.request(stream, { url }, this.ctx.signal);
    const auth = (res.json as Json | undefined)?.auth;
    if (typeof auth !== 'string' || auth === '') throw new UserError('SOURCE_AUTH', `source "${this.ctx.source.name}", stream ${stream}: /authenticate answered without a token; check the username and password`);
    return auth;
  }

  /** GET `path` with `params` and the token; a `"status": "error"` body fails naming the monitor's request. */
  async get(stream: string, path: string, params: Record<string, string>): Promise<HttpResponse> {
    for (let renewed = false; ; renewed = true) {
      const token = this.#token ?? (this.#token = await this.#authenticate(stream));
      const url = `${this.ctx.baseUrl}${path}?${new URLSearchParams({ ...params, auth: token })}`;
      let res: HttpResponse;
      try {
        res = await this.ctx.http.request(stream, { url }, this.ctx.signal);
      } catch (err) {
        // A ForSight token lasts 24 hours: a long backfill may outlive it. Log in again, once.
        if (!renewed && isUserError(err) && err.code === 'SOURCE_AUTH') {
          this.#token = undefined;
          continue;
        }
        throw err;
      }
      const json = res.json as Json | undefined;
      if (json?.status === 'error') {
        const what = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
        throw new UserError('SOURCE_FAILED', `source "${this.ctx.source.name}", stream ${stream}: ForSight refused ${path} (${what}): ${String(json.message ?? 'status error')}`);
      }
      return res;
    }
  }
}

async function* pull(ctx: PullContext<CrimsonHexagonSettings>, window: DateWindow): AsyncIterable<SourcePage> {
  const api = new ForSight(ctx);
  const { settings } = ctx;
  const range = { start: window.from, end: dayAfter(window.to) };
  for (const id of settings.monitorIds) {
    const first = ctx.streams.has('results') ? 'results' : 'volume';
    const detail = await api.get(first, '/monitor/detail', { id });
    const monitorName = (detail.json as Json).name ?? null;
    const brand = settings.brands[id] ?? null;
    if (ctx.streams.has('results')) {
      for (const source of settings.sources) {
        const res = await api.get('results', '/monitor/results', { id, ...range, filter: `source:${source}` });
        yield {
          stream: 'results',
          body: res.body,
          records: () =>
            list((res.json as Json).results, 'results').flatMap((day) => {
              const date = String(day.startDate ?? '').slice(0, 10);
              return list(day.categories, 'categories')
                .filter((c) => typeof c.volume === 'number' && c.volume > 0)
                .map((c) => {
                  const name = String(c.category ?? '');
                  const at = name.lastIndexOf(settings.categorySeparator);
                  if (at < 0) throw new Error(`category "${name}" has no "${settings.categorySeparator}" between topic and sentiment`);
                  return {
                    id,
                    startDate: date,
                    category: name.slice(0, at),
                    sentiment: name.slice(at + settings.categorySeparator.length),
                    source,
                    numberOfDocuments: c.volume,
                    impressions: typeof c.impressions === 'number' ? c.impressions : null,
                    monitor_name: monitorName,
                    brand,
                  };
                });
            }),
        };
      }
    }
    if (ctx.streams.has('volume')) {
      const res = await api.get('volume', '/monitor/volume', { id, ...range, groupBy: 'DAILY' });
      yield {
        stream: 'volume',
        body: res.body,
        records: () => list((res.json as Json).volume, 'volume').map((v) => ({ id, startDate: String(v.startDate ?? '').slice(0, 10), numberOfDocuments: v.numberOfDocuments, monitor_name: monitorName, brand })),
      };
    }
  }
}

/** The `crimson_hexagon` connector type. */
export const crimsonHexagonType: ConnectorType<CrimsonHexagonSettings> = {
  name: 'crimson_hexagon',
  description: 'Crimson Hexagon ForSight monitors: mentions per day by topic, source and sentiment; daily volume',
  mode: 'window',
  defaultBaseUrl: 'https://api.crimsonhexagon.com/api',
  credentials: ['username', 'password'],
  // ForSight returns a window in one body: a month keeps it to ~30 days × 24 categories per source.
  maxWindowDays: 31,
  streams: {
    results: { description: 'Documents per monitor, day, topic, source and sentiment', key: ['id', 'startDate', 'category', 'source', 'sentiment'] },
    volume: { description: 'Documents per monitor and day', key: ['id', 'startDate'] },
  },
  parseSettings,
  pull,
};
