/**
 * Listening rows: Crimson Hexagon monitor results (mentions by topic, source and sentiment),
 * Unmetric competitive benchmarks, and press clippings uploaded by hand.
 *
 * Conversation is bursty: each monitor has a few "moments" (a launch, a complaint going viral)
 * when volume jumps for a couple of days, with a sentiment that leans one way.
 */
import { allocate } from './allocate.js';
import { DEMO_DAYS, isoDay, season } from './calendar.js';
import { BRANDS, COMPETITIVE_SETS, MENTION_SOURCES, MONITORS, OUTLETS, SENTIMENTS, SOCIAL_PLATFORMS, TOPICS } from './catalog.js';
import { noise, Rng } from './random.js';
import { chooseWeighted, tailLengths, type DemoRow } from './rows.js';

const TOPIC_WEIGHT = [30, 12, 14, 10, 8, 6, 9, 11];
/** Sentiment mix per topic: [positive, neutral, negative]; service and delivery draw complaints. */
const TOPIC_SENTIMENT: readonly (readonly number[])[] = [
  [40, 45, 15],
  [20, 50, 30],
  [20, 35, 45],
  [45, 45, 10],
  [38, 44, 18],
  [35, 50, 15],
  [18, 40, 42],
  [25, 60, 15],
];

interface MentionCombo {
  monitor: number;
  topic: number;
  source: number;
  sentiment: number;
  weight: number;
}

const COMBOS: readonly MentionCombo[] = MONITORS.flatMap((m, monitor) =>
  TOPICS.flatMap((_, topic) =>
    MENTION_SOURCES.flatMap((s, source) =>
      SENTIMENTS.map((_, sentiment) => ({ monitor, topic, source, sentiment, weight: m.volume * TOPIC_WEIGHT[topic] * s.weight * TOPIC_SENTIMENT[topic][sentiment] })),
    ),
  ),
);
const MONITOR_WEIGHT = MONITORS.map((_, m) => COMBOS.filter((c) => c.monitor === m).reduce((s, c) => s + c.weight, 0));

/** How many mention rows the demo can produce at most. */
export const MENTIONS_MAX_ROWS = Math.floor(COMBOS.length * DEMO_DAYS * 0.7);

/** A burst multiplier for monitor `m` on day `d`, and whether the burst is a bad one. */
function moment(seed: number, m: number, d: number): { lift: number; negative: boolean } {
  // About one day in forty starts a moment that lasts three days and fades.
  for (let back = 0; back < 3; back++) {
    if (noise(seed, 51, m, d - back) < 0.025) return { lift: 1 + 3 / (back + 1), negative: noise(seed, 52, m, d - back) < 0.4 };
  }
  return { lift: 1, negative: false };
}

/** Crimson Hexagon monitor results: exactly `count` rows (at most {@link MENTIONS_MAX_ROWS}). */
export function* mentionDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 51);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => season('listening', d)), COMBOS.length);
  const weights = COMBOS.map((c) => c.weight);
  const totalDaily = MONITORS.map((m) => m.volume * 60);
  for (let d = 0; d < DEMO_DAYS; d++) {
    if (perDay[d] === 0) continue;
    const s = season('listening', d);
    const moments = MONITORS.map((_, m) => moment(seed, m, d));
    for (const i of chooseWeighted(rng, weights, perDay[d])) {
      const c = COMBOS[i];
      const monitor = MONITORS[c.monitor];
      const source = MENTION_SOURCES[c.source];
      const { lift, negative } = moments[c.monitor];
      const tilt = lift === 1 ? 1 : SENTIMENTS[c.sentiment] === (negative ? 'negative' : 'positive') ? lift : 1 + (lift - 1) / 4;
      const mentions = Math.max(1, rng.count(((totalDaily[c.monitor] * c.weight) / MONITOR_WEIGHT[c.monitor]) * s * tilt * rng.spread(0.3)));
      yield {
        monitor_id: monitor.monitorId,
        metric_date: isoDay(d),
        topic: TOPICS[c.topic],
        source: source.source,
        sentiment: SENTIMENTS[c.sentiment],
        monitor_name: monitor.name,
        brand: monitor.brand.name,
        mentions,
        // Forums and review sites report no audience size.
        potential_reach: source.reach === null ? null : Math.round(mentions * source.reach * rng.spread(0.8)),
      };
    }
  }
}

