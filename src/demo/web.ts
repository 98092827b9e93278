/**
 * Web rows: GA4 traffic by source / medium / device / country, page views, and manually uploaded
 * sessions of sites without GA4.
 *
 * GA4 leaves out empty rows (`keepEmptyRows: false`), so the number of rows on a day is the number
 * of combinations that had sessions: busy days have more. The generator picks that many
 * combinations, heavier ones more often, and gives each its sessions.
 */
import { allocate } from './allocate.js';
import { DEMO_DAYS, isoDay, season } from './calendar.js';
import { COUNTRIES, DEVICES, GA4_PROPERTIES, MANUAL_CHANNELS, MANUAL_SITES, TRAFFIC_SOURCES, pagesOf } from './catalog.js';
import { Rng } from './random.js';
import { chooseWeighted, money, type DemoRow } from './rows.js';

/** Average order value per property (Kestrel Bank is a lead-generation site: no purchase revenue). */
const ORDER_VALUE = [24, 118, 46, 0];
const DAILY_SESSIONS = 9_000;

interface Ga4Combo {
  property: number;
  source: number;
  device: number;
  country: number;
  weight: number;
}

const GA4_COMBOS: readonly Ga4Combo[] = (() => {
  const combos: Ga4Combo[] = [];
  GA4_PROPERTIES.forEach((p, property) => {
    TRAFFIC_SOURCES.forEach((s, source) => {
      DEVICES.forEach((dv, device) => {
        COUNTRIES.forEach((c, country) => {
          // A brand's home market brings most of its traffic.
          const home = c.code === p.brand.country ? 6 : 1;
          combos.push({ property, source, device, country, weight: p.brand.scale * s.weight * dv.weight * c.weight * home });
        });
      });
    });
  });
  return combos;
})();

/** How many GA4 rows the demo can produce at most (every combination every day, less headroom for seasonality). */
export const GA4_MAX_ROWS = Math.floor(GA4_COMBOS.length * DEMO_DAYS * 0.7);

const PROPERTY_WEIGHT = GA4_PROPERTIES.map((_, p) => GA4_COMBOS.filter((c) => c.property === p).reduce((s, c) => s + c.weight, 0));

/** GA4 runReport rows: exactly `count` (at most {@link GA4_MAX_ROWS}). */
export function* ga4DailyRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 31);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => season('web', d)), GA4_COMBOS.length);
  const weights = GA4_COMBOS.map((c) => c.weight);
  for (let d = 0; d < DEMO_DAYS; d++) {
    if (perDay[d] === 0) continue;
    const day = isoDay(d);
    const s = season('web', d);
    for (const i of chooseWeighted(rng, weights, perDay[d])) {
      const c = GA4_COMBOS[i];
      const property = GA4_PROPERTIES[c.property];
      const src = TRAFFIC_SOURCES[c.source];
      const dev = DEVICES[c.device];
      const mean = (DAILY_SESSIONS * property.brand.scale * s * c.weight) / PROPERTY_WEIGHT[c.property];
      // Email and paid traffic follow the campaign calendar: spikier than organic.
      const burst = src.medium === 'email' || src.paid ? rng.spread(0.45) : rng.spread(0.12);
      const sessions = Math.max(1, rng.count(mean * burst));
      const users = Math.max(1, Math.round(sessions * (0.78 + 0.12 * rng.next())));
      const engaged = Math.min(sessions, rng.count(sessions * 0.58 * dev.engagement));
      const conversions = rng.count(sessions * 0.014 * src.conversion * dev.conversion);
      const revenue = ORDER_VALUE[c.property] * conversions * rng.spread(0.25);
      const adClicks = src.paid ? Math.round(sessions * (1.05 + 0.15 * rng.next())) : null;
      const cpc = src.medium === 'display' ? 0.35 : src.medium === 'paid_social' ? 0.7 : 0.95;
      yield {
        property_id: property.propertyId,
        metric_date: day,
        session_source: src.source,
        session_medium: src.medium,
        device_category: dev.device,
        country: COUNTRIES[c.country].country,
        site: property.brand.site,
        sessions,
        total_users: users,
        new_users: Math.min(users, rng.count(users * 0.52)),
        engaged_sessions: engaged,
        user_engagement_duration: Math.round(engaged * 105 * dev.engagement * rng.spread(0.3)),
        screen_page_views: Math.max(sessions, Math.round(sessions * 2.7 * dev.engagement * rng.spread(0.2))),
        conversions,
        purchase_revenue: money(revenue),
        // Cost data exists only for paid media linked to GA4 (Google Ads, Meta imports).
        ad_clicks: adClicks,
        ad_cost: adClicks === null ? null : money(adClicks * cpc * rng.spread(0.2)),
      };
    }
  }
}

