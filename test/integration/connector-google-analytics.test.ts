/**
 * `google_analytics` against the GA4 fake, on DuckDB and PostgreSQL: a 120-day backfill through
 * offset paging with a RESOURCE_EXHAUSTED, a 500 and a cut-off body in the middle leaves exactly the
 * fake's rows; a re-pull of restated days replaces them; a wrong token fails at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GA4_PROPERTIES } from '../../src/demo/catalog.js';
import { startGa4Fake, type Ga4Fake } from '../fakes/ga4/ga4-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, type Harness } from './connector-harness.js';

const PROPERTIES = GA4_PROPERTIES.map((p) => p.propertyId);
const SITES = Object.fromEntries(GA4_PROPERTIES.map((p) => [p.propertyId, p.brand.site]));
const WINDOW = { from: '2026-08-03', to: '2026-11-30' }; // 120 days

function sourceYaml(fake: Ga4Fake): string {
  return `
type: google_analytics
base_url: ${fake.baseUrl}
lookback_days: 2
credentials:
  access_token: \${GA4_TOKEN}
settings:
  property_ids: [${PROPERTIES.join(', ')}]
  sites: { ${PROPERTIES.map((p) => `"${p}": ${SITES[p]}`).join(', ')} }
  page_size: 100
streams:
  traffic: web_ga4_daily
  pages: web_page_daily
`;
}

describe.each(DIALECTS)('google_analytics on %s', (dialect) => {
  let h: Harness;
  let ga4: Ga4Fake;
  beforeEach(async () => {
    h = await openHarness(dialect);
    ga4 = await startGa4Fake();
  });
  afterEach(async () => {
    await ga4.close();
    await h.close();
  });

  const expected = (table: 'web.ga4_daily' | 'web.page_daily', target: string, from: string, to: string) =>
    h.expectedLines(target, ga4.expectedRows(table, PROPERTIES, from, to).map((r) => ({ ...r, site: SITES[r.property_id as string] })));

  it('pulls 120 days through paging, a throttle, a 5xx and a cut-off body: the tables hold exactly the fake’s rows, every page is stored raw', async () => {
    ga4.inject({ kind: 'throttle', at: 3 });
    ga4.inject({ kind: 'server_error', at: 6 });
    ga4.inject({ kind: 'truncate', at: 9 });
    const { result, jobId } = await h.pull('web_ga4', sourceYaml(ga4), WINDOW, { GA4_TOKEN: ga4.token });

    const traffic = await h.tableLines('web_ga4_daily');
    expect(traffic).toEqual(expected('web.ga4_daily', 'web_ga4_daily', WINDOW.from, WINDOW.to));
    expect(traffic.length).toBeGreaterThan(2000);
    expect(await h.tableLines('web_page_daily')).toEqual(expected('web.page_daily', 'web_page_daily', WINDOW.from, WINDOW.to));

    // Every fault was met and waited out: quota, server error, cut-off body.
    expect(ga4.requests.map((r) => r.fault).filter(Boolean)).toEqual(['throttle', 'server_error', 'truncate']);
    expect(h.waits.map((w) => w.reason)).toEqual([
      expect.stringContaining('quota exhausted (Exhausted concurrent requests quota.'),
      expect.stringContaining('server error (HTTP 500'),
      expect.stringContaining('the response body was cut off'),
    ]);
    // Paging: several pages per property and window, each sent with its offset.
    const offsets = ga4.requests.map((r) => (JSON.parse(r.body) as { offset: string }).offset);
    expect(offsets.filter((o) => o !== '0').length).toBeGreaterThan(10);

    const keys = await h.rawKeys('web_ga4');
    const answered = ga4.requests.filter((r) => r.status === 200 && r.fault === undefined);
    expect(keys).toHaveLength(answered.length);
    expect(result.pages).toBe(answered.length);
    expect(keys[0]).toMatch(new RegExp(`^raw/web_ga4/dt=2026-12-01/${jobId}/(pages|traffic)/page-\\d+\\.json$`));
    expect(JSON.parse(await h.rawText(keys[0]))).toMatchObject({ kind: 'analyticsData#runReport' });
  });

  it('re-pulling an overlapping window with restated values leaves the new values and no duplicates', async () => {
    await h.pull('web_ga4', sourceYaml(ga4), WINDOW, { GA4_TOKEN: ga4.token });
    ga4.restate({ from: '2026-11-20', to: '2026-11-30', factor: 1.25 });
    await h.pull('web_ga4', sourceYaml(ga4), { from: '2026-11-01', to: '2026-11-30' }, { GA4_TOKEN: ga4.token });

    const now = await h.tableLines('web_ga4_daily');
    expect(now).toEqual(expected('web.ga4_daily', 'web_ga4_daily', WINDOW.from, WINDOW.to));
    const restated = now.filter((l) => l.includes('"metric_date":"2026-11-25"'));
    expect(restated.length).toBeGreaterThan(0);
    expect(now).toHaveLength(new Set(now).size);
  });

  it('a wrong token fails at once, naming the source and the problem, never the token', async () => {
    const err = await h.pullError('web_ga4', sourceYaml(ga4), WINDOW, { GA4_TOKEN: 'ya29.wrong-token-1234' });
    expect(err.code).toBe('SOURCE_AUTH');
    expect(err.message).toContain('source "web_ga4", stream traffic');
    expect(err.message).toContain('the credentials were rejected (HTTP 401');
    expect(err.message).not.toContain('wrong-token');
    expect(ga4.requests).toHaveLength(1);
  });
});
