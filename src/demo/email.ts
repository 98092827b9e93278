/**
 * Email rows: Mailchimp campaign activity per day, audience sizes, and campaigns from other tools
 * uploaded by hand.
 *
 * A campaign's activity is tracked for two weeks after its send: everything is sent on the first
 * day, most opens and clicks follow within 48 hours, a tail trickles in after.
 */
import { allocate, trackedStarts } from './allocate.js';
import { DEMO_DAYS, isoDay, season, weekday } from './calendar.js';
import { BRANDS, CAMPAIGN_THEMES, CAMPAIGN_TYPES, EMAIL_LISTS } from './catalog.js';
import { noise, Rng } from './random.js';
import { money, tailLengths, type DemoRow } from './rows.js';

/** Days a campaign's activity is reported after its send. */
export const CAMPAIGN_TRACKED_DAYS = 14;

/** Members of an audience at the end of day `d`. */
export function membersOn(list: (typeof EMAIL_LISTS)[number], index: number, d: number): number {
  const wobble = 1 + 0.004 * Math.sin(d / 17 + index);
  return Math.round(list.startMembers * Math.exp((list.growth * d) / 365) * wobble);
}

/** Campaigns go out on weekdays, mostly Tuesday to Thursday mornings. */
const SEND_DAY = [0.8, 1.5, 1.4, 1.3, 0.7, 0.1, 0.2];

/** Share of a campaign's opens on each day after the send (day 0 included), before the tail. */
const OPEN_CURVE = [0.58, 0.2, 0.08, 0.04];

function openShare(k: number): number {
  return k < OPEN_CURVE.length ? OPEN_CURVE[k] : 0.1 * Math.pow(0.6, k - OPEN_CURVE.length + 1);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Mailchimp campaign activity per day: exactly `count` rows. */
export function* campaignDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 41);
  const { first, starts } = trackedStarts(count, (d) => SEND_DAY[weekday(d)] * season('email', d), DEMO_DAYS, CAMPAIGN_TRACKED_DAYS);
  const listWeights = EMAIL_LISTS.map((l) => Math.sqrt(l.startMembers));
  let seq = 0;
  for (let i = 0; i < starts.length; i++) {
    const d = first + i;
    for (let j = 0; j < starts[i]; j++) {
      seq++;
      const li = EMAIL_LISTS.indexOf(rng.pick(EMAIL_LISTS, listWeights));
      const list = EMAIL_LISTS[li];
      const type = rng.pick(
        CAMPAIGN_TYPES.map((t) => t[0]),
        CAMPAIGN_TYPES.map((t) => t[1]),
      );
      const theme = rng.pick(CAMPAIGN_THEMES);
      const date = isoDay(d);
      const title = `${theme} – ${MONTHS[Number(date.slice(5, 7)) - 1]} ${date.slice(0, 4)}`;
      // Segmented sends reach part of the audience; full sends reach everyone not cleaned.
      const sent = Math.round(membersOn(list, li, d) * (rng.chance(0.3) ? 0.2 + 0.5 * rng.next() : 0.97));
      const openRate = Math.min(0.7, 0.3 * rng.spread(0.2) * (theme === 'Last Chance' ? 1.1 : 1));
      const clickRate = openRate * 0.11 * rng.spread(0.35);
      const uniqueOpens = sent * openRate;
      const uniqueClicks = sent * clickRate;
      const subject = `${theme}: ${rng.pick(['new this week', 'just for you', 'don’t miss out', 'our favourites', 'a quick update'])}`;
      const hourSeconds = (8.5 + 2 * rng.next()) * 3600;
      const id = (0x3880_25b2_32n + BigInt(seq) * 7_919n).toString(16).padStart(10, '0').slice(-10);
      // Multivariate reports do not split out Apple Mail Privacy Protection opens.
      const proxyKnown = type !== 'variate';
      // Campaigns sent before the first day contribute only their days inside the range.
      for (let k = Math.max(0, -d); k < CAMPAIGN_TRACKED_DAYS && d + k < DEMO_DAYS; k++) {
        const share = openShare(k) * rng.spread(0.15);
        const opens = rng.count(uniqueOpens * share);
        const clicks = rng.count(uniqueClicks * share * (k === 0 ? 1.1 : 0.9));
        yield {
          campaign_id: id,
          metric_date: isoDay(d + k),
          campaign_title: title,
          campaign_type: type,
          subject_line: subject,
          list_id: list.listId,
          list_name: list.name,
          send_time: `${date} ${new Date(hourSeconds * 1000).toISOString().slice(11, 19)}`,
          emails_sent: k === 0 ? sent : 0,
          unique_opens: opens,
          proxy_excluded_unique_opens: proxyKnown ? Math.round(opens * (0.55 + 0.1 * rng.next())) : null,
          opens_total: opens + rng.count(opens * 0.35),
          unique_clicks: clicks,
          clicks_total: clicks + rng.count(clicks * 0.4),
          hard_bounces: k === 0 ? rng.count(sent * 0.002) : 0,
          soft_bounces: k === 0 ? rng.count(sent * 0.005) : 0,
          unsubscribed: rng.count(sent * 0.0018 * share),
          abuse_reports: rng.count(sent * 0.00004 * share),
        };
      }
    }
  }
}