interface PageRef {
  property: number;
  path: string;
  title: string;
  group: string;
  weight: number;
}

const PAGES: readonly PageRef[] = GA4_PROPERTIES.flatMap((p, property) =>
  pagesOf(property).map((page) => ({ property, ...page, weight: page.weight * p.brand.scale })),
);

/** How many page rows the demo can produce at most. */
export const PAGE_MAX_ROWS = Math.floor(PAGES.length * DEMO_DAYS * 0.7);

const VIEWS_PER_WEIGHT = 400;
const SECONDS_ON_PAGE: Record<string, number> = { Home: 22, Product: 48, Blog: 95, 'Store locator': 30, Support: 60, About: 40, Checkout: 35 };
const ENTRANCE_SHARE: Record<string, number> = { Home: 0.55, Product: 0.35, Blog: 0.7, 'Store locator': 0.4, Support: 0.3, About: 0.2, Checkout: 0.01 };

/** GA4 page rows: exactly `count` (at most {@link PAGE_MAX_ROWS}). */
export function* pageDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 32);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => season('web', d)), PAGES.length);
  const weights = PAGES.map((p) => p.weight);
  for (let d = 0; d < DEMO_DAYS; d++) {
    if (perDay[d] === 0) continue;
    const day = isoDay(d);
    const s = season('web', d);
    for (const i of chooseWeighted(rng, weights, perDay[d])) {
      const page = PAGES[i];
      const views = Math.max(1, rng.count(VIEWS_PER_WEIGHT * page.weight * s * rng.spread(0.3)));
      yield {
        property_id: GA4_PROPERTIES[page.property].propertyId,
        metric_date: day,
        page_path: page.path,
        site: GA4_PROPERTIES[page.property].brand.site,
        page_title: page.title,
        content_group: page.group,
        screen_page_views: views,
        total_users: Math.max(1, Math.round(views * (0.62 + 0.2 * rng.next()))),
        entrances: rng.count(views * (ENTRANCE_SHARE[page.group] ?? 0.3)),
        user_engagement_duration: Math.round(views * (SECONDS_ON_PAGE[page.group] ?? 40) * rng.spread(0.3)),
      };
    }
  }
}

const MANUAL_COMBOS = MANUAL_SITES.flatMap((site, s) => MANUAL_CHANNELS.map((channel, c) => ({ site, channel, weight: (s === 0 ? 1 : 0.6) * [30, 25, 10, 12, 15, 8][c] })));

/** How many manual session rows the demo can produce at most. */
export const MANUAL_SESSIONS_MAX_ROWS = Math.floor(MANUAL_COMBOS.length * DEMO_DAYS * 0.7);

/** Sessions of sites without GA4, as exported from their old analytics tool: exactly `count` rows. */
export function* manualSessionRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 33);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => season('web', d)), MANUAL_COMBOS.length);
  const weights = MANUAL_COMBOS.map((c) => c.weight);
  for (let d = 0; d < DEMO_DAYS; d++) {
    if (perDay[d] === 0) continue;
    for (const i of chooseWeighted(rng, weights, perDay[d])) {
      const c = MANUAL_COMBOS[i];
      const sessions = Math.max(1, rng.count(c.weight * 6 * season('web', d) * rng.spread(0.3)));
      yield {
        site: c.site,
        metric_date: isoDay(d),
        channel: c.channel,
        sessions,
        // The old tool's export left users blank on some days.
        users: rng.chance(0.1) ? null : Math.max(1, Math.round(sessions * 0.82)),
        conversions: rng.count(sessions * 0.02),
      };
    }
  }
}
