/**
 * The demo generator against real warehouses: exact row counts, deterministic contents, keys and
 * dates as promised, numbers equal to what the generator itself produced, and plausible marketing data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src/errors.js';
import { rowsInRange, trackedStarts } from '../../src/demo/allocate.js';
import { DEMO_DAYS, DEMO_END, DEMO_START } from '../../src/demo/calendar.js';
import { demoIsLoaded, generateDemo, planDemo, type DemoResult } from '../../src/demo/generate.js';
import { ga4DailyRows } from '../../src/demo/web.js';
import { postDailyRows } from '../../src/demo/social.js';
import { DEMO_FACT_TABLES, DEMO_TABLES } from '../../src/demo/tables.js';
import type { TableSpec, Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const ROWS = 20_000;
const SEED = 7;

/** An order-independent fingerprint of a table's contents: md5 of its sorted rows as text. */
async function checksum(w: Warehouse, spec: TableSpec): Promise<{ n: number; hash: string }> {
  const q = w.dialect.quoteIdent;
  const text = spec.columns.map((c) => `coalesce(CAST(${q(c.name)} AS VARCHAR), '<null>')`).join(`, '|', `);
  const [row] = await w.query(
    `SELECT count(*) AS n, md5(coalesce(string_agg(r, ';' ORDER BY r), '')) AS hash FROM (SELECT concat(${text}) AS r FROM ${w.dialect.quoteTable(spec.table)}) x`,
  );
  return { n: Number(row.n), hash: String(row.hash) };
}

async function checksums(w: Warehouse): Promise<Record<string, { n: number; hash: string }>> {
  const out: Record<string, { n: number; hash: string }> = {};
  for (const spec of DEMO_TABLES) out[spec.table] = await checksum(w, spec);
  return out;
}

