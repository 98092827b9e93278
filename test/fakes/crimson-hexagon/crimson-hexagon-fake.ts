/**
 * A fake Crimson Hexagon ForSight API (the listening API Brandwatch took over) serving the demo's
 * brand monitors.
 *
 * Imitates (research: source-apis §7, from the hexpy client and its copy of the API docs):
 * - base `https://api.crimsonhexagon.com/api`; `GET /api/authenticate?username&password` →
 *   `{auth, expires}`; every other call carries the token as the query parameter `auth`;
 * - `GET /api/monitor/list`, `GET /api/monitor/detail?id`, `GET /api/monitor/volume?id&start&end&groupBy`
 *   and `GET /api/monitor/results?id&start&end`: `start` inclusive, `end` exclusive, `YYYY-MM-DD`; dates
 *   in the monitor's time zone as `yyyy-MM-ddTHH:mm:ss` without an offset; bodies end with
 *   `"status": "success"`;
 * - nothing is paged: a client asks for one window at a time;
 * - "A monitor must have complete results for the specified date range": a range past the monitor's
 *   `resultsEnd` is refused — with HTTP 200 and `"status": "error"`, which hexpy treats as a failure.
 *
 * Assumptions (not in the sources we read; written down here and in docs/connectors/crimson_hexagon.md):
 * - the demo's monitors are opinion monitors whose categories are named `<topic> / <sentiment>`
 *   (e.g. `price / negative`), how agencies trained topic-and-tone monitors;
 * - `results` takes `filter=source:<name>` (hexpy documents the pipe-separated `field:value` filter for
 *   posts and word clouds) and then reports each category's `volume` and `impressions` (the authors'
 *   potential reach; absent for forums and review sites) for that source only;
 * - errors carry `{"status":"error","message":…}`: 401 for a missing or expired token, and throttling as
 *   429 with `Retry-After` (hexpy only limits itself to 120 calls a minute; the server's answer is ours).
 *
 * Data: the demo's `listening.mentions_daily` rows (src/demo/listening.ts).
 */
