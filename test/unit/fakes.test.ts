/**
 * The fake-server helper (faults at the Nth data request, cut-off bodies, the HTTP control endpoint)
 * and the four fakes of this folder: real paths, auth errors in each API's shape, paging that adds up
 * to the demo's rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrimsonHexagonFake, type CrimsonHexagonFake } from '../fakes/crimson-hexagon/crimson-hexagon-fake.js';
import { json, startFakeServer, type FakeServer } from '../fakes/fake-server.js';
import { startGa4Fake, type Ga4Fake } from '../fakes/ga4/ga4-fake.js';
import { startMailchimpFake, type MailchimpFake } from '../fakes/mailchimp/mailchimp-fake.js';
import { startUnmetricFake, UNMETRIC_BRANDS, type UnmetricFake } from '../fakes/unmetric/unmetric-fake.js';

describe('fake-server', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer({
      name: 'toy',
      routes: [
        { method: 'GET', path: /^\/items\/(\d+)$/, data: true, handle: (_req, [n]) => json(200, { item: Number(n), padding: 'x'.repeat(2000) }) },
        { method: 'GET', path: /^\/meta$/, handle: () => json(200, { ok: true }) },
      ],
      throttled: (_req, s) => json(429, { slow: 'down' }, { 'retry-after': String(s) }),
      serverError: () => json(503, { oops: true }),
      unauthorized: () => json(401, { who: 'are you' }),
    });
  });
  afterAll(() => fake.close());

  const get = (path: string) => fetch(`${fake.url}${path}`);

  it('fires a fault at the Nth data request, the given number of times, counting only matching data requests', async () => {
    fake.reset();
    fake.inject({ kind: 'throttle', at: 2, times: 2, retryAfterSeconds: 7 });
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i++) {
      statuses.push((await get(`/items/${i}`)).status);
      expect((await get('/meta')).status).toBe(200); // not a data request: never counted, never faulted
    }
    expect(statuses).toEqual([200, 429, 429, 200]);
    expect(fake.requests.filter((r) => r.fault === 'throttle').map((r) => r.path)).toEqual(['/items/2', '/items/3']);

    fake.inject({ kind: 'server_error', at: 1, match: '/items/9' });
    expect((await get('/items/8')).status).toBe(200);
    expect((await get('/items/9')).status).toBe(503);
    expect((await get('/items/9')).status).toBe(200);
  });

  it('cuts a body short: the client sees the connection drop before Content-Length bytes', async () => {
    fake.reset();
    fake.inject({ kind: 'truncate' });
    const res = await get('/items/1');
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(await (await get('/items/1')).json()).toMatchObject({ item: 1 });
  });

  it('takes faults over HTTP and refuses malformed ones', async () => {
    fake.reset();
    expect((await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ kind: 'bad_credentials' }) })).status).toBe(204);
    expect((await get('/items/1')).status).toBe(401);
    const bad = await fetch(`${fake.url}/__fake/faults`, { method: 'POST', body: JSON.stringify({ kind: 'flood', at: 0 }) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('fault kind must be one of throttle, server_error, truncate, bad_credentials');
    const log = (await (await fetch(`${fake.url}/__fake/requests`)).json()) as Array<{ path: string; status: number }>;
    expect(log).toEqual([{ method: 'GET', path: '/items/1', query: '', body: '', status: 401, fault: 'bad_credentials' }]);
  });
});

describe('GA4 fake', () => {
  let ga4: Ga4Fake;
  beforeAll(async () => {
    ga4 = await startGa4Fake({ properties: ['312456780'] });
  });
  afterAll(() => ga4.close());

  const runReport = (property: string, body: unknown, token = ga4.token) =>
    fetch(`${ga4.baseUrl}/properties/${property}:runReport`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const traffic = { dimensions: ['date', 'sessionSource', 'sessionMedium', 'deviceCategory', 'country'].map((name) => ({ name })), metrics: [{ name: 'sessions' }, { name: 'advertiserAdCost' }] };

  it('pages with offset/limit against rowCount, and the pages hold exactly the demo rows', async () => {
    const range = { dateRanges: [{ startDate: '2026-09-01', endDate: '2026-10-15' }] };
    const expected = ga4.expectedRows('web.ga4_daily', ['312456780'], '2026-09-01', '2026-10-15');
    const seen: string[] = [];
    let rowCount = -1;
    for (let offset = 0; rowCount < 0 || offset < rowCount; offset += 40) {
      const body = (await (await runReport('312456780', { ...range, ...traffic, offset: String(offset), limit: '40' })).json()) as {
        rows: Array<{ dimensionValues: Array<{ value: string }>; metricValues: Array<{ value: string }> }>;
        rowCount: number;
      };
      rowCount = body.rowCount;
      expect(body.rows.length).toBeLessThanOrEqual(40);
      for (const r of body.rows) seen.push([...r.dimensionValues.map((v) => v.value), ...r.metricValues.map((v) => v.value)].join('|'));
    }
    expect(rowCount).toBe(expected.length);
    expect(seen.sort()).toEqual(
      expected
        .map((r) => [String(r.metric_date).replace(/-/g, ''), r.session_source, r.session_medium, r.device_category, r.country, r.sessions, String(Number(r.ad_cost))].join('|'))
        .sort(),
    );
  });

  it('answers bad tokens, unreadable properties and bad fields in Google’s error envelope', async () => {
    const range = { dateRanges: [{ startDate: '2026-09-01', endDate: '2026-09-02' }] };
    const wrong = await runReport('312456780', { ...range, ...traffic }, 'nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    const other = await runReport('312457897', { ...range, ...traffic });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    const field = await runReport('312456780', { ...range, dimensions: [{ name: 'date' }], metrics: [{ name: 'sessionz' }] });
    expect(await field.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('Field sessionz is not a valid metric') } });
    const empty = (await (await runReport('312456780', { dateRanges: [{ startDate: '2030-01-01', endDate: '2030-01-02' }], ...traffic })).json()) as Record<string, unknown>;
    expect(empty.rows).toBeUndefined();
    expect(empty.rowCount).toBeUndefined();
  });

  it('throttles with RESOURCE_EXHAUSTED and restates values on request', async () => {
    ga4.inject({ kind: 'throttle' });
    const res = await runReport('312456780', { dateRanges: [{ startDate: '2026-09-01', endDate: '2026-09-01' }], dimensions: [{ name: 'date' }], metrics: [{ name: 'sessions' }] });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: 429, message: 'Exhausted concurrent requests quota.', status: 'RESOURCE_EXHAUSTED' } });
    const before = ga4.expectedRows('web.ga4_daily', ['312456780'], '2026-09-01', '2026-09-01');
    ga4.restate({ from: '2026-09-01', to: '2026-09-01', factor: 2 });
    const after = ga4.expectedRows('web.ga4_daily', ['312456780'], '2026-09-01', '2026-09-01');
    expect(after.map((r) => r.sessions)).toEqual(before.map((r) => Math.round((r.sessions as number) * 2)));
  });
});

describe('Mailchimp fake', () => {
  let mc: MailchimpFake;
  beforeAll(async () => {
    mc = await startMailchimpFake();
  });
  afterAll(() => mc.close());
  const get = (path: string, key = mc.apiKey) => fetch(`${mc.baseUrl}${path}`, { headers: { authorization: `Basic ${Buffer.from(`anystring:${key}`).toString('base64')}` } });

  it('pages reports with count/offset and total_items, filtered by send time', async () => {
    const since = encodeURIComponent('2026-08-01T00:00:00+00:00');
    const before = encodeURIComponent('2026-10-01T00:00:00+00:00');
    const ids: string[] = [];
    let total = -1;
    for (let offset = 0; total < 0 || offset < total; offset += 7) {
      const body = (await (await get(`/reports?count=7&offset=${offset}&since_send_time=${since}&before_send_time=${before}&exclude_fields=reports.timeseries`)).json()) as { reports: Array<{ id: string; timeseries?: unknown }>; total_items: number };
      total = body.total_items;
      for (const r of body.reports) {
        expect(r.timeseries).toBeUndefined();
        ids.push(r.id);
      }
    }
    const expected = [...new Set(mc.expectedCampaignRows('2026-08-01', '2026-09-30').map((r) => r.campaign_id))];
    expect(ids.sort()).toEqual(expected.sort());
    expect(ids.length).toBeGreaterThan(10);
  });

  it('refuses a key of another data centre and a missing key with problem JSON', async () => {
    const wrong = await get('/lists', 'abc-us3');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(await wrong.json()).toMatchObject({ title: 'API Key Invalid', status: 401, detail: expect.stringContaining('wrong datacenter') });
    const none = await fetch(`${mc.baseUrl}/lists`);
    expect(await none.json()).toMatchObject({ title: 'API Key Missing', status: 401 });
    mc.inject({ kind: 'server_error' });
    const down = await get('/lists');
    expect(down.status).toBe(503);
    expect(await down.text()).toContain('<title>503 Service Unavailable</title>');
  });

  it('list activity walks back to the demo’s member counts', async () => {
    const body = (await (await get('/lists/ab6c0d6df6/activity?count=1000')).json()) as { activity: Array<{ day: string; subs: number; unsubs: number; other_removes: number }>; total_items: number };
    expect(body.total_items).toBe(180);
    expect(body.activity[0].day).toBe('2026-11-30');
    const expected = mc.expectedListRows(['ab6c0d6df6'], '2026-06-04', '2026-11-30');
    expect(expected).toHaveLength(180);
    // member_count reconstructed from today's count equals what the demo generated.
    const list = (await (await get('/lists/ab6c0d6df6')).json()) as { stats: { member_count: number } };
    expect(expected[expected.length - 1].member_count).toBe(list.stats.member_count);
  });
});

describe('Crimson Hexagon fake', () => {
  let ch: CrimsonHexagonFake;
  beforeAll(async () => {
    ch = await startCrimsonHexagonFake();
  });
  afterAll(() => ch.close());

  it('hands out a token, then answers results per source that add up to the demo rows', async () => {
    const login = (await (await fetch(`${ch.baseUrl}/authenticate?username=${encodeURIComponent(ch.username)}&password=${ch.password}`)).json()) as { auth: string };
    const res = (await (await fetch(`${ch.baseUrl}/monitor/results?auth=${login.auth}&id=9846117000&start=2026-10-01&end=2026-10-08&filter=source:news`)).json()) as {
      status: string;
      results: Array<{ startDate: string; categories: Array<{ category: string; volume: number; impressions: number }> }>;
    };
    expect(res.status).toBe('success');
    expect(res.results).toHaveLength(7);
    const got = res.results.flatMap((r) => r.categories.filter((c) => c.volume > 0).map((c) => `${r.startDate.slice(0, 10)}|${c.category}|${c.volume}|${c.impressions}`));
    const expected = ch.expectedRows(['9846117000'], '2026-10-01', '2026-10-07').filter((r) => r.source === 'news').map((r) => `${r.metric_date}|${r.topic} / ${r.sentiment}|${r.mentions}|${r.potential_reach}`);
    expect(got.sort()).toEqual(expected.sort());
  });

  it('answers a missing token with 401 and an incomplete range with status error', async () => {
    const res = await fetch(`${ch.baseUrl}/monitor/results?auth=stolen&id=9846117000&start=2026-10-01&end=2026-10-08`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 'error' });
    const login = (await (await fetch(`${ch.baseUrl}/authenticate?username=${encodeURIComponent(ch.username)}&password=${ch.password}`)).json()) as { auth: string };
    const late = await fetch(`${ch.baseUrl}/monitor/volume?auth=${login.auth}&id=9846117000&start=2026-11-20&end=2026-12-20`);
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ status: 'error', message: expect.stringContaining('complete results') });
  });
});

describe('Unmetric fake', () => {
  let um: UnmetricFake;
  beforeAll(async () => {
    um = await startUnmetricFake();
  });
  afterAll(() => um.close());

  it('pages an attribute series and refuses a bad key and brands outside the subscription', async () => {
    const headers = { authorization: `Bearer ${um.apiKey}` };
    const ids = UNMETRIC_BRANDS.slice(0, 3).map((b) => b.brandId);
    const values: string[] = [];
    let pages = 1;
    for (let page = 1; page <= pages; page++) {
      const body = (await (await fetch(`${um.baseUrl}/ig/engagement?brand_ids=${ids.join(',')}&start_date=2026-09-01&end_date=2026-10-30&page=${page}&per_page=50`, { headers })).json()) as {
        data: Array<{ brand_name: string; date: string; value: number }>;
        meta: { total_pages: number };
      };
      pages = body.meta.total_pages;
      values.push(...body.data.map((d) => `${d.brand_name}|${d.date}|${d.value}`));
    }
    const expected = um.expectedRows(ids, '2026-09-01', '2026-10-30').filter((r) => r.platform === 'instagram').map((r) => `${r.brand}|${r.metric_date}|${r.engagements}`);
    expect(values.sort()).toEqual(expected.sort());
    expect(pages).toBe(4);
    expect((await fetch(`${um.baseUrl}/ig/engagement?brand_ids=5001&start_date=2026-09-01&end_date=2026-09-02`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const outside = await fetch(`${um.baseUrl}/ig/engagement?brand_ids=9999&start_date=2026-09-01&end_date=2026-09-02`, { headers });
    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({ error: { code: 'brand_not_in_subscription' } });
  });
});