describe('planDemo', () => {
  it('splits rows exactly over the fact tables, most of them to social.post_daily', () => {
    for (const rows of [0, 1, 999, 20_000, 200_000, 10_000_000]) {
      const plan = planDemo(rows);
      expect(DEMO_FACT_TABLES.reduce((s, t) => s + plan[t], 0), String(rows)).toBe(rows);
      for (const t of DEMO_FACT_TABLES) expect(plan[t], t).toBeGreaterThanOrEqual(0);
      if (rows >= 20_000) expect(plan['social.post_daily'] / rows).toBeGreaterThan(0.6);
    }
    expect(planDemo(10_000_000)['social.post_daily'] / 10_000_000).toBeGreaterThan(0.8);
  });

  it('starts tracked items (posts, campaigns) so that their rows add up exactly, whatever the total', () => {
    for (const tracked of [28, 14, 7]) {
      for (const total of [0, 1, 27, 28, 29, 1_000, 136_010, 8_200_000]) {
        const { first, starts } = trackedStarts(total, (d) => 1 + (((d % 7) + 7) % 7) / 10, DEMO_DAYS, tracked);
        expect(starts.every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
        expect(starts.reduce((s, n, i) => s + n * rowsInRange(first + i, DEMO_DAYS, tracked), 0), `${tracked}/${total}`).toBe(total);
      }
    }
  });

  it('gives different rows for a different seed', () => {
    const a = [...postDailyRows(500, 1)];
    const b = [...postDailyRows(500, 2)];
    expect(a).toHaveLength(500);
    expect(b).toHaveLength(500);
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
    expect(JSON.stringify([...postDailyRows(500, 1)])).toBe(JSON.stringify(a));
  });
});

describe.each(DIALECTS)('generateDemo on %s', (dialect) => {
  let w: Warehouse;
  let loadedBefore: boolean;
  let result: DemoResult;
  const progress: Array<[number, number]> = [];

  beforeAll(async () => {
    w = await freshWarehouse(dialect);
    loadedBefore = await demoIsLoaded(w);
    result = await generateDemo(w, { rows: ROWS, seed: SEED, onProgress: (done, total) => progress.push([done, total]) });
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  });

  it('reports the rows it wrote, and the tables hold exactly those', async () => {
    const plan = planDemo(ROWS);
    expect(result.tables).toEqual(plan);
    expect(DEMO_FACT_TABLES.reduce((s, t) => s + result.tables[t], 0)).toBe(ROWS);
    for (const spec of DEMO_TABLES) {
      const [row] = await w.query(`SELECT count(*) AS n FROM ${w.dialect.quoteTable(spec.table)}`);
      expect(Number(row.n), spec.table).toBe(result.tables[spec.table]);
      expect(Number(row.n), spec.table).toBeGreaterThan(0);
    }
    const total = Object.values(plan).reduce((s, n) => s + n, 0);
    expect(progress[0]).toEqual([0, total]);
    expect(progress.at(-1)).toEqual([total, total]);
    expect(progress.every(([done], i) => i === 0 || done >= progress[i - 1][0])).toBe(true);
  });

  it('says whether the demo is loaded', () => {
    expect(loadedBefore).toBe(false);
    return expect(demoIsLoaded(w)).resolves.toBe(true);
  });

  it('keeps every fact date inside 2024-12-01 … 2026-11-30 and writes the lineage columns', async () => {
    for (const spec of DEMO_TABLES) {
      const dateColumn = spec.columns.find((c) => c.name === 'metric_date' || c.name === 'send_date')?.name ?? '';
      const t = w.dialect.quoteTable(spec.table);
      if (DEMO_FACT_TABLES.includes(spec.table)) {
        expect(dateColumn, spec.table).not.toBe('');
        const [r] = await w.query(`SELECT CAST(min(${w.dialect.quoteIdent(dateColumn)}) AS VARCHAR) AS lo, CAST(max(${w.dialect.quoteIdent(dateColumn)}) AS VARCHAR) AS hi FROM ${t}`);
        expect(String(r.lo) >= DEMO_START, `${spec.table} starts ${r.lo}`).toBe(true);
        expect(String(r.hi) <= DEMO_END, `${spec.table} ends ${r.hi}`).toBe(true);
      }
      // Accounts were connected before the first day of data.
      if (spec.table === 'social.accounts') {
        const [r] = await w.query(`SELECT count(*) AS n FROM ${t} WHERE connected_on > CAST('${DEMO_START}' AS DATE)`);
        expect(Number(r.n)).toBe(0);
      }
      const lineage = await w.query(`SELECT DISTINCT _run_id, _source_object, CAST(_loaded_at AS VARCHAR) AS loaded FROM ${t}`);
      expect(lineage, spec.table).toEqual([{ _run_id: 'demo', _source_object: 'demo', loaded: expect.stringMatching(/^2026-12-01 06:00:00/) }]);
    }
  });

  it('never repeats a key', async () => {
    for (const spec of DEMO_TABLES) {
      const keys = spec.key.map(w.dialect.quoteIdent).join(', ');
      const [r] = await w.query(`SELECT count(*) AS n FROM (SELECT ${keys} FROM ${w.dialect.quoteTable(spec.table)} GROUP BY ${keys} HAVING count(*) > 1) d`);
      expect(Number(r.n), spec.table).toBe(0);
    }
  });

  it('stores the numbers the generator produced (sums recomputed in JavaScript)', async () => {
    const plan = planDemo(ROWS);
    const expected = new Map<string, { rows: number; impressions: number; engagements: number; reachNulls: number }>();
    for (const r of postDailyRows(plan['social.post_daily'], SEED)) {
      const e = expected.get(r.platform as string) ?? { rows: 0, impressions: 0, engagements: 0, reachNulls: 0 };
      e.rows++;
      e.impressions += r.impressions as number;
      e.engagements += (r.likes as number) + (r.comments as number) + (r.shares as number);
      if (r.reach === null) e.reachNulls++;
      expected.set(r.platform as string, e);
    }
    const got = await w.query(
      `SELECT platform, count(*) AS n, sum(impressions) AS impressions, sum(likes + comments + shares) AS engagements, count(*) - count(reach) AS reach_nulls
         FROM social.post_daily GROUP BY platform ORDER BY platform`,
    );
    expect(got.map((r) => [r.platform, Number(r.n), Number(r.impressions), Number(r.engagements), Number(r.reach_nulls)])).toEqual(
      [...expected.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, e]) => [p, e.rows, e.impressions, e.engagements, e.reachNulls]),
    );

    let sessions = 0;
    let revenueCents = 0;
    for (const r of ga4DailyRows(plan['web.ga4_daily'], SEED)) {
      sessions += r.sessions as number;
      revenueCents += Math.round(Number(r.purchase_revenue) * 100);
    }
    const [ga4] = await w.query(`SELECT sum(sessions) AS sessions, sum(purchase_revenue) AS revenue FROM web.ga4_daily`);
    expect(Number(ga4.sessions)).toBe(sessions);
    expect(Math.round(Number(ga4.revenue) * 100)).toBe(revenueCents);
  });

  it('looks like marketing data: every platform, team and table present, rates within sane bounds', async () => {
    const rates = await w.query(
      `SELECT platform, CAST(sum(likes + comments + shares) AS DOUBLE PRECISION) / sum(impressions) AS er FROM social.post_daily GROUP BY platform ORDER BY platform`,
    );
    expect(rates.map((r) => r.platform)).toEqual(['facebook', 'instagram', 'x']);
    const er = Object.fromEntries(rates.map((r) => [r.platform, Number(r.er)]));
    for (const p of ['facebook', 'instagram', 'x']) {
      expect(er[p], p).toBeGreaterThan(0.001);
      expect(er[p], p).toBeLessThan(0.1);
    }
    // Instagram engages more of its audience than Facebook, Facebook more than X.
    expect(er.instagram).toBeGreaterThan(er.facebook);
    expect(er.facebook).toBeGreaterThan(er.x);

    const accounts = await w.query(`SELECT platform, count(*) AS n FROM social.accounts GROUP BY platform ORDER BY platform`);
    expect(accounts.map((r) => r.platform)).toEqual(['facebook', 'instagram', 'x']);
    // Every post belongs to a known account.
    const [orphans] = await w.query(`SELECT count(*) AS n FROM social.post_daily p LEFT JOIN social.accounts a ON a.account_id = p.account_id WHERE a.account_id IS NULL`);
    expect(Number(orphans.n)).toBe(0);

    const [email] = await w.query(
      `SELECT CAST(sum(unique_opens) AS DOUBLE PRECISION) / sum(emails_sent) AS open_rate, CAST(sum(unique_clicks) AS DOUBLE PRECISION) / sum(emails_sent) AS click_rate FROM email.campaign_daily`,
    );
    expect(Number(email.open_rate)).toBeGreaterThan(0.1);
    expect(Number(email.open_rate)).toBeLessThan(0.6);
    expect(Number(email.click_rate)).toBeGreaterThan(0.005);
    expect(Number(email.click_rate)).toBeLessThan(0.1);

    const [web] = await w.query(
      `SELECT count(*) AS bad FROM web.ga4_daily WHERE engaged_sessions > sessions OR total_users > sessions OR sessions < 1 OR (ad_cost IS NULL) <> (session_medium NOT IN ('cpc', 'paid_social', 'display'))`,
    );
    expect(Number(web.bad)).toBe(0);

    const sentiments = await w.query(`SELECT sentiment, sum(mentions) AS n FROM listening.mentions_daily GROUP BY sentiment ORDER BY sentiment`);
    expect(sentiments.map((r) => r.sentiment)).toEqual(['negative', 'neutral', 'positive']);

    // Balances never go negative, and the followers of an account change by gains less losses.
    const [growth] = await w.query(
      `SELECT count(*) AS bad FROM social.account_daily a JOIN social.account_daily b ON a.account_id = b.account_id AND b.metric_date = a.metric_date + 1
        WHERE (b.lost_followers IS NOT NULL AND b.follower_count - a.follower_count <> b.new_followers - b.lost_followers) OR b.new_followers < 0 OR b.follower_count < 0`,
    );
    expect(Number(growth.bad)).toBe(0);
    const [lists] = await w.query(
      `SELECT count(*) AS bad FROM email.list_daily a JOIN email.list_daily b ON a.list_id = b.list_id AND b.metric_date = a.metric_date + 1
        WHERE b.member_count - a.member_count <> b.subscribed - b.unsubscribed - b.cleaned OR b.subscribed < 0`,
    );
    expect(Number(lists.bad)).toBe(0);

    // No pile-up at either end of the range: every month holds a similar number of post rows.
    const months = await w.query(
      `SELECT extract(year FROM metric_date) AS y, extract(month FROM metric_date) AS m, count(*) AS n FROM social.post_daily GROUP BY 1, 2`,
    );
    expect(months).toHaveLength(24);
    const counts = months.map((r) => Number(r.n));
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(2.2);

    // Weekly seasonality: social impressions are higher on weekdays than at weekends.
    const weekly = await w.query(
      `SELECT CASE WHEN extract(isodow FROM metric_date) >= 6 THEN 'weekend' ELSE 'weekday' END AS part, CAST(sum(impressions) AS DOUBLE PRECISION) / count(DISTINCT metric_date) AS per_day
         FROM social.post_daily GROUP BY 1 ORDER BY 1`,
    );
    expect(Number(weekly[0].per_day)).toBeGreaterThan(Number(weekly[1].per_day));
  });

  it('is deterministic and idempotent: the same seed gives the same contents, on a new warehouse and again on this one', async () => {
    const first = await checksums(w);
    const other = await freshWarehouse(dialect);
    try {
      await generateDemo(other, { rows: ROWS, seed: SEED });
      expect(await checksums(other)).toEqual(first);
    } finally {
      await other.close();
    }
    await generateDemo(w, { rows: ROWS, seed: SEED });
    expect(await checksums(w)).toEqual(first);
  }, 300_000);

  it('gives the same contents in small chunks, two merges in flight, as in one chunk per table', async () => {
    const first = await checksums(w);
    const other = await freshWarehouse(dialect);
    try {
      // 1,000 rows per merge: social.post_daily alone takes a dozen merges, the next staged while the last commits.
      const out = await generateDemo(other, { rows: ROWS, seed: SEED, chunkRows: 1_000 });
      expect(out.tables).toEqual(planDemo(ROWS));
      expect(await checksums(other)).toEqual(first);
    } finally {
      await other.close();
    }
  }, 300_000);

  it('stops at a merge that fails, with its error, after the merges in flight settled', async () => {
    const other = await freshWarehouse(dialect);
    try {
      // `country` made an integer column beforehand (ensureTable never retypes): the demo's country codes do not fit.
      const { WEB_GA4_DAILY } = await import('../../src/demo/tables.js');
      await other.ensureTable({ ...WEB_GA4_DAILY, columns: WEB_GA4_DAILY.columns.map((c) => (c.name === 'country' ? { ...c, type: 'integer' as const } : c)) });
      const failed = await generateDemo(other, { rows: ROWS, seed: SEED, chunkRows: 1_000 }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(Error);
      const [{ n }] = await other.query(`SELECT count(*) AS n FROM web.ga4_daily`);
      expect(Number(n)).toBe(0);
      // Tables before it were merged completely; none after it was started.
      const [{ posts }] = await other.query(`SELECT count(*) AS posts FROM social.post_daily`);
      expect(Number(posts)).toBe(planDemo(ROWS)['social.post_daily']);
      const [{ pages }] = await other.query(`SELECT count(*) AS pages FROM web.page_daily`);
      expect(Number(pages)).toBe(0);
    } finally {
      await other.close();
    }
  }, 300_000);

  it('rejects a row count that is not a whole number', async () => {
    for (const rows of [-1, 1.5, Number.NaN]) {
      const err = await generateDemo(w, { rows }).catch((e: unknown) => e);
      expect(isUserError(err) && err.code === 'BAD_USER_INPUT', String(rows)).toBe(true);
    }
  });
});
