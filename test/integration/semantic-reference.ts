/**
 * Deterministic fixture rows for the semantic integration tests, and an independent computation of
 * every measure of test/fixtures/semantic/good written as plain JavaScript reductions over the same
 * rows — no SQL, no code shared with the planner.
 */
import type { TimeGrain } from '../../src/semantic/types.js';
import type { TableSpec } from '../../src/warehouse/port.js';

export interface PostRow {
  platform: string;
  account_id: string | null;
  post_id: string;
  post_type: string | null;
  metric_date: string; // YYYY-MM-DD
  posted_at: string; // YYYY-MM-DD HH:MM:SS (UTC)
  impressions: number | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  spend: number | null;
  is_paid: boolean | null;
  duration_s: number | null;
}

export interface AccountRow {
  account_id: string;
  region: string;
  name: string;
  verified: boolean;
}

export interface AccountDayRow {
  account_id: string;
  platform: string;
  metric_date: string;
  follower_count: number | null;
}

/** mulberry32: a tiny seeded PRNG so that every run generates the same rows. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) out.push(d.toISOString().slice(0, 10));
  return out;
}

/**
 * Days around a quarter boundary (Sep/Oct), the year boundary (with ISO week 2026-W01, which starts on
 * Monday 2025-12-29) and another quarter boundary (Mar/Apr).
 */
export const DAYS = [...days('2025-09-26', '2025-10-05'), ...days('2025-12-24', '2026-01-06'), ...days('2026-03-27', '2026-04-03')];

const PLATFORMS = ['facebook', 'instagram', 'x'] as const;
const ACCOUNT_IDS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a9'] as const; // a9 has no row in accounts
const POST_TYPES = ['photo', 'video', 'link'] as const;

export interface Fixture {
  posts: PostRow[];
  accounts: AccountRow[];
  accountDays: AccountDayRow[];
}

/** The generated rows: a few hundred posts-per-day with nulls, accounts with a duplicated key, balances with gaps. */
export function generateFixture(): Fixture {
  const r = rng(20260101);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const maybe = <T>(v: T, pNull: number): T | null => (r() < pNull ? null : v);
  const posts: PostRow[] = [];
  for (let p = 0; p < 70; p++) {
    const platform = pick(PLATFORMS);
    const account = r() < 0.08 ? null : pick(ACCOUNT_IDS);
    const postType = maybe(pick(POST_TYPES), 0.15);
    const start = Math.floor(r() * DAYS.length);
    const span = 1 + Math.floor(r() * 9);
    const hour = Math.floor(r() * 24);
    const isPaid = maybe(r() < 0.4, 0.1);
    const duration = postType === 'video' ? 5 + Math.floor(r() * 120) : maybe(0, 0.5);
    for (let k = 0; k < span && start + k < DAYS.length; k++) {
      const day = DAYS[start + k];
      posts.push({
        platform,
        account_id: account,
        post_id: `p${String(p).padStart(3, '0')}`,
        post_type: postType,
        metric_date: day,
        posted_at: `${DAYS[start]} ${String(hour).padStart(2, '0')}:${String(Math.floor(r() * 60)).padStart(2, '0')}:00`,
        impressions: maybe(r() < 0.05 ? 0 : Math.floor(r() * 5000), 0.05),
        likes: maybe(Math.floor(r() * 300), 0.05),
        comments: maybe(Math.floor(r() * 40), 0.05),
        shares: Math.floor(r() * 25),
        spend: maybe(Math.round(r() * 10000) / 100, 0.3),
        is_paid: isPaid,
        duration_s: duration,
      });
    }
  }
  // A platform whose only rows have no impressions: its engagement rate must be null, not an error.
  for (const id of ['t1', 't2']) {
    posts.push({
      platform: 'threads', account_id: 'a1', post_id: id, post_type: "it's; -- odd", metric_date: '2026-01-02', posted_at: '2026-01-02 09:30:00',
      impressions: 0, likes: 3, comments: 1, shares: 0, spend: null, is_paid: false, duration_s: null,
    });
  }
  const accounts: AccountRow[] = [
    { account_id: 'a1', region: 'emea', name: 'Acme UK', verified: true },
    { account_id: 'a2', region: 'amer', name: 'Acme US', verified: false },
    // A duplicated key: joining it naively would double every a2 post.
    { account_id: 'a2', region: 'emea', name: 'Acme US (old)', verified: true },
    { account_id: 'a3', region: 'apac', name: 'Acme JP', verified: false },
    { account_id: 'a4', region: 'emea', name: 'Acme DE', verified: false },
    { account_id: 'a5', region: 'amer', name: 'Acme CA', verified: true },
  ];
  const accountDays: AccountDayRow[] = [];
  const base: Record<string, number> = { a1: 1000, a2: 5000, a3: 300, a4: 12000, a5: 70 };
  const platformOf: Record<string, string> = { a1: 'facebook', a2: 'instagram', a3: 'x', a4: 'facebook', a5: 'x' };
  for (const day of DAYS) {
    for (const a of Object.keys(base)) {
      base[a] += Math.floor(r() * 50) - 10;
      // Gaps: an account does not report every day, so a period's last day may miss some accounts.
      if (r() < 0.2) continue;
      accountDays.push({ account_id: a, platform: platformOf[a], metric_date: day, follower_count: maybe(base[a], 0.05) });
    }
  }
  return { posts, accounts, accountDays };
}

