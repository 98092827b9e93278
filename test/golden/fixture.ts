/**
 * The golden tests' fixed dataset: a few social accounts, their posts and their daily follower
 * counts, written by formula (no randomness) so that every number in the `.json` files can be checked
 * by hand. Dates straddle the 2025/2026 year boundary on purpose (ISO week 2026-W01 starts on
 * Monday 2025-12-29).
 */
import { DEMO_TABLES, SOCIAL_ACCOUNTS, SOCIAL_ACCOUNT_DAILY, SOCIAL_POST_DAILY } from '../../src/demo/tables.js';
import type { SqlValue, TableSpec, Warehouse } from '../../src/warehouse/port.js';

const LOADED_AT = '2026-03-15 06:00:00';

const ACCOUNTS = [
  { account_id: 'a1', platform: 'facebook', account_name: 'Acme', region: 'EMEA', is_active: true },
  { account_id: 'a2', platform: 'instagram', account_name: 'Acme', region: 'NA', is_active: true },
  { account_id: 'a3', platform: 'x', account_name: 'Acme', region: 'EMEA', is_active: false },
  { account_id: 'a4', platform: 'instagram', account_name: 'Beta', region: 'APAC', is_active: true },
] as const;

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Eight posts, each measured on six days spread over four weeks after publishing. */
function postRows(): Record<string, SqlValue>[] {
  const rows: Record<string, SqlValue>[] = [];
  const starts = ['2025-12-20', '2025-12-27', '2025-12-30', '2026-01-05', '2026-01-24', '2026-02-02', '2026-02-20', '2026-03-01'];
  starts.forEach((start, i) => {
    const account = ACCOUNTS[i % ACCOUNTS.length];
    for (let k = 0; k < 6; k += 1) {
      const impressions = 100 * (((i * 7 + k * 13) % 17) + 1);
      rows.push({
        platform: account.platform,
        post_id: `p${i + 1}`,
        metric_date: addDays(start, k * 5),
        account_id: account.account_id,
        account_name: account.account_name,
        post_type: i % 3 === 0 ? 'video' : 'image',
        published_at: `${start} 0${i % 10}:30:00`,
        impressions,
        reach: Math.floor(impressions * 0.8),
        likes: (i * 3 + k * 5) % 23,
        comments: (i + k) % 4,
        // One missing share count: likes + comments + shares is null on that row and sum() skips it.
        shares: i === 2 && k === 1 ? null : (i * k) % 5,
        saves: k % 3,
        video_views: null,
        link_clicks: (i + 2 * k) % 7,
        _run_id: 'golden',
        _loaded_at: LOADED_AT,
        _source_object: 'fixtures/golden',
      });
    }
  });
  return rows;
}

/** Follower counts every fourth day from 2025-12-24 to 2026-02-26, growing per account at its own pace. */
function accountDailyRows(): Record<string, SqlValue>[] {
  const rows: Record<string, SqlValue>[] = [];
  ACCOUNTS.forEach((account, a) => {
    for (let d = 0; d <= 64; d += 4) {
      const step = d / 4;
      rows.push({
        account_id: account.account_id,
        metric_date: addDays('2025-12-24', d),
        platform: account.platform,
        follower_count: 1000 * (a + 1) + step * (10 + a * 5),
        new_followers: 12 + ((step + a) % 6),
        lost_followers: account.platform === 'x' ? null : (step * (a + 1)) % 4,
        profile_views: 50 + ((step * 7 + a) % 11),
        _run_id: 'golden',
        _loaded_at: LOADED_AT,
        _source_object: 'fixtures/golden',
      });
    }
  });
  return rows;
}

async function load(warehouse: Warehouse, spec: TableSpec, rows: Record<string, SqlValue>[]): Promise<void> {
  const columns = Object.keys(rows[0]);
  await warehouse.merge({ spec, columns, rows: rows.map((r) => columns.map((c) => r[c] ?? null)) });
}

/** Creates every example table and fills the social ones with the fixed rows. */
export async function loadGoldenFixture(warehouse: Warehouse): Promise<void> {
  for (const spec of DEMO_TABLES) await warehouse.ensureTable(spec);
  await load(
    warehouse,
    SOCIAL_ACCOUNTS,
    ACCOUNTS.map((a) => ({ ...a, handle: `@${a.account_name.toLowerCase()}_${a.platform}`, brand: a.account_name, _run_id: 'golden', _loaded_at: LOADED_AT, _source_object: 'fixtures/golden' })),
  );
  await load(warehouse, SOCIAL_POST_DAILY, postRows());
  await load(warehouse, SOCIAL_ACCOUNT_DAILY, accountDailyRows());
}
