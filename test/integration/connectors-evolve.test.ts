/**
 * `evolve` on a source's records, as on a file's (docs/targets.md), on DuckDB and PostgreSQL. The REST
 * fake gains two fields mid-way through a backfill (`coupon`, text, and `tags`, a list), inside one
 * window and across windows. A target with `evolve: true` gains nullable columns for every field it did
 * not know (snake_case, `json` for the list), rows from before the fields appeared read NULL there, and
 * a later run reuses the columns. A target without `evolve` loads what its columns read and nothing
 * else: the run names the fields it left out, and the table gains no column.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsSourceYaml, startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, target, type Harness } from './connector-harness.js';

const evolving = target(
  'shop_events',
  `
table: shop.events
key: [event_id]
evolve: true
columns:
  event_id: { type: string, required: true, from: id }
  day:      { type: date, required: true }
  amount:   { type: integer }
`,
);
const strict = target(
  'shop_events',
  `
table: shop.events
key: [event_id]
columns:
  event_id: { type: string, required: true, from: id }
  day:      { type: date, required: true }
  amount:   { type: integer }
  region:   { type: string, from: details_region }
`,
);

const sourceYaml = (baseUrl: string) => eventsSourceYaml(baseUrl);

describe.each(DIALECTS)('evolve on source records (%s)', (dialect) => {
  let fake: RestFake;
  let h: Harness;
  beforeEach(async () => {
    // Fields appear on 2026-01-20: in the middle of the first 30-day window, and in every later one.
    fake = await startRestFake({ newFieldsFrom: '2026-01-20' });
  });
  afterEach(async () => {
    await h?.close();
    await fake.close();
  });

  const columnsOf = async () => Object.fromEntries(((await h.warehouse.describeTable('shop.events')) ?? []).map((c) => [c.name, c.type]));

  it('with evolve: true, new fields become nullable columns, filled from the day they appear, reused by the next run', async () => {
    h = await openHarness(dialect, { targets: [evolving] });
    const { result } = await h.pull('shop', sourceYaml(fake.baseUrl), { from: '2026-01-01', to: '2026-02-28' }, { SHOP_API_TOKEN: fake.token });
    expect(result.addedColumns).toEqual({ events: ['channel', 'details_region', 'details_campaign', 'coupon', 'tags'] });
    expect(await columnsOf()).toMatchObject({ channel: 'string', details_region: 'string', details_campaign: 'string', coupon: 'string', tags: 'json' });

    const rows = await h.rows(`SELECT event_id, channel, details_region, details_campaign, coupon, CAST(tags AS VARCHAR) AS tags FROM shop.events ORDER BY event_id`);
    const events = fake.events('2026-01-01', '2026-02-28').sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(rows).toHaveLength(events.length);
    expect(
      rows.map((r) => ({ ...r, tags: r.tags === null ? null : JSON.parse(String(r.tags)) })),
    ).toEqual(
      events.map((e) => ({ event_id: e.id, channel: e.channel, details_region: e.details.region, details_campaign: e.details.campaign, coupon: e.coupon ?? null, tags: e.tags ?? null })),
    );
    expect(rows.filter((r) => r.coupon === null)).toHaveLength(19 * fake.perDay);

    // The columns exist now: a second run adds none and fills them.
    const again = await h.pull('shop', sourceYaml(fake.baseUrl), { from: '2026-03-01', to: '2026-03-05' }, { SHOP_API_TOKEN: fake.token });
    expect(again.result.addedColumns).toEqual({ events: [] });
    const [{ n }] = await h.rows(`SELECT count(*) AS n FROM shop.events WHERE day >= DATE '2026-03-01' AND coupon IS NOT NULL AND tags IS NOT NULL`);
    expect(Number(n)).toBe(5 * fake.perDay);
  });

  it('without evolve, fields no column reads are not loaded: the run names them and the table gains no column', async () => {
    h = await openHarness(dialect, { targets: [strict] });
    const { result } = await h.pull('shop', sourceYaml(fake.baseUrl), { from: '2026-01-01', to: '2026-02-28' }, { SHOP_API_TOKEN: fake.token });
    expect(result.rowsLoaded).toBe(59 * fake.perDay);
    expect(result.fieldsLeftOut).toEqual({ events: ['channel', 'coupon', 'details_campaign', 'tags'] });
    expect(result.addedColumns).toBeUndefined();
    expect(Object.keys(await columnsOf()).sort()).toEqual(['_loaded_at', '_run_id', '_source_object', 'amount', 'day', 'event_id', 'region']);
    const line = h.log.lines.find((l) => l.includes('were not loaded'));
    expect(JSON.parse(line!)).toMatchObject({ source: 'shop', stream: 'events', target: 'shop_events', fields: ['channel', 'coupon', 'details_campaign', 'tags'] });
  });
});
