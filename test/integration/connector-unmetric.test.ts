/**
 * `unmetric` against its (assumed-shape) fake, on DuckDB and PostgreSQL: a 120-day backfill through page
 * numbers with a 429, a 500 and a cut-off body in the middle leaves exactly the fake's rows (four
 * attributes joined per brand, platform and day); a re-pull replaces restated values; a wrong key fails
 * at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startUnmetricFake, UNMETRIC_BRANDS, type UnmetricFake } from '../fakes/unmetric/unmetric-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, type Harness } from './connector-harness.js';

const WINDOW = { from: '2026-08-03', to: '2026-11-30' }; // 120 days
const IDS = UNMETRIC_BRANDS.map((b) => b.brandId);

function sourceYaml(fake: UnmetricFake): string {
  return `
type: unmetric
base_url: ${fake.baseUrl}
lookback_days: 3
credentials:
  api_key: \${UNMETRIC_KEY}
settings:
  competitive_sets: ["Coffee retail UK", "Outdoor retail NA"]
  page_size: 200
streams:
  brand_daily: listening_brand_daily
`;
}

describe.each(DIALECTS)('unmetric on %s', (dialect) => {
  let h: Harness;
  let um: UnmetricFake;
  beforeEach(async () => {
    h = await openHarness(dialect);
    um = await startUnmetricFake();
  });
  afterEach(async () => {
    await um.close();
    await h.close();
  });

  it('pulls 120 days through paging, a 429, a 500 and a cut-off body: exactly the fake’s rows, every page stored raw', async () => {
    um.inject({ kind: 'throttle', at: 3, retryAfterSeconds: 1 });
    um.inject({ kind: 'server_error', at: 9 });
    um.inject({ kind: 'truncate', at: 15 });
    const { result } = await h.pull('listening_unmetric', sourceYaml(um), WINDOW, { UNMETRIC_KEY: um.apiKey });

    const rows = await h.tableLines('listening_brand_daily');
    expect(rows).toEqual(h.expectedLines('listening_brand_daily', um.expectedRows(IDS, WINDOW.from, WINDOW.to)));
    expect(rows).toHaveLength(IDS.length * 3 * 120);
    expect(um.requests.map((r) => r.fault).filter(Boolean)).toEqual(['throttle', 'server_error', 'truncate']);
    expect(h.waits.map((w) => w.reason)).toEqual([expect.stringContaining('rate limited (HTTP 429'), expect.stringContaining('server error (HTTP 500'), expect.stringContaining('the response body was cut off')]);
    expect(um.requests.some((r) => r.query.get('page') === '3')).toBe(true);
    expect(await h.rawKeys('listening_unmetric')).toHaveLength(result.pages);
  });

  it('re-pulling restated days leaves the new values and no duplicates', async () => {
    await h.pull('listening_unmetric', sourceYaml(um), WINDOW, { UNMETRIC_KEY: um.apiKey });
    um.restate({ from: '2026-11-25', to: '2026-11-30', factor: 1.1 });
    await h.pull('listening_unmetric', sourceYaml(um), { from: '2026-11-20', to: '2026-11-30' }, { UNMETRIC_KEY: um.apiKey });
    const rows = await h.tableLines('listening_brand_daily');
    expect(rows).toEqual(h.expectedLines('listening_brand_daily', um.expectedRows(IDS, WINDOW.from, WINDOW.to)));
    expect(rows).toHaveLength(IDS.length * 3 * 120);
  });

  it('a wrong key fails at once, naming the source and the problem, never the key', async () => {
    const err = await h.pullError('listening_unmetric', sourceYaml(um), WINDOW, { UNMETRIC_KEY: 'um_live_not_the_key_99' });
    expect(err.code).toBe('SOURCE_AUTH');
    expect(err.message).toContain('source "listening_unmetric", stream brand_daily');
    expect(err.message).toContain('the credentials were rejected (HTTP 401');
    expect(err.message).not.toContain('not_the_key');
    expect(um.requests).toHaveLength(1);
  });
});
