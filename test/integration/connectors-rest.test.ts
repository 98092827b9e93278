/**
 * The declarative `rest` type, from YAML alone, against a cursor-paged fake API, on DuckDB and
 * PostgreSQL: a 120-day backfill through throttling, a 5xx and a cut-off body; an overlapping re-pull
 * with restated values; raw pages in the object store; a wrong token failing at once with exactly one
 * Slack message and the token nowhere; state that advances only with committed windows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventsSourceYaml, startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { keysUnder, openHarness, source, startSlackReceiver, target, type Harness } from './connector-harness.js';
import { DIALECTS } from '../support/warehouses.js';

const EVENTS = target(
  'shop_events',
  `
table: shop.events
key: [event_id]
columns:
  event_id: { type: string, required: true, from: id }
  day:      { type: date, required: true }
  channel:  { type: string }
  amount:   { type: integer }
  region:   { type: string, from: details_region }
  campaign: { type: string, from: details_campaign }
`,
);

const SOURCE_YAML = (baseUrl: string) => eventsSourceYaml(baseUrl, 'start_date: 2026-01-01\nlookback_days: 2');

describe.each(DIALECTS)('rest connector on %s', (dialect) => {
  let fake: RestFake;
  let slack: Awaited<ReturnType<typeof startSlackReceiver>>;
  let h: Harness;
  beforeAll(async () => {
    fake = await startRestFake();
    slack = await startSlackReceiver();
  });
  afterAll(async () => {
    await fake.close();
    await slack.close();
  });
  afterEach(async () => {
    await h?.close();
    fake.reset();
    fake.restatements.length = 0;
    slack.messages.length = 0;
  });

  let env: NodeJS.ProcessEnv = {};
  const open = (token: string) =>
    openHarness(dialect, {
      targets: [EVENTS],
      sources: [source('shop', SOURCE_YAML(fake.baseUrl), new Map([['shop_events', EVENTS]]))],
      env: (env = { SHOP_API_TOKEN: token }),
      slackWebhookUrl: slack.url,
      now: () => new Date('2026-05-01T06:00:00Z'),
    });

  const table = () => h.rows('SELECT event_id, CAST(day AS VARCHAR) AS day, channel, amount, region, campaign FROM shop.events ORDER BY event_id');
  const expected = (from: string, to: string) =>
    fake.events(from, to).map((e) => ({ event_id: e.id, day: e.day, channel: e.channel, amount: e.amount, region: e.details.region, campaign: e.details.campaign })).sort((a, b) => (a.event_id < b.event_id ? -1 : 1));

  it('backfills 120 days through paging, a throttle, a 5xx and a cut-off body: exactly the fake\'s rows, raw pages kept', async () => {
    h = await open(fake.token);
    fake.inject({ kind: 'throttle', at: 3, retryAfterSeconds: 7 });
    fake.inject({ kind: 'server_error', at: 8, times: 2 });
    fake.inject({ kind: 'truncate', at: 12 });
    const { job, error } = await h.run('shop', { from: '2026-01-01', to: '2026-04-30' });
    expect(error).toBeUndefined();
    expect(job.status).toBe('SUCCEEDED');
    expect(await table()).toEqual(expected('2026-01-01', '2026-04-30'));
    expect(job.rowsLoaded).toBe(120 * fake.perDay);

    // The throttle's Retry-After was honoured (plus jitter under a second); the 5xx and the cut body backed off.
    const throttle = h.waits.find((w) => w.reason.includes('429'));
    expect(throttle?.waitMs).toBeGreaterThanOrEqual(7000);
    expect(throttle?.waitMs).toBeLessThan(8000);
    expect(h.waits.filter((w) => w.reason.includes('502'))).toHaveLength(2);
    expect(h.waits.some((w) => /cut off/.test(w.reason))).toBe(true);

    // Four 30-day windows of 90 events, 25 a page: 4 pages each. Every page is in the store.
    const keys = await keysUnder(h.store, `raw/shop/dt=2026-05-01/${job.id}/events/`);
    expect(keys).toHaveLength(16);
    expect(job.rawObjects).toEqual([`raw/shop/dt=2026-05-01/${job.id}/`]);
    const [lineage] = await h.rows(`SELECT _source_object, _run_id FROM shop.events WHERE event_id = 'ev_20260101_0'`);
    expect(lineage).toEqual({ _source_object: `raw/shop/dt=2026-05-01/${job.id}/events/page-1.json`, _run_id: job.id });
    expect(await h.state.get('shop')).toMatchObject({ lastCompleteDay: '2026-04-30', jobId: job.id });
  });

  it('re-pulls an overlapping window with restated values: new values, no duplicates', async () => {
    h = await open(fake.token);
    await h.run('shop', { from: '2026-01-01', to: '2026-02-28' });
    fake.restatements.push({ from: '2026-02-10', to: '2026-03-05', factor: 3 });
    const { job } = await h.run('shop', { from: '2026-02-01', to: '2026-03-15' });
    expect(job.status).toBe('SUCCEEDED');
    expect(await table()).toEqual(expected('2026-01-01', '2026-03-15'));
    const [{ n }] = await h.rows(`SELECT count(*) AS n FROM shop.events WHERE day BETWEEN DATE '2026-02-10' AND DATE '2026-03-05'`);
    expect(Number(n)).toBe(24 * fake.perDay);
  });

  it('a scheduled run continues from its state minus the lookback', async () => {
    h = await open(fake.token);
    await h.run('shop', { from: '2026-01-01', to: '2026-04-20' });
    fake.reset();
    const { job } = await h.run('shop');
    expect(job.status).toBe('SUCCEEDED');
    // State 2026-04-20, lookback 2 → 2026-04-19 … yesterday (2026-04-30).
    const windows = fake.requests.filter((r) => !r.query.get('cursor')).map((r) => `${r.query.get('since')}..${r.query.get('until')}`);
    expect(windows).toEqual(['2026-04-19..2026-04-30']);
    expect(await h.state.get('shop')).toMatchObject({ lastCompleteDay: '2026-04-30' });
  });

  it('fails at once on a wrong token, naming the source and the problem; one Slack message; the token nowhere', async () => {
    const wrong = 'wrong-token-3b8e1d55aa';
    h = await open(wrong);
    const { job, error } = await h.run('shop', { from: '2026-01-01', to: '2026-04-30' });
    expect(job.status).toBe('FAILED');
    expect(error?.message).toMatch(/^source "shop", stream events: the credentials were rejected \(HTTP 401: Invalid API token/);
    expect((error as { code?: string }).code).toBe('SOURCE_AUTH');
    expect(fake.requests).toHaveLength(1);
    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0].text).toMatch(/^Source shop failed: source "shop", stream events: the credentials were rejected/);
    const blocks = JSON.stringify(slack.messages[0].blocks);
    expect(blocks).toContain('2026-01-01 … 2026-04-30');
    expect(blocks).toContain(`http://sextant.test:4000/graphql?query=`);
    expect(blocks).toContain(job.id);
    const everything = [JSON.stringify(await h.jobs.get(job.id)), ...h.log.lines, ...slack.raw].join('\n');
    expect(everything).not.toContain(wrong);
    expect(await h.state.get('shop')).toBeUndefined();

    // The token is fixed: the next run succeeds and posts exactly one "recovered" message.
    env.SHOP_API_TOKEN = fake.token;
    const again = await h.run('shop', { from: '2026-01-01', to: '2026-01-31' });
    expect(again.job.status).toBe('SUCCEEDED');
    expect(slack.messages).toHaveLength(2);
    expect(slack.messages[1].text).toMatch(/^Source shop recovered/);
    // A further good run is no news.
    await h.run('shop', { from: '2026-02-01', to: '2026-02-03' });
    expect(slack.messages).toHaveLength(2);
  });
});