/** Audience size per list and day: `count` rows spread over the lists, each keeping its most recent days. */
export function* listDailyRows(count: number, seed: number): Iterable<DemoRow> {
  const lengths = tailLengths(count, EMAIL_LISTS.length, DEMO_DAYS);
  for (let li = 0; li < EMAIL_LISTS.length; li++) {
    const list = EMAIL_LISTS[li];
    for (let d = DEMO_DAYS - lengths[li]; d < DEMO_DAYS; d++) {
      const members = membersOn(list, li, d);
      const net = members - membersOn(list, li, d - 1);
      const unsubscribed = Math.round(members * 0.0004 * (0.5 + noise(seed, 42, li, d)));
      const cleaned = weekday(d) === 0 ? Math.round(members * 0.0008 * noise(seed, 43, li, d)) : 0;
      yield {
        list_id: list.listId,
        metric_date: isoDay(d),
        list_name: list.name,
        member_count: members,
        subscribed: Math.max(0, net + unsubscribed + cleaned),
        unsubscribed: Math.max(unsubscribed, unsubscribed - Math.min(0, net + unsubscribed + cleaned)),
        cleaned,
      };
    }
  }
}

const AUDIENCES = ['VIP customers', 'Lapsed buyers', 'Event attendees', 'Partners', 'Trade accounts'];

/** Campaigns sent from other tools, one row each with lifetime totals: exactly `count` rows. */
export function* manualCampaignRows(count: number, seed: number): Iterable<DemoRow> {
  const rng = new Rng(seed, 44);
  const perDay = allocate(count, Array.from({ length: DEMO_DAYS }, (_, d) => SEND_DAY[weekday(d)] * season('email', d)));
  let seq = 0;
  for (let d = 0; d < DEMO_DAYS; d++) {
    for (let j = 0; j < perDay[d]; j++) {
      seq++;
      const brand = rng.pick(BRANDS);
      const recipients = Math.round(3_000 * brand.scale * rng.spread(0.6));
      const opens = rng.count(recipients * 0.34 * rng.spread(0.2));
      yield {
        campaign_id: `KL-${isoDay(d).slice(0, 4)}-${String(seq).padStart(5, '0')}`,
        campaign_name: `${brand.name} – ${rng.pick(CAMPAIGN_THEMES)}`,
        send_date: isoDay(d),
        audience: rng.pick(AUDIENCES),
        recipients,
        unique_opens: opens,
        unique_clicks: rng.count(opens * 0.12),
        unsubscribes: rng.count(recipients * 0.002),
        // Revenue attribution exists only for the shops; the bank's sheet leaves it blank.
        revenue: brand.slug === 'kestrelbank' ? null : money(opens * 0.9 * rng.spread(0.5)),
      };
    }
  }
}