const BENCHMARK_SERIES = COMPETITIVE_SETS.flatMap((set) => set.brands.flatMap((b) => SOCIAL_PLATFORMS.map((platform) => ({ set: set.name, ...b, platform }))));

/** How many benchmark rows there are with every brand on every platform every day. */
export const BRAND_DAILY_MAX_ROWS = BENCHMARK_SERIES.length * DEMO_DAYS;

const BENCHMARK_FOLLOWERS = { facebook: 380_000, instagram: 150_000, x: 60_000 } as const;

/** Unmetric competitive benchmarks: `count` rows spread over brand × platform series, each keeping its most recent days. */
export function* brandDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const lengths = tailLengths(count, BENCHMARK_SERIES.length, DEMO_DAYS);
  for (let i = 0; i < BENCHMARK_SERIES.length; i++) {
    const b = BENCHMARK_SERIES[i];
    for (let d = DEMO_DAYS - lengths[i]; d < DEMO_DAYS; d++) {
      const s = season('social', d);
      const followers = Math.round(BENCHMARK_FOLLOWERS[b.platform] * b.scale * Math.exp(((0.05 + 0.03 * (i % 4)) * d) / 365));
      const posts = Math.floor((b.platform === 'x' ? 4 : 1.5) * (0.3 + 1.4 * noise(seed, 61, i, d)));
      const perPost = followers * (b.platform === 'instagram' ? 0.02 : b.platform === 'facebook' ? 0.004 : 0.002);
      yield {
        brand: b.brand,
        platform: b.platform,
        metric_date: isoDay(d),
        competitive_set: b.set,
        is_client: b.isClient,
        followers,
        posts,
        engagements: Math.round(posts * perPost * s * (0.5 + noise(seed, 62, i, d))),
        mentions: Math.round(followers * 0.0009 * s * (0.4 + 1.2 * noise(seed, 63, i, d))),
      };
    }
  }
}

const CLIPPING_COMBOS = BRANDS.flatMap((brand) => OUTLETS.map((outlet) => ({ brand, outlet, weight: brand.scale / Math.sqrt(outlet.reach / 30_000) })));

/** How many clipping rows the demo can produce at most. */
export const CLIPPINGS_MAX_ROWS = Math.floor(CLIPPING_COMBOS.length * DEMO_DAYS * 0.7);

const HEADLINES = ['opens new flagship', 'reports record season', 'faces criticism over prices', 'launches sustainability pledge', 'named in top brands list', 'responds to customer complaints'];

/** Press and broadcast clippings from a media-monitoring export: exactly `count` rows. */
export function* manualMentionRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 64);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => season('listening', d)), CLIPPING_COMBOS.length);
  const weights = CLIPPING_COMBOS.map((c) => c.weight);
  for (let d = 0; d < DEMO_DAYS; d++) {
    if (perDay[d] === 0) continue;
    for (const i of chooseWeighted(rng, weights, perDay[d])) {
      const { brand, outlet } = CLIPPING_COMBOS[i];
      const mentions = 1 + rng.count(0.4);
      const headline = rng.pick(HEADLINES);
      const score = Math.max(-1, Math.min(1, (headline.includes('critic') || headline.includes('complaint') ? -0.5 : 0.4) + 0.3 * rng.normal()));
      yield {
        metric_date: isoDay(d),
        brand: brand.name,
        outlet: outlet.outlet,
        outlet_type: outlet.type,
        mentions,
        estimated_reach: Math.round(outlet.reach * mentions * rng.spread(0.2)),
        sentiment_score: Math.round(score * 100) / 100,
        // The export nests the article; a third of the clippings come without it.
        details: rng.chance(0.33) ? null : JSON.stringify({ headline: `${brand.name} ${headline}`, section: rng.pick(['Business', 'Lifestyle', 'Local', 'Money']), url: `https://news.example/${brand.slug}/${d}-${i}` }),
      };
    }
  }
}