// ---- time truncation, written independently of any SQL ----

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Truncates `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (UTC) to a grain: a date, or an ISO timestamp for hour. */
export function truncate(grain: TimeGrain, value: string): string {
  const d = new Date(`${value.replace(' ', 'T')}${value.length === 10 ? 'T00:00:00' : ''}Z`);
  switch (grain) {
    case 'hour':
      d.setUTCMinutes(0, 0, 0);
      return d.toISOString();
    case 'day':
      return ymd(d);
    case 'week': {
      const back = (d.getUTCDay() + 6) % 7; // days since Monday
      d.setUTCDate(d.getUTCDate() - back);
      return ymd(d);
    }
    case 'month':
      return `${value.slice(0, 7)}-01`;
    case 'quarter':
      return `${value.slice(0, 4)}-${String(Math.floor(d.getUTCMonth() / 3) * 3 + 1).padStart(2, '0')}-01`;
    case 'year':
      return `${value.slice(0, 4)}-01-01`;
  }
}

// ---- measures ----

const nonNull = (xs: Array<number | null>): number[] => xs.filter((x): x is number => x !== null);
const sum = (xs: Array<number | null>): number | null => (nonNull(xs).length === 0 ? null : nonNull(xs).reduce((a, b) => a + b, 0));
const div = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

function engagement(r: PostRow): number | null {
  return r.likes === null || r.comments === null || r.shares === null ? null : r.likes + r.comments + r.shares;
}

/** Every measure of social.post_performance over a group of rows, as the model defines them. */
export function postMeasures(rows: PostRow[]): Record<string, number | null> {
  const impressions = sum(rows.map((r) => r.impressions));
  const engagements = sum(rows.map(engagement));
  const spend = sum(rows.map((r) => r.spend));
  const posts = new Set(rows.map((r) => r.post_id)).size;
  const imp = nonNull(rows.map((r) => r.impressions));
  const sp = nonNull(rows.map((r) => r.spend));
  return {
    rows: rows.length,
    posts,
    impressions,
    engagements,
    engagement_rate: div(engagements, impressions),
    avg_impressions: imp.length === 0 ? null : imp.reduce((a, b) => a + b, 0) / imp.length,
    min_spend: sp.length === 0 ? null : Math.min(...sp),
    max_spend: sp.length === 0 ? null : Math.max(...sp),
    spend,
    paid_rows: rows.filter((r) => r.is_paid === true).length,
    cost_per_engagement: div(spend, engagements),
    engagements_per_post: posts === 0 ? null : div(engagements, posts),
  };
}

/**
 * `followers` (type last): within each period, the rows at the period's latest day (over all rows of
 * the period that passed the filters), summed within each group.
 */
export function lastFollowers(
  rows: AccountDayRow[],
  period: (r: AccountDayRow) => string,
  group: (r: AccountDayRow) => string,
): Map<string, number | null> {
  const latest = new Map<string, string>();
  for (const r of rows) {
    const p = period(r);
    const cur = latest.get(p);
    if (cur === undefined || r.metric_date > cur) latest.set(p, r.metric_date);
  }
  const out = new Map<string, number | null>();
  for (const r of rows) {
    const g = group(r);
    if (!out.has(g)) out.set(g, null);
    if (r.metric_date === latest.get(period(r)) && r.follower_count !== null) out.set(g, (out.get(g) ?? 0) + r.follower_count);
  }
  return out;
}

/** Rows grouped by a key. */
export function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** min(region) per account, the joined model's dimension as its grain defines it. */
export function regionOf(accounts: readonly AccountRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of accounts) {
    const cur = out.get(a.account_id);
    if (cur === undefined || a.region < cur) out.set(a.account_id, a.region);
  }
  return out;
}

/** `social.post_daily` as the fixture project test/fixtures/semantic/good reads it. */
export const GOOD_POST_DAILY: TableSpec = {
  table: 'social.post_daily',
  key: ['platform', 'post_id', 'metric_date'],
  columns: [
    { name: 'platform', type: 'string', required: true },
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'posted_at', type: 'timestamp' },
    { name: 'account_id', type: 'string' },
    { name: 'post_type', type: 'string' },
    { name: 'is_paid', type: 'boolean' },
    { name: 'duration_s', type: 'double' },
    { name: 'impressions', type: 'integer' },
    { name: 'likes', type: 'integer' },
    { name: 'comments', type: 'integer' },
    { name: 'shares', type: 'integer' },
    { name: 'spend', type: 'double' },
  ],
};
