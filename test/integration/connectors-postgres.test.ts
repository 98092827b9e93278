/**
 * `postgres`: a query with :cursor against another database on the test PostgreSQL server, loaded into
 * DuckDB and PostgreSQL warehouses: batches as raw pages, the cursor committed with the last batch,
 * changed and new rows picked up by the next run without duplicates, a wrong password failing at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresWarehouse } from '../../src/warehouse/postgres/postgres-warehouse.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { keysUnder, openHarness, source, target, type Harness } from './connector-harness.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const ORDERS = target(
  'shop_orders',
  `
table: shop.orders
key: [order_id]
columns:
  order_id:   { type: integer, required: true, from: id }
  customer:   { type: string }
  amount:     { type: decimal }
  updated_at: { type: timestamp, required: true }
`,
);

const YAML = `
type: postgres
start_date: 2026-01-01
credentials:
  url: \${SHOP_DATABASE_URL}
settings:
  query: "select id, customer, amount, updated_at from shop.orders where updated_at > :cursor"
  cursor: updated_at
  batch_size: 100
streams:
  rows: shop_orders
`;

describe.each(DIALECTS)('postgres connector into %s', (dialect) => {
  let db: Warehouse & { url?: string };
  let h: Harness;
  beforeEach(async () => {
    db = await freshWarehouse('postgres');
    await db.execute(`CREATE SCHEMA shop; CREATE TABLE shop.orders (id integer PRIMARY KEY, customer text, amount numeric(12,2), updated_at timestamp NOT NULL)`);
    await db.execute(
      `INSERT INTO shop.orders SELECT i, 'c' || (i % 37), i * 1.5, TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 minute' FROM generate_series(1, 1050) AS i`,
    );
  });
  afterEach(async () => {
    await h?.close();
    await db.close();
  });

  const open = (url: string) =>
    openHarness(dialect, {
      targets: [ORDERS],
      sources: [source('shop_db', YAML, new Map([['shop_orders', ORDERS]]))],
      env: { SHOP_DATABASE_URL: url },
      openDatabase: (u) => openPostgresWarehouse(u, { statementTimeoutMs: 30_000, poolSize: 1 }),
    });
  const table = async () => (await h.rows(`SELECT order_id, customer, CAST(amount AS DOUBLE PRECISION) AS amount FROM shop.orders ORDER BY order_id`)).map((r) => ({ ...r, amount: Number(r.amount) }));
  const source_ = async () => (await db.query(`SELECT id AS order_id, customer, CAST(amount AS double precision) AS amount FROM shop.orders ORDER BY id`)).map((r) => ({ ...r, amount: Number(r.amount) }));

  it('pulls every row past the cursor in batches, then only the changed and new ones', async () => {
    h = await open(db.url!);
    const first = await h.run('shop_db');
    expect(first.error).toBeUndefined();
    expect(await table()).toEqual(await source_());
    expect(await keysUnder(h.store, `raw/shop_db/`)).toHaveLength(11);
    expect(await h.state.get('shop_db')).toMatchObject({ cursor: '2026-01-01T17:30:00.000Z' });

    await db.execute(`UPDATE shop.orders SET amount = amount * 10, updated_at = TIMESTAMP '2026-02-01 00:00:00' + id * INTERVAL '1 second' WHERE id % 100 = 0`);
    await db.execute(`INSERT INTO shop.orders VALUES (2000, 'new', 1.25, TIMESTAMP '2026-02-02 00:00:00')`);
    const second = await h.run('shop_db');
    expect(second.job.rowsRead).toBe(11);
    expect(await table()).toEqual(await source_());
    expect(await h.state.get('shop_db')).toMatchObject({ cursor: '2026-02-02T00:00:00.000Z' });
    const third = await h.run('shop_db');
    expect(third.job.rowsRead).toBe(0);
  });

  it('fails at once on a wrong password, naming the source; the password appears nowhere', async () => {
    const url = new URL(db.url!);
    url.password = 'Wrong-Secret-4242';
    url.username = 'nobody_here';
    h = await open(url.toString());
    const { job, error } = await h.run('shop_db');
    expect(job.status).toBe('FAILED');
    expect((error as { code?: string }).code).toBe('SOURCE_AUTH');
    expect(error?.message).toMatch(/^source "shop_db", stream rows: the database refused the credentials/);
    expect([JSON.stringify(await h.jobs.get(job.id)), ...h.log.lines].join('\n')).not.toContain('Wrong-Secret-4242');
  });
});