import { DEMO_END, DEMO_START } from '../../../src/demo/calendar.js';
import { MENTION_SOURCES, MONITORS, SENTIMENTS, TOPICS } from '../../../src/demo/catalog.js';
import type { DemoRow } from '../../../src/demo/rows.js';
import { addDays, daysBetween, demoRows, restate, type DemoDataOptions, type Restatement } from '../demo-data.js';
import { json, startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from '../fake-server.js';

/** Login the fake accepts unless told otherwise. */
export const CRIMSON_FAKE_USER = 'analyst@agency.example';
/** Password the fake accepts unless told otherwise. */
export const CRIMSON_FAKE_PASSWORD = 'fake-forsight-password';

const TIME_ZONES: Record<string, string> = { GB: 'Europe/London', US: 'America/New_York', CA: 'America/Toronto', AU: 'Australia/Sydney' };

/** The category of a topic and a sentiment, as the fake's opinion monitors name them. */
export function categoryName(topic: string, sentiment: string): string {
  return `${topic} / ${sentiment}`;
}

function categoryId(monitor: number, topic: number, sentiment: number): number {
  return Number(MONITORS[monitor].monitorId) * 100 + topic * SENTIMENTS.length + sentiment + 1;
}

/** Options of {@link startCrimsonHexagonFake}. */
export interface CrimsonHexagonFakeOptions {
  username?: string;
  password?: string;
  demo?: DemoDataOptions;
  port?: number;
}

/** A running Crimson Hexagon fake. */
export interface CrimsonHexagonFake extends FakeServer {
  username: string;
  password: string;
  /** Base URL for a source (`base_url`): `<url>/api`. */
  baseUrl: string;
  /** Every token handed out so far (a test may expire them with {@link expireTokens}). */
  readonly tokens: Set<string>;
  expireTokens(): void;
  restate(r: Restatement): void;
  /** What a correct connector leaves in `listening.mentions_daily` for these monitors and days. */
  expectedRows(monitorIds: readonly string[], from: string, to: string): DemoRow[];
}

function error(status: number, message: string, headers: Record<string, string> = {}): FakeReply {
  return json(status, { status: 'error', message }, headers);
}

/** Starts the fake on a free port. */
export async function startCrimsonHexagonFake(options: CrimsonHexagonFakeOptions = {}): Promise<CrimsonHexagonFake> {
  const username = options.username ?? CRIMSON_FAKE_USER;
  const password = options.password ?? CRIMSON_FAKE_PASSWORD;
  const tokens = new Set<string>();
  const restatements: Restatement[] = [];
  let issued = 0;
  const resultsEnd = addDays(DEMO_END, 1);

  const rowsOf = (monitorId: string, from: string, toInclusive: string): DemoRow[] =>
    demoRows('listening.mentions_daily', options.demo)
      .filter((r) => r.monitor_id === monitorId && (r.metric_date as string) >= from && (r.metric_date as string) <= toInclusive)
      .map((r) => restate(r, r.metric_date as string, ['mentions', 'potential_reach'], restatements));

  const unauthorized = (): FakeReply => error(401, 'Invalid or expired authentication token. Request a new one from /api/authenticate.');

  const authed =
    (handle: (req: FakeRequest) => FakeReply) =>
    (req: FakeRequest): FakeReply => {
      const auth = req.query.get('auth');
      return auth !== null && tokens.has(auth) ? handle(req) : unauthorized();
    };

  const monitorOf = (req: FakeRequest): { index: number; reply?: FakeReply } => {
    const id = req.query.get('id');
    if (id === null || !/^\d+$/.test(id)) return { index: -1, reply: error(400, `Parameter id is required and must be a monitor id, got ${JSON.stringify(id)}.`) };
    const index = MONITORS.findIndex((m) => m.monitorId === id);
    return index < 0 ? { index, reply: error(404, `Monitor ${id} not found or not visible to this user.`) } : { index };
  };

  /** `start` (inclusive) and `end` (exclusive) checked as ForSight does; returns the inclusive last day. */
  const rangeOf = (req: FakeRequest): { from: string; last: string } | FakeReply => {
    const start = req.query.get('start');
    const end = req.query.get('end');
    const valid = (d: string | null): d is string => d !== null && /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d));
    if (!valid(start) || !valid(end)) return error(400, `Parameters start and end are required as YYYY-MM-DD, got start=${String(start)} end=${String(end)}.`);
    if (start >= end) return error(400, `start (${start}) must be before end (${end}); end is exclusive.`);
    if (start < DEMO_START || end > resultsEnd) {
      // ForSight's rule, answered with HTTP 200 and an error status.
      return json(200, { status: 'error', message: `A monitor must have complete results for the specified date range. Results are available from ${DEMO_START} to ${resultsEnd}.` });
    }
    return { from: start, last: addDays(end, -1) };
  };

  const monitorJson = (i: number): Record<string, unknown> => {
    const m = MONITORS[i];
    return {
      id: Number(m.monitorId),
      name: m.name,
      description: `Brand conversation about ${m.brand.name}, by topic and tone.`,
      type: 'OPINION',
      enabled: true,
      resultsStart: `${DEMO_START}T00:00:00`,
      resultsEnd: `${resultsEnd}T00:00:00`,
      keywords: `"${m.brand.name}" OR ${m.brand.slug}`,
      languages: ['en'],
      timezone: TIME_ZONES[m.brand.country] ?? 'America/New_York',
      teamName: 'Agency Insights',
      tags: [m.brand.name],
    };
  };

  const server = await startFakeServer(
    {
      name: 'crimson_hexagon',
      routes: [
        {
          method: 'GET',
          path: /^\/api\/authenticate\/?$/,
          handle: (req) => {
            if (req.query.get('username') !== username || req.query.get('password') !== password) return error(401, 'Invalid username or password.');
            const token = `fake-ch-token-${++issued}`;
            tokens.add(token);
            return json(200, { auth: token, expires: new Date(Date.now() + 86_400_000).toISOString().slice(0, 19), status: 'success' });
          },
        },
        { method: 'GET', path: /^\/api\/monitor\/list\/?$/, handle: authed(() => json(200, { monitors: MONITORS.map((_, i) => monitorJson(i)), status: 'success' })) },
        {
          method: 'GET',
          path: /^\/api\/monitor\/detail\/?$/,
          handle: authed((req) => {
            const { index, reply } = monitorOf(req);
            if (reply) return reply;
            const categories = TOPICS.flatMap((t, ti) => SENTIMENTS.map((s, si) => ({ id: categoryId(index, ti, si), name: categoryName(t, s), usedByMonitor: true, hidden: false })));
            return json(200, { ...monitorJson(index), categories, emotions: [], sources: MENTION_SOURCES.map((s) => s.source), status: 'success' });
          }),
        },
        {
          method: 'GET',
          path: /^\/api\/monitor\/volume\/?$/,
          data: true,
          handle: authed((req) => {
            const { index, reply } = monitorOf(req);
            if (reply) return reply;
            const range = rangeOf(req);
            if ('status' in range) return range;
            const groupBy = req.query.get('groupBy') ?? 'DAILY';
            if (groupBy !== 'DAILY') return error(400, `This fake groups volume DAILY only, got groupBy=${groupBy}.`);
            const rows = rowsOf(MONITORS[index].monitorId, range.from, range.last);
            const volume = daysBetween(range.from, range.last).map((d) => ({
              startDate: `${d}T00:00:00`,
              endDate: `${addDays(d, 1)}T00:00:00`,
              numberOfDocuments: rows.filter((r) => r.metric_date === d).reduce((s, r) => s + (r.mentions as number), 0),
            }));
            return json(200, {
              startDate: `${range.from}T00:00:00`,
              endDate: `${addDays(range.last, 1)}T00:00:00`,
              timezone: monitorJson(index).timezone,
              groupBy,
              numberOfDocuments: volume.reduce((s, v) => s + v.numberOfDocuments, 0),
              volume,
              status: 'success',
            });
          }),
        },
        {
          method: 'GET',
          path: /^\/api\/monitor\/results\/?$/,
          data: true,
          handle: authed((req) => {
            const { index, reply } = monitorOf(req);
            if (reply) return reply;
            const range = rangeOf(req);
            if ('status' in range) return range;
            const filters = (req.query.get('filter') ?? '').split('|').filter(Boolean);
            let source: string | undefined;
            for (const f of filters) {
              const [field, value] = f.split(':');
              if (field !== 'source' || !MENTION_SOURCES.some((s) => s.source === value)) {
                return error(400, `Unsupported filter ${JSON.stringify(f)}: use source:<${MENTION_SOURCES.map((s) => s.source).join('|')}>.`);
              }
              source = value;
            }
            const rows = rowsOf(MONITORS[index].monitorId, range.from, range.last).filter((r) => source === undefined || r.source === source);
            const reach = source === undefined ? undefined : MENTION_SOURCES.find((s) => s.source === source)!.reach;
            const results = daysBetween(range.from, range.last).map((d) => {
              const day = rows.filter((r) => r.metric_date === d);
              const total = day.reduce((s, r) => s + (r.mentions as number), 0);
              const categories = TOPICS.flatMap((t, ti) =>
                SENTIMENTS.map((s, si) => {
                  const hit = day.filter((r) => r.topic === t && r.sentiment === s);
                  const volume = hit.reduce((sum, r) => sum + (r.mentions as number), 0);
                  const c: Record<string, unknown> = { categoryId: categoryId(index, ti, si), category: categoryName(t, s), proportion: total > 0 ? volume / total : 0, volume, hidden: false };
                  if (source !== undefined && reach !== null) c.impressions = hit.reduce((sum, r) => sum + Number(r.potential_reach ?? 0), 0);
                  return c;
                }),
              );
              return {
                startDate: `${d}T00:00:00`,
                endDate: `${addDays(d, 1)}T00:00:00`,
                creationDate: `${addDays(d, 1)}T04:12:37`,
                numberOfDocuments: total,
                numberOfRelevantDocuments: total,
                categories,
                emotions: [],
              };
            });
            return json(200, { results, status: 'success' });
          }),
        },
      ],
      throttled: (_req, seconds) => error(429, 'Rate limit exceeded: at most 120 requests per minute.', { 'retry-after': String(seconds) }),
      serverError: () => error(500, 'An unexpected error occurred. Please try again later.'),
      unauthorized,
      notFound: (req) => error(404, `No such endpoint: ${req.path}`),
    },
    { port: options.port },
  );

  return Object.assign(server, {
    username,
    password,
    baseUrl: `${server.url}/api`,
    tokens,
    expireTokens: () => tokens.clear(),
    restate: (r: Restatement) => {
      restatements.push(r);
    },
    expectedRows: (monitorIds: readonly string[], from: string, to: string): DemoRow[] => monitorIds.flatMap((id) => rowsOf(id, from, to).map((r) => ({ ...r }))),
  });
}
