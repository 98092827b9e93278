/**
 * A stream that supplies only some of its target's columns must leave the others alone when it re-pulls
 * a row: the merge sets the columns whose fields the record has, not NULL over what another writer put
 * there (an analyst's column, a field the API only sends on newer days). On DuckDB and PostgreSQL, with
 * the REST fake: `reviewed_by` no record ever carries; `coupon` only events from 2026-01-20 on carry, so
 * one window holds records of both shapes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsSourceYaml, startRestFake, type RestFake } from '../fakes/rest/rest-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, target, type Harness } from './connector-harness.js';

const events = target(
  'shop_events',
  `
table: shop.events
key: [event_id]
columns:
  event_id:    { type: string, required: true, from: id }
  day:         { type: date, required: true }
  amount:      { type: integer }
  coupon:      { type: string }
  reviewed_by: { type: string }
`,
);

describe.each(DIALECTS)('a stream supplying some columns (%s)', (dialect) => {
  let fake: RestFake;
  let h: Harness;
  beforeEach(async () => {
    fake = await startRestFake({ newFieldsFrom: '2026-01-20' });
    h = await openHarness(dialect, { targets: [events] });
  });
  afterEach(async () => {
    await h?.close();
    await fake.close();
  });

  it('re-pulling sets the supplied columns and keeps the others, row by row', async () => {
    const window = { from: '2026-01-10', to: '2026-01-29' };
    const env = { SHOP_API_TOKEN: fake.token };
    await h.pull('shop', eventsSourceYaml(fake.baseUrl), window, env);
    // Another writer fills what the API does not send (an analyst's review; a coupon on older days).
    await h.warehouse.execute(`UPDATE shop.events SET reviewed_by = 'ana'`);
    await h.warehouse.execute(`UPDATE shop.events SET coupon = 'MANUAL' WHERE day < DATE '2026-01-20'`);
    fake.restatements.push({ from: '2026-01-01', to: '2026-12-31', factor: 2 });

    await h.pull('shop', eventsSourceYaml(fake.baseUrl), window, env);

    const rows = await h.rows(`SELECT event_id, amount, coupon, reviewed_by FROM shop.events ORDER BY event_id`);
    const served = fake.events(window.from, window.to).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(rows).toEqual(
      served.map((e) => ({ event_id: e.id, amount: e.amount, coupon: e.day < '2026-01-20' ? 'MANUAL' : e.coupon, reviewed_by: 'ana' })),
    );
  });
});
