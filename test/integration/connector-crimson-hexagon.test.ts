/**
 * `crimson_hexagon` against the ForSight fake, on DuckDB and PostgreSQL: a 120-day backfill (one window
 * per month, one request per monitor and source) with a 429, a 500 and a cut-off body in the middle
 * leaves exactly the fake's rows; regenerated results replace the old on a re-pull; a wrong password
 * fails at once; an expired token is renewed once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MONITORS } from '../../src/demo/catalog.js';
import { startCrimsonHexagonFake, type CrimsonHexagonFake } from '../fakes/crimson-hexagon/crimson-hexagon-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, type Harness } from './connector-harness.js';

const IDS = MONITORS.map((m) => m.monitorId);
const WINDOW = { from: '2026-08-03', to: '2026-11-30' }; // 120 days

function sourceYaml(fake: CrimsonHexagonFake): string {
  return `
type: crimson_hexagon
base_url: ${fake.baseUrl}
lookback_days: 7
credentials:
  username: \${CH_USER}
  password: \${CH_PASSWORD}
settings:
  monitor_ids: [${IDS.join(', ')}]
  brands: { ${MONITORS.map((m) => `"${m.monitorId}": "${m.brand.name}"`).join(', ')} }
streams:
  results: listening_mentions_daily
`;
}

describe.each(DIALECTS)('crimson_hexagon on %s', (dialect) => {
  let h: Harness;
  let ch: CrimsonHexagonFake;
  const env = () => ({ CH_USER: ch.username, CH_PASSWORD: ch.password });
  beforeEach(async () => {
    h = await openHarness(dialect);
    ch = await startCrimsonHexagonFake();
  });
  afterEach(async () => {
    await ch.close();
    await h.close();
  });

  it('pulls 120 days through a 429, a 500 and a cut-off body: exactly the fake’s rows, every page stored raw', async () => {
    ch.inject({ kind: 'throttle', at: 10, retryAfterSeconds: 2 });
    ch.inject({ kind: 'server_error', at: 40 });
    ch.inject({ kind: 'truncate', at: 70 });
    const { result } = await h.pull('listening_crimson_hexagon', sourceYaml(ch), WINDOW, env());

    const rows = await h.tableLines('listening_mentions_daily');
    expect(rows).toEqual(h.expectedLines('listening_mentions_daily', ch.expectedRows(IDS, WINDOW.from, WINDOW.to)));
    expect(rows.length).toBeGreaterThan(1500);
    expect(ch.requests.map((r) => r.fault).filter(Boolean)).toEqual(['throttle', 'server_error', 'truncate']);
    expect(h.waits[0]).toMatchObject({ reason: expect.stringContaining('rate limited (HTTP 429'), waitMs: expect.any(Number) });
    expect(h.waits[0].waitMs).toBeGreaterThanOrEqual(2000); // as Retry-After asked
    // One login for the whole run; the token rides as ?auth=, the password never does after it.
    expect(ch.requests.filter((r) => r.path === '/api/authenticate')).toHaveLength(1);
    expect(ch.requests.filter((r) => r.path === '/api/monitor/results').every((r) => r.query.get('auth') === 'fake-ch-token-1' && !r.query.has('password'))).toBe(true);

    const keys = await h.rawKeys('listening_crimson_hexagon');
    expect(keys).toHaveLength(result.pages);
    // 4 windows (31 days at most) × 4 monitors × 8 sources.
    expect(keys).toHaveLength(4 * IDS.length * 8);
  });

  it('re-pulling regenerated results leaves the new values and no duplicates', async () => {
    await h.pull('listening_crimson_hexagon', sourceYaml(ch), WINDOW, env());
    ch.restate({ from: '2026-11-15', to: '2026-11-30', factor: 1.3 });
    await h.pull('listening_crimson_hexagon', sourceYaml(ch), { from: '2026-11-10', to: '2026-11-30' }, env());
    const rows = await h.tableLines('listening_mentions_daily');
    expect(rows).toEqual(h.expectedLines('listening_mentions_daily', ch.expectedRows(IDS, WINDOW.from, WINDOW.to)));
    expect(rows).toHaveLength(new Set(rows).size);
  });

  it('a wrong password fails at once, naming the source and the problem, never the password', async () => {
    const err = await h.pullError('listening_crimson_hexagon', sourceYaml(ch), WINDOW, { CH_USER: ch.username, CH_PASSWORD: 'hunter2-wrong' });
    expect(err.code).toBe('SOURCE_AUTH');
    expect(err.message).toContain('source "listening_crimson_hexagon", stream results');
    expect(err.message).toContain('Invalid username or password');
    expect(err.message).not.toContain('hunter2');
    expect(ch.requests).toHaveLength(1);
  });

  it('logs in again once when the token expires mid-run', async () => {
    let expired = false;
    const run = h.pull('listening_crimson_hexagon', sourceYaml(ch), { from: '2026-11-01', to: '2026-11-30' }, env());
    // Expire the token after a few requests, as a 24-hour token does during a long backfill.
    const timer = setInterval(() => {
      if (!expired && ch.requests.length > 5) {
        ch.expireTokens();
        expired = true;
      }
    }, 1);
    await run.finally(() => clearInterval(timer));
    expect(expired).toBe(true);
    expect(ch.requests.filter((r) => r.path === '/api/authenticate')).toHaveLength(2);
    expect(await h.tableLines('listening_mentions_daily')).toEqual(h.expectedLines('listening_mentions_daily', ch.expectedRows(IDS, '2026-11-01', '2026-11-30')));
  });
});
