/** PostgreSQL-specific behaviour beyond the conformance suite: pool-local type parsers, COPY errors, dropped connections. */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { openPostgresWarehouse } from '../../src/warehouse/postgres/postgres-warehouse.js';
import { timestampToIso } from '../../src/warehouse/pg-wire/type-parsers.js';
import type { TableSpec, Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse } from '../support/warehouses.js';

const SPEC: TableSpec = {
  table: 'web.sessions',
  key: ['day', 'page'],
  columns: [
    { name: 'day', type: 'date', required: true },
    { name: 'page', type: 'string', required: true },
    { name: 'sessions', type: 'integer' },
  ],
};

describe('postgres adapter', () => {
  const open: Warehouse[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((wh) => wh.close()));
  });

  it('leaves pg’s global type parsers alone', async () => {
    const wh = await freshWarehouse('postgres');
    open.push(wh);
    expect(await wh.query('SELECT 5::int8 AS n, 1.5::numeric AS d')).toEqual([{ n: 5, d: 1.5 }]);
    const client = new pg.Client({ connectionString: (wh as Warehouse & { url: string }).url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 5::int8 AS n, 1.5::numeric AS d');
      expect(rows).toEqual([{ n: '5', d: '1.5' }]);
    } finally {
      await client.end();
    }
  });

  it('reads timestamps in UTC whatever the database time zone', async () => {
    const wh = (await freshWarehouse('postgres')) as Warehouse & { url: string };
    open.push(wh);
    const database = new URL(wh.url).pathname.slice(1);
    await wh.execute(`ALTER DATABASE ${database} SET timezone = 'America/New_York'`);
    // New sessions of that database default to New York time (checked with a raw client) …
    const raw = new pg.Client({ connectionString: wh.url });
    await raw.connect();
    try {
      expect((await raw.query('SHOW timezone')).rows[0].TimeZone).toBe('America/New_York');
    } finally {
      await raw.end();
    }
    // … but the adapter's sessions run in UTC, so truncation and text are UTC.
    const later = await openPostgresWarehouse(wh.url, { statementTimeoutMs: 5_000, poolSize: 1 });
    try {
      const [row] = await later.query(
        `SELECT '2026-07-01 12:00:00+00'::timestamptz AS tz, '2026-07-01 12:00:00'::timestamp AS ts,
                date_trunc('day', '2026-07-01 02:00:00+00'::timestamptz) AS day, current_setting('TimeZone') AS zone`,
      );
      expect(row).toEqual({ tz: '2026-07-01T12:00:00.000Z', ts: '2026-07-01T12:00:00.000Z', day: '2026-07-01T00:00:00.000Z', zone: 'UTC' });
    } finally {
      await later.close();
    }
  });

  it('parses timestamp text with offsets, fractions, and leaves BC and infinity as text', () => {
    expect(timestampToIso('2026-01-01 05:30:00+05:30')).toBe('2026-01-01T00:00:00.000Z');
    expect(timestampToIso('2026-01-01 00:00:00-08')).toBe('2026-01-01T08:00:00.000Z');
    expect(timestampToIso('2026-01-01 00:00:00.123456')).toBe('2026-01-01T00:00:00.123Z');
    expect(timestampToIso('0044-03-15 00:00:00')).toBe('0044-03-15T00:00:00.000Z');
    expect(timestampToIso('1853-06-01 00:00:00+00:53:28')).toBe('1853-05-31T23:06:32.000Z');
    expect(timestampToIso('0044-03-15 00:00:00 BC')).toBe('0044-03-15 00:00:00 BC');
    expect(timestampToIso('infinity')).toBe('infinity');
  });

  it('names the row and column of a bad value in a merge batch', async () => {
    const wh = await freshWarehouse('postgres');
    open.push(wh);
    await wh.ensureTable(SPEC);
    const rows = [
      ['2026-01-01', '/a', 1],
      ['2026-01-01', '/b', 2],
      ['2026-02-30', '/c', 3],
    ];
    const err = await wh.merge({ spec: SPEC, columns: ['day', 'page', 'sessions'], rows }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('ROW_INVALID');
    expect((err as UserError).problems[0]).toMatchObject({ line: 3, column: 'day' });
    expect(await wh.query('SELECT count(*) AS n FROM web.sessions')).toEqual([{ n: 0 }]);
  });

  it('survives the server killing a connection it has leased, mid-stream', async () => {
    const wh = (await freshWarehouse('postgres', { poolSize: 2 })) as Warehouse & { url: string };
    open.push(wh);
    const killer = new pg.Client({ connectionString: wh.url });
    await killer.connect();
    let batches = 0;
    const err = await (async () => {
      for await (const batch of wh.stream('SELECT g.i FROM generate_series(1, 100000) AS g(i)', [], { batchSize: 1000 })) {
        expect(batch).toHaveLength(1000);
        batches++;
        // While this consumer holds a batch, the server ends the session that owns the cursor.
        if (batches === 1) await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    await killer.end();
    expect(err).toBeInstanceOf(Error);
    expect(batches).toBe(1);
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('survives the server dropping its idle connections', async () => {
    const wh = await freshWarehouse('postgres', { poolSize: 3 });
    open.push(wh);
    await Promise.all([wh.query('SELECT 1'), wh.query('SELECT 2'), wh.query('SELECT 3')]);
    const killer = new pg.Client({ connectionString: (wh as Warehouse & { url: string }).url });
    await killer.connect();
    try {
      const { rows } = await killer.query(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      expect(Number(rows[0].n)).toBeGreaterThan(0);
    } finally {
      await killer.end();
    }
    // A connection killed while idle may fail the first statement that picks it up before pg notices;
    // the pool discards it and the next attempts succeed.
    let ok = 0;
    for (let i = 0; i < 6 && ok < 3; i++) {
      try {
        await wh.query('SELECT 1 AS one');
        ok++;
      } catch {
        /* a dead pooled connection, discarded */
      }
    }
    expect(ok).toBe(3);
  });
});
