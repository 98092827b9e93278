/**
 * The conformance suite every warehouse adapter passes, run against real DuckDB and a real PostgreSQL
 * server, each test in a fresh database. Expected numbers are computed independently in JavaScript.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { ColumnTypeName, Row, SqlRunner, SqlValue, TableSpec, Warehouse, WarehouseOptions } from '../../src/warehouse/port.js';
import { WAREHOUSE_DIALECTS, freshWarehouse, type TestDialect } from '../support/warehouses.js';

type TestWarehouse = Warehouse & { url?: string };

/** Every column type, with a value and how it must read back. */
const TYPED: Array<{ name: string; type: ColumnTypeName; value: SqlValue; back: SqlValue }> = [
  { name: 's', type: 'string', value: 'héllo, "world"', back: 'héllo, "world"' },
  { name: 'i', type: 'integer', value: -2147483647, back: -2147483647 },
  { name: 'b', type: 'bigint', value: 9007199254740991, back: 9007199254740991 },
  { name: 'dec', type: 'decimal', value: 12345.6789, back: 12345.6789 },
  { name: 'dbl', type: 'double', value: 0.1 + 0.2, back: 0.1 + 0.2 },
  { name: 'bool', type: 'boolean', value: true, back: true },
  { name: 'd', type: 'date', value: '2026-02-28', back: '2026-02-28' },
  { name: 'ts', type: 'timestamp', value: '2026-03-01T23:59:58.123Z', back: '2026-03-01T23:59:58.123Z' },
  { name: 'j', type: 'json', value: '{"a":[1,2],"b":"x"}', back: '{"a":[1,2],"b":"x"}' },
];

const TYPED_SPEC: TableSpec = {
  table: 'conf.typed',
  key: ['id'],
  columns: [{ name: 'id', type: 'integer', required: true }, ...TYPED.map((t) => ({ name: t.name, type: t.type }))],
};

const POSTS: TableSpec = {
  table: 'social.post_daily',
  key: ['platform', 'post_id', 'metric_date'],
  columns: [
    { name: 'platform', type: 'string', required: true },
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'impressions', type: 'integer' },
    { name: 'note', type: 'string' },
  ],
};
const POST_COLUMNS = ['platform', 'post_id', 'metric_date', 'impressions', 'note'];

/**
 * The type describeTable reports for a declared type: Redshift keeps JSON as its text in a VARCHAR
 * (src/warehouse/redshift/dialect.ts), so a json column reads back as a string column there.
 */
function describedAs(type: ColumnTypeName, dialect: TestDialect): ColumnTypeName {
  return dialect === 'redshift' && type === 'json' ? 'string' : type;
}

/** Normalises a json column's text (PostgreSQL jsonb re-prints it) for comparison. */
function normaliseJson(row: Row): Row {
  return { ...row, j: typeof row.j === 'string' ? JSON.stringify(JSON.parse(row.j)) : row.j };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** Counts setInterval ticks while `fn` runs: a blocked event loop does not tick. */
async function ticksDuring<T>(fn: () => Promise<T>): Promise<{ result: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const result = await fn();
    return { result, ticks };
  } finally {
    clearInterval(timer);
  }
}

async function* generatedPosts(count: number, value: (i: number) => number): AsyncGenerator<SqlValue[]> {
  for (let i = 0; i < count; i++) {
    yield ['facebook', `p${i}`, `2026-01-${String((i % 28) + 1).padStart(2, '0')}`, value(i), i % 7 === 0 ? null : `n${i}`];
  }
}

describe.each(WAREHOUSE_DIALECTS)('warehouse conformance: %s', (dialect: TestDialect) => {
  const open: TestWarehouse[] = [];
  async function fresh(options?: Partial<WarehouseOptions>): Promise<TestWarehouse> {
    const wh = await freshWarehouse(dialect, options);
    open.push(wh);
    return wh;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((wh) => wh.close()));
  });

  it('answers ping and a plain query', async () => {
    const wh = await fresh();
    await wh.ping();
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(wh.dialect.name).toBe(dialect);
  });

  it('binds parameters of every type', async () => {
    const wh = await fresh();
    const p = wh.dialect.param;
    const rows = await wh.query(
      `SELECT ${p(1, 'string')} AS s, ${p(2, 'number')} AS n, ${p(3, 'number')} AS f, ${p(4, 'boolean')} AS b,
              ${p(5, 'date')} AS d, ${p(6, 'timestamp')} AS ts, ${p(7, 'timestamp')} AS ts_date, ${p(8, 'string')} AS nul,
              ${p(9, 'string')} AS quote`,
      ["it's", 42, 2.5, false, '2026-01-31', '2026-01-31T12:34:56.789Z', new Date(Date.UTC(2026, 0, 1, 6)), null, `'; drop table x; --`],
    );
    expect(rows).toEqual([
      { s: "it's", n: 42, f: 2.5, b: false, d: '2026-01-31', ts: '2026-01-31T12:34:56.789Z', ts_date: '2026-01-01T06:00:00.000Z', nul: null, quote: `'; drop table x; --` },
    ]);
    // Untyped parameters compare against typed columns.
    await wh.ensureTable(POSTS);
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['x', 'a', '2026-01-02', 10, null]] });
    const found = await wh.query(`SELECT post_id FROM social.post_daily WHERE platform = $1 AND impressions > $2 AND metric_date = ${p(3, 'date')}`, ['x', 5, '2026-01-02']);
    expect(found).toEqual([{ post_id: 'a' }]);
  });

  it('normalises values of every type', async () => {
    const wh = await fresh();
    await wh.ensureTable(TYPED_SPEC);
    const names = ['id', ...TYPED.map((t) => t.name)];
    await wh.merge({ spec: TYPED_SPEC, columns: names, rows: [[1, ...TYPED.map((t) => t.value)], [2, ...TYPED.map(() => null)]] });
    const rows = await wh.query(`SELECT ${names.map((n) => wh.dialect.quoteIdent(n)).join(', ')} FROM conf.typed ORDER BY id`);
    expect(normaliseJson(rows[0])).toEqual({ id: 1, ...Object.fromEntries(TYPED.map((t) => [t.name, t.back])) });
    expect(rows[1]).toEqual({ id: 2, ...Object.fromEntries(TYPED.map((t) => [t.name, null])) });
    for (const t of TYPED) expect(typeof rows[0][t.name], t.name).toBe(typeof t.back);

    // Aggregates and expressions: counts, sums of bigints, averages and decimals are numbers too.
    const [agg] = await wh.query(
      `SELECT count(*) AS n, sum(b) AS sum_b, avg(i) AS avg_i, sum(dec) AS sum_dec, max(d) AS max_d, max(ts) AS max_ts,
              max(${wh.dialect.truncTime('month', 'd')}) AS month, max(${wh.dialect.truncTime('hour', 'ts')}) AS hour
         FROM conf.typed WHERE id = 1`,
    );
    expect(agg).toEqual({
      n: 1,
      sum_b: 9007199254740991,
      avg_i: -2147483647,
      sum_dec: 12345.6789,
      max_d: '2026-02-28',
      max_ts: '2026-03-01T23:59:58.123Z',
      month: '2026-02-01',
      hour: '2026-03-01T23:00:00.000Z',
    });
    // A timestamp with a time zone reads back as the same instant in UTC.
    const [tz] = await wh.query(`SELECT CAST('2026-06-01 12:00:00+02:00' AS TIMESTAMP WITH TIME ZONE) AS at`);
    expect(tz.at).toBe('2026-06-01T10:00:00.000Z');
  });

  it('keeps whole numbers past 2^53 exact, as bigints; smaller ones stay numbers', async () => {
    const wh = await fresh();
    const [row] = await wh.query(
      `SELECT CAST('9007199254740993' AS BIGINT) AS big, CAST('-9007199254740993' AS BIGINT) AS neg, CAST('9007199254740991' AS BIGINT) AS edge,
              CAST(42 AS BIGINT) AS small, CAST('123456789012345678901' AS DECIMAL(38, 0)) AS wide,
              CAST('123456789012345678901.00' AS DECIMAL(38, 2)) AS wide_scaled, CAST('2.5' AS DECIMAL(10, 2)) AS frac, CAST('-7.00' AS DECIMAL(10, 2)) AS whole`,
    );
    expect(row).toEqual({
      big: 9007199254740993n,
      neg: -9007199254740993n,
      edge: 9007199254740991,
      small: 42,
      wide: 123456789012345678901n,
      wide_scaled: 123456789012345678901n,
      frac: 2.5,
      whole: -7,
    });
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const wh = await fresh();
    await wh.execute('CREATE TABLE t (id integer PRIMARY KEY, v text)');
    const inside = await wh.transaction(async (tx) => {
      await tx.execute('INSERT INTO t VALUES ($1, $2)', [1, 'one']);
      return tx.query('SELECT count(*) AS n FROM t');
    });
    expect(inside).toEqual([{ n: 1 }]);
    const err = await rejection(
      wh.transaction(async (tx) => {
        await tx.execute('INSERT INTO t VALUES ($1, $2)', [2, 'two']);
        expect(await tx.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 2 }]);
        throw new Error('boom');
      }),
    );
    expect((err as Error).message).toBe('boom');
    // A failing statement inside also rolls back what came before it.
    await rejection(
      wh.transaction(async (tx) => {
        await tx.execute('INSERT INTO t VALUES ($1, $2)', [3, 'three']);
        await tx.execute('INSERT INTO t VALUES ($1, $2)', [1, 'duplicate key']);
      }),
    );
    expect(await wh.query('SELECT id, v FROM t ORDER BY id')).toEqual([{ id: 1, v: 'one' }]);
  });

  it('runs multi-statement scripts with execute', async () => {
    const wh = await fresh();
    await wh.execute('CREATE SCHEMA ops; CREATE TABLE ops.a (x integer); INSERT INTO ops.a VALUES (1), (2);');
    expect(await wh.query('SELECT sum(x) AS s FROM ops.a')).toEqual([{ s: 3 }]);
    // A statement without a result set answers no rows, in every dialect.
    expect(await wh.query('INSERT INTO ops.a VALUES ($1)', [5])).toEqual([]);
    expect(await wh.query('SELECT sum(x) AS s FROM ops.a')).toEqual([{ s: 8 }]);
  });

  it('creates a table, then evolves it by adding nullable columns and keeps its data', async () => {
    const wh = await fresh();
    expect(await wh.describeTable('social.post_daily')).toBeUndefined();
    await wh.ensureTable(POSTS);
    await wh.ensureTable(POSTS); // idempotent
    expect(await wh.describeTable('social.post_daily')).toEqual(POSTS.columns.map((c) => ({ name: c.name, type: c.type, required: c.required === true })));
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['x', 'a', '2026-01-02', 10, 'keep me']] });

    const evolved: TableSpec = { ...POSTS, columns: [...POSTS.columns, { name: 'shares', type: 'bigint', required: true }, { name: 'meta', type: 'json' }] };
    await wh.ensureTable(evolved);
    const described = await wh.describeTable('social.post_daily');
    expect(described?.slice(-2)).toEqual([
      { name: 'shares', type: 'bigint', required: false },
      { name: 'meta', type: describedAs('json', dialect), required: false },
    ]);
    expect(await wh.query('SELECT post_id, impressions, note, shares, meta FROM social.post_daily')).toEqual([
      { post_id: 'a', impressions: 10, note: 'keep me', shares: null, meta: null },
    ]);
  });

  it('describes every column type as it was declared', async () => {
    const wh = await fresh();
    await wh.ensureTable(TYPED_SPEC);
    expect(await wh.describeTable('conf.typed')).toEqual(TYPED_SPEC.columns.map((c) => ({ name: c.name, type: describedAs(c.type, dialect), required: c.required === true })));
    expect(await wh.describeTable('conf.missing')).toBeUndefined();
  });

  it('rejects table specs whose key is not among the columns', async () => {
    const wh = await fresh();
    const err = await rejection(wh.ensureTable({ ...POSTS, key: ['nope'] }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('TARGET_INVALID');
  });

  it('merges: inserts, updates on the same key, last in-batch duplicate wins, counts', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const first = await wh.merge({
      spec: POSTS,
      columns: POST_COLUMNS,
      rows: [
        ['fb', 'a', '2026-01-01', 1, 'first'],
        ['fb', 'b', '2026-01-01', 2, null],
        ['fb', 'a', '2026-01-01', 3, 'second'],
        ['ig', 'a', '2026-01-01', 4, null],
        ['fb', 'a', '2026-01-01', 5, 'last'],
      ],
    });
    expect(first).toEqual({ rowsStaged: 3, inserted: 3, updated: 0 });
    const second = await wh.merge({
      spec: POSTS,
      columns: POST_COLUMNS,
      rows: (function* () {
        yield ['fb', 'b', '2026-01-01', 20, 'updated'];
        yield ['fb', 'c', '2026-01-02', 30, null];
      })(),
    });
    expect(second).toEqual({ rowsStaged: 2, inserted: 1, updated: 1 });
    expect(await wh.query('SELECT platform, post_id, metric_date, impressions, note FROM social.post_daily ORDER BY platform, post_id')).toEqual([
      { platform: 'fb', post_id: 'a', metric_date: '2026-01-01', impressions: 5, note: 'last' },
      { platform: 'fb', post_id: 'b', metric_date: '2026-01-01', impressions: 20, note: 'updated' },
      { platform: 'fb', post_id: 'c', metric_date: '2026-01-02', impressions: 30, note: null },
      { platform: 'ig', post_id: 'a', metric_date: '2026-01-01', impressions: 4, note: null },
    ]);
    // Merging the same batch again changes nothing and counts every row as an update.
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'c', '2026-01-02', 30, null]] })).toEqual({ rowsStaged: 1, inserted: 0, updated: 1 });
    // A batch of key columns only still counts existing rows as updated.
    expect(await wh.merge({ spec: POSTS, columns: ['platform', 'post_id', 'metric_date'], rows: [['fb', 'c', '2026-01-02'], ['x', 'y', '2026-01-03']] })).toEqual({
      rowsStaged: 2,
      inserted: 1,
      updated: 1,
    });
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [] })).toEqual({ rowsStaged: 0, inserted: 0, updated: 0 });
  });

  it('merges every shape of batch exactly: empty or filled target, unique or repeated keys, new or existing keys', async () => {
    // The adapters take shortcuts (a plain insert when every key is new and unique, no de-duplication
    // when the keys are unique, no existing-key lookup in an empty target); each case is checked
    // against a model of the table kept in JavaScript, and afterMerge must see every staged key.
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const model = new Map<string, SqlValue[]>();
    const keyOf = (row: readonly SqlValue[]) => `${row[0]}|${row[1]}|${row[2]}`;
    const post = (id: string, impressions: number, note: string | null = null): SqlValue[] => ['fb', id, '2026-01-01', impressions, note];
    const mergeAndCheck = async (label: string, rows: SqlValue[][]) => {
      const latest = new Map<string, SqlValue[]>();
      for (const row of rows) latest.set(keyOf(row), row);
      const updated = [...latest.keys()].filter((k) => model.has(k)).length;
      let stagedKeys: string[] = [];
      const result = await wh.merge({
        spec: POSTS,
        columns: POST_COLUMNS,
        rows,
        afterMerge: async (tx, batch) => {
          stagedKeys = (await tx.query(`SELECT DISTINCT post_id FROM ${batch.staged} ORDER BY post_id`)).map((r) => String(r.post_id));
        },
      });
      for (const [k, row] of latest) model.set(k, row);
      expect(result, label).toEqual({ rowsStaged: latest.size, inserted: latest.size - updated, updated });
      expect(stagedKeys, label).toEqual([...new Set(rows.map((r) => String(r[1])))].sort());
      const expected = [...model.values()].map((r) => ({ post_id: r[1], impressions: r[3], note: r[4] })).sort((a, b) => String(a.post_id).localeCompare(String(b.post_id)));
      expect(await wh.query('SELECT post_id, impressions, note FROM social.post_daily ORDER BY post_id'), label).toEqual(expected);
    };
    await mergeAndCheck('empty target, unique keys', [post('a', 1), post('b', 2, 'x'), post('c', 3)]);
    await mergeAndCheck('filled target, new unique keys', [post('d', 4), post('e', 5)]);
    await mergeAndCheck('filled target, new keys repeated in the batch (last wins)', [post('f', 6, 'first'), post('g', 7), post('f', 8, 'last')]);
    await mergeAndCheck('existing keys, unique in the batch', [post('a', 10, 'updated'), post('h', 11)]);
    await mergeAndCheck('existing keys repeated in the batch, the repeat last', [post('i', 12), post('b', 13), post('b', 14, 'last b')]);
    await mergeAndCheck('a new key repeated after an existing one', [post('c', 15), post('j', 16), post('j', 17, 'last j')]);
    // An empty target again (a table emptied since) with repeated keys.
    await wh.execute('DELETE FROM social.post_daily');
    model.clear();
    await mergeAndCheck('emptied target, repeated keys', [post('k', 18), post('k', 19, 'last k'), post('l', 20)]);
  });

  it('merges strings that CSV and quoting get wrong: quotes, commas, newlines, empty vs null', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const notes: Array<string | null> = ['a"b', 'x,y', 'line1\nline2\r\n', '', null, 'ünïcødé ☃ 𝄞', '\\N', 'NULL', ' padded ', '"', ',', "'"];
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: notes.map((note, i) => ['fb', `p${i}`, '2026-01-01', i, note]) });
    const rows = await wh.query('SELECT impressions, note FROM social.post_daily ORDER BY impressions');
    expect(rows).toEqual(notes.map((note, i) => ({ impressions: i, note })));
  });

  it('leaves the table unchanged when a batch fails', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 1, 'before']] });
    const before = await wh.query('SELECT * FROM social.post_daily ORDER BY post_id');

    const badValue = await rejection(
      wh.merge({
        spec: POSTS,
        columns: POST_COLUMNS,
        rows: generatedBatchWithBadRow(),
      }),
    );
    expect(badValue).toBeInstanceOf(UserError);
    expect((badValue as UserError).code).toBe('ROW_INVALID');
    expect((badValue as UserError).message).toContain('abc');

    const nullKey = await rejection(wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 9, 'x'], ['fb', null, '2026-01-01', 1, null]] }));
    expect((nullKey as UserError).code).toBe('ROW_INVALID');

    const wrongWidth = await rejection(wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 9, 'x'], ['fb', 'b']] }));
    expect((wrongWidth as UserError).code).toBe('ROW_INVALID');

    const unknownColumn = await rejection(wh.merge({ spec: POSTS, columns: [...POST_COLUMNS, 'nope'], rows: [] }));
    expect((unknownColumn as UserError).code).toBe('TARGET_INVALID');

    // A generator that fails half-way (a parser hitting a bad line) aborts the whole batch too.
    const producerFailure = await rejection(wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: failingProducer() }));
    expect((producerFailure as Error).message).toBe('parser failed');

    expect(await wh.query('SELECT * FROM social.post_daily ORDER BY post_id')).toEqual(before);
    // The warehouse is still usable afterwards.
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 2, 'after']] })).toEqual({ rowsStaged: 1, inserted: 0, updated: 1 });
  });

  it('leaves an empty table empty when a batch fails (DuckDB appends into it directly)', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const failures: Array<() => Promise<unknown>> = [
      () => wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: generatedBatchWithBadRow() }),
      () => wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 9, 'x'], ['fb', null, '2026-01-01', 1, null]] }),
      () => wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: failingProducer() }),
    ];
    const errors: unknown[] = [];
    for (const f of failures) errors.push(await rejection(f()));
    expect(errors.map((e) => (e instanceof UserError ? e.code : (e as Error).message))).toEqual(['ROW_INVALID', 'ROW_INVALID', 'parser failed']);
    expect(await wh.query('SELECT count(*) AS n FROM social.post_daily')).toEqual([{ n: 0 }]);
    // Then a batch with a repeated key: its last row is kept, as in a loaded table.
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 1, 'first'], ['fb', 'b', '2026-01-01', 5, null], ['fb', 'a', '2026-01-01', 2, 'last']] })).toEqual({
      rowsStaged: 2,
      inserted: 2,
      updated: 0,
    });
    expect(await wh.query('SELECT post_id, impressions FROM social.post_daily ORDER BY post_id')).toEqual([
      { post_id: 'a', impressions: 2 },
      { post_id: 'b', impressions: 5 },
    ]);
  });

  it('runs afterMerge in the merge transaction: committed with the rows, and a failure rolls both back', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const STATE: TableSpec = { table: 'conf.state', key: ['name'], columns: [{ name: 'name', type: 'string', required: true }, { name: 'value', type: 'string' }] };
    await wh.ensureTable(STATE);
    const setState = (value: string) => async (tx: { execute(sql: string, params?: readonly unknown[]): Promise<void> }) => {
      await tx.execute('DELETE FROM conf.state WHERE name = $1', ['s']);
      await tx.execute('INSERT INTO conf.state (name, value) VALUES ($1, $2)', ['s', value]);
    };
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'a', '2026-01-01', 1, 'one']], afterMerge: setState('after one') });
    expect(await wh.query('SELECT value FROM conf.state')).toEqual([{ value: 'after one' }]);

    const failed = await rejection(
      wh.merge({
        spec: POSTS,
        columns: POST_COLUMNS,
        rows: [['fb', 'a', '2026-01-01', 2, 'two'], ['fb', 'b', '2026-01-01', 3, 'three']],
        afterMerge: async (tx) => {
          await setState('after two')(tx);
          throw new Error('state write failed');
        },
      }),
    );
    expect((failed as Error).message).toBe('state write failed');
    expect(await wh.query('SELECT post_id, note FROM social.post_daily ORDER BY post_id')).toEqual([{ post_id: 'a', note: 'one' }]);
    expect(await wh.query('SELECT value FROM conf.state')).toEqual([{ value: 'after one' }]);
  });

  it("tells afterMerge where the batch's rows are staged, readable inside the transaction", async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'old', '2025-12-31', 1, 'untouched']] });
    let days: unknown[] = [];
    await wh.merge({
      spec: POSTS,
      columns: POST_COLUMNS,
      rows: [['fb', 'a', '2026-01-02', 1, 'x'], ['fb', 'a', '2026-01-02', 2, 'y'], ['x', 'b', '2026-01-05', 3, 'z']],
      afterMerge: async (tx, batch) => {
        expect(batch.staged).toBeDefined();
        days = (await tx.query(`SELECT DISTINCT metric_date FROM ${batch.staged} ORDER BY metric_date`)).map((r) => r.metric_date);
      },
    });
    expect(days).toEqual(['2026-01-02', '2026-01-05']);
  });

  it('abandons a merge when its signal aborts, leaving the table unchanged', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'p1', '2026-01-01', 1, 'before']] });
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    async function* producer(): AsyncGenerator<SqlValue[]> {
      for (let i = 0; i < 50_000; i++) {
        if (i === 20_000) controller.abort(reason);
        yield ['fb', `p${i}`, '2026-01-01', 1000 + i, 'after'];
      }
    }
    expect(await rejection(wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: producer(), signal: controller.signal }))).toBe(reason);
    expect(await wh.query('SELECT post_id, impressions, note FROM social.post_daily')).toEqual([{ post_id: 'p1', impressions: 1, note: 'before' }]);
    // An already aborted signal stops the merge before it writes anything.
    expect(await rejection(wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: [['fb', 'p2', '2026-01-01', 2, null]], signal: controller.signal }))).toBe(reason);
    expect(await wh.query('SELECT count(*) AS n FROM social.post_daily')).toEqual([{ n: 1 }]);
  });

  it('replaces a table: created when missing, new columns, an inSwap write in the same transaction', async () => {
    const wh = await fresh();
    const spec = (extra: boolean) => ({
      table: 'analysis.weekly',
      key: [],
      columns: [
        { name: 'week', type: 'date' as const },
        { name: 'platform', type: 'string' as const },
        { name: 'impressions', type: 'double' as const },
        ...(extra ? [{ name: 'rate', type: 'double' as const }] : []),
      ],
    });
    await wh.ensureTable({ table: 'analysis.lineage', key: ['t'], columns: [{ name: 't', type: 'string', required: true }, { name: 'run', type: 'string' }] });
    const lineage = (run: string) => async (tx: SqlRunner) => {
      await tx.execute(`DELETE FROM analysis.lineage WHERE t = ${wh.dialect.param(1)}`, ['weekly']);
      await tx.execute(`INSERT INTO analysis.lineage (t, run) VALUES (${wh.dialect.param(1)}, ${wh.dialect.param(2)})`, ['weekly', run]);
    };
    expect(await wh.replaceTable({ spec: spec(false), rows: [['2026-01-05', 'fb', 10], ['2026-01-05', null, null]], inSwap: lineage('r1') })).toEqual({ rows: 2 });
    expect(await wh.query('SELECT week, platform, impressions FROM analysis.weekly ORDER BY platform')).toEqual([
      { week: '2026-01-05', platform: 'fb', impressions: 10 },
      { week: '2026-01-05', platform: null, impressions: null },
    ]);
    expect(await wh.replaceTable({ spec: spec(true), rows: [['2026-01-12', 'ig', 5, 0.5]], inSwap: lineage('r2') })).toEqual({ rows: 1 });
    expect(await wh.query('SELECT * FROM analysis.weekly')).toEqual([{ week: '2026-01-12', platform: 'ig', impressions: 5, rate: 0.5 }]);
    expect(await wh.query('SELECT run FROM analysis.lineage')).toEqual([{ run: 'r2' }]);
    // Nothing is left beside it.
    const tables = await wh.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'analysis' ORDER BY table_name`);
    expect(tables.map((t) => t.table_name)).toEqual(['lineage', 'weekly']);
  });

  it('leaves a replaced table as it was when the new rows or inSwap fail', async () => {
    const wh = await fresh();
    const spec = { table: 'analysis.t', key: [], columns: [{ name: 'n', type: 'integer' as const }] };
    await wh.replaceTable({ spec, rows: [[1], [2]] });
    expect(await rejection(wh.replaceTable({ spec, rows: [[3], ['abc']] }))).toBeDefined();
    expect(await rejection(wh.replaceTable({ spec, rows: [[3]], inSwap: async () => { throw new Error('lineage failed'); } }))).toEqual(new Error('lineage failed'));
    const producer = (async function* () {
      yield [9];
      throw new Error('query failed');
    })();
    expect(await rejection(wh.replaceTable({ spec, rows: producer }))).toEqual(new Error('query failed'));
    expect(await wh.query('SELECT n FROM analysis.t ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
    const tables = await wh.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'analysis'`);
    expect(tables.map((t) => t.table_name)).toEqual(['t']);
  });

  it('swaps a replaced table atomically while readers query it in a loop', async () => {
    const wh = await fresh();
    const spec = { table: 'analysis.swap', key: [], columns: [{ name: 'run', type: 'string' as const }, { name: 'i', type: 'integer' as const }] };
    const rowsOf = (run: number) => Array.from({ length: 20_000 + run }, (_, i) => [`r${run}`, i]);
    await wh.replaceTable({ spec, rows: rowsOf(0) });
    let stop = false;
    const seen: string[] = [];
    const failures: string[] = [];
    const reader = async () => {
      while (!stop) {
        try {
          const [r] = await wh.query('SELECT min(run) AS a, max(run) AS b, count(*) AS n FROM analysis.swap');
          const run = Number(String(r.a).slice(1));
          if (r.a !== r.b || Number(r.n) !== 20_000 + run) failures.push(JSON.stringify(r));
          seen.push(String(r.a));
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const readers = [reader(), reader(), reader()];
    for (let run = 1; run <= 8; run++) await wh.replaceTable({ spec, rows: rowsOf(run) });
    stop = true;
    await Promise.all(readers);
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(8);
    expect(new Set(seen).size).toBeGreaterThan(1);
  });

  it('merges 100k rows streamed from an async generator, without blocking the event loop', async () => {
    const wh = await fresh();
    await wh.ensureTable(POSTS);
    const N = 100_000;
    const value = (i: number): number => (i * 7919) % 1000;
    const { result, ticks } = await ticksDuring(() => wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: generatedPosts(N, value) }));
    expect(result).toEqual({ rowsStaged: N, inserted: N, updated: 0 });
    expect(ticks).toBeGreaterThan(3);

    let expectedSum = 0;
    let expectedNulls = 0;
    for (let i = 0; i < N; i++) {
      expectedSum += value(i);
      if (i % 7 === 0) expectedNulls++;
    }
    const [stats] = await wh.query('SELECT count(*) AS n, sum(impressions) AS s, count(*) - count(note) AS nulls, count(DISTINCT metric_date) AS days FROM social.post_daily');
    expect(stats).toEqual({ n: N, s: expectedSum, nulls: expectedNulls, days: 28 });

    // Half overlapping, with new values: updates and inserts counted, values replaced.
    const shifted = async function* (): AsyncGenerator<SqlValue[]> {
      for (let i = N / 2; i < N + N / 2; i++) yield ['facebook', `p${i}`, `2026-01-${String((i % 28) + 1).padStart(2, '0')}`, 1, null];
    };
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: shifted() })).toEqual({ rowsStaged: N, inserted: N / 2, updated: N / 2 });
    let keptSum = 0;
    for (let i = 0; i < N / 2; i++) keptSum += value(i);
    const [after] = await wh.query('SELECT count(*) AS n, sum(impressions) AS s FROM social.post_daily');
    expect(after).toEqual({ n: N + N / 2, s: keptSum + N });
  });

  it('lets concurrent workers ensure the same table and merge overlapping batches', async () => {
    const wh = await fresh({ poolSize: 4 });
    await Promise.all(Array.from({ length: 4 }, () => wh.ensureTable(POSTS)));
    // Four batches over keys p0..p1499, each overlapping the next by half.
    const batch = (w: number): SqlValue[][] => Array.from({ length: 600 }, (_, i) => ['fb', `p${w * 300 + i}`, '2026-01-01', w, null]);
    const results = await Promise.all([0, 1, 2, 3].map((w) => wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: batch(w) })));
    for (const r of results) expect(r.rowsStaged).toBe(600);
    // Every key was inserted exactly once, whatever the order the merges ran in.
    expect(results.reduce((sum, r) => sum + r.inserted, 0)).toBe(1500);
    expect(await wh.query('SELECT count(*) AS n, count(DISTINCT post_id) AS keys FROM social.post_daily')).toEqual([{ n: 1500, keys: 1500 }]);
  });

  it('does not cut a merge whose producer is slower than the statement timeout', async () => {
    const wh = await fresh({ statementTimeoutMs: 1_000 });
    await wh.ensureTable(POSTS);
    async function* slowProducer(): AsyncGenerator<SqlValue[]> {
      for (let i = 0; i < 4; i++) {
        // A parser waiting on a slow upload: the pauses add up to more than the statement timeout.
        await new Promise((r) => setTimeout(r, 350));
        yield ['fb', `slow${i}`, '2026-01-01', i, null];
      }
    }
    expect(await wh.merge({ spec: POSTS, columns: POST_COLUMNS, rows: slowProducer() })).toEqual({ rowsStaged: 4, inserted: 4, updated: 0 });
  });

  it('streams 200k rows in batches while the event loop keeps ticking', async () => {
    const wh = await fresh();
    const N = 200_000;
    const sql = `SELECT g.i AS i, g.i * 2 AS doubled, 'row ' || CAST(g.i AS VARCHAR) AS label FROM generate_series(1, ${N}) AS g(i) ORDER BY g.i`;
    const { result, ticks } = await ticksDuring(async () => {
      let count = 0;
      let sum = 0;
      let largest = 0;
      let ordered = true;
      let previous = 0;
      for await (const batch of wh.stream(sql, [], { batchSize: 10_000 })) {
        largest = Math.max(largest, batch.length);
        for (const row of batch) {
          count++;
          sum += row.doubled as number;
          if ((row.i as number) !== previous + 1 || row.label !== `row ${row.i}`) ordered = false;
          previous = row.i as number;
        }
      }
      return { count, sum, largest, ordered };
    });
    expect(result).toEqual({ count: N, sum: N * (N + 1), largest: 10_000, ordered: true });
    expect(ticks).toBeGreaterThan(3);
  });

  it('stops streaming when the consumer breaks, and the warehouse stays usable', async () => {
    const wh = await fresh({ poolSize: 1 });
    let seen = 0;
    for await (const batch of wh.stream('SELECT g.i AS i FROM generate_series(1, 100000) AS g(i)', [], { batchSize: 1000 })) {
      seen += batch.length;
      if (seen >= 3000) break;
    }
    expect(seen).toBe(3000);
    expect(await wh.query('SELECT 7 AS seven')).toEqual([{ seven: 7 }]);
    // Parameters reach a stream too.
    const batches: Row[][] = [];
    for await (const b of wh.stream(`SELECT g.i AS i FROM generate_series(1, 10) AS g(i) WHERE g.i > ${wh.dialect.param(1, 'number')}`, [7])) batches.push(b);
    expect(batches.flat()).toEqual([{ i: 8 }, { i: 9 }, { i: 10 }]);
  });

  it('cancels a slow query at the statement timeout, in the database', async () => {
    const wh = await fresh({ poolSize: 1 });
    const err = await rejection(wh.query(slowSql(dialect), [], { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('QUERY_TIMEOUT');
    await expectNothingRunning(wh, dialect);
    // The single connection is free again, and the default timeout is back for the next statement.
    expect(await wh.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('cancels a slow stream at the statement timeout', async () => {
    const wh = await fresh({ poolSize: 1 });
    const err = await rejection(
      (async () => {
        for await (const batch of wh.stream(slowSql(dialect), [], { timeoutMs: 300 })) expect(batch).toBeDefined();
      })(),
    );
    expect((err as UserError).code).toBe('QUERY_TIMEOUT');
    await expectNothingRunning(wh, dialect);
    expect(await wh.query('SELECT 6 AS ok')).toEqual([{ ok: 6 }]);
  });

  it('applies the warehouse default statement timeout', async () => {
    const wh = await fresh({ statementTimeoutMs: 300 });
    const err = await rejection(wh.query(slowSql(dialect)));
    expect((err as UserError).code).toBe('QUERY_TIMEOUT');
    // A query given a longer timeout is not cut at the default.
    expect(await wh.query('SELECT 2 AS ok', [], { timeoutMs: 10_000 })).toEqual([{ ok: 2 }]);
  });

  it('cancels a query when its AbortSignal fires, rejecting with the reason', async () => {
    const wh = await fresh({ poolSize: 2 });
    const controller = new AbortController();
    const reason = new Error('job cancelled by the user');
    const running = wh.query(slowSql(dialect), [], { signal: controller.signal });
    await waitUntilRunning(wh, dialect);
    controller.abort(reason);
    expect(await rejection(running)).toBe(reason);
    await expectNothingRunning(wh, dialect);

    const already = new AbortController();
    already.abort(reason);
    expect(await rejection(wh.query('SELECT 1', [], { signal: already.signal }))).toBe(reason);
    expect(await wh.query('SELECT 3 AS ok')).toEqual([{ ok: 3 }]);
  });

  it('cancels a stream when its AbortSignal fires', async () => {
    const wh = await fresh({ poolSize: 2 });
    const controller = new AbortController();
    const reason = new Error('stop streaming');
    let batches = 0;
    const err = await rejection(
      (async () => {
        for await (const batch of wh.stream('SELECT g.i AS i FROM generate_series(1, 100000) AS g(i)', [], { batchSize: 1000, signal: controller.signal })) {
          expect(batch.length).toBe(1000);
          batches++;
          if (batches === 2) controller.abort(reason);
        }
      })(),
    );
    expect(err).toBe(reason);
    expect(batches).toBe(2);
    expect(await wh.query('SELECT 4 AS ok')).toEqual([{ ok: 4 }]);
  });

  it('answers a quick query while a slow one runs on another connection', async () => {
    const wh = await fresh({ poolSize: 2 });
    const controller = new AbortController();
    let slowSettled = false;
    const slow = wh.query(slowSql(dialect), [], { signal: controller.signal }).finally(() => (slowSettled = true));
    await waitUntilRunning(wh, dialect);
    expect(await wh.query('SELECT 5 AS quick')).toEqual([{ quick: 5 }]);
    expect(slowSettled).toBe(false);
    controller.abort(new Error('done'));
    expect(((await rejection(slow)) as Error).message).toBe('done');
  });

  it('runs queries concurrently on its pool', async () => {
    const wh = await fresh({ poolSize: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => wh.query(`SELECT ${wh.dialect.param(1, 'number')} + 1 AS n`, [i])));
    expect(results.map((r) => r[0].n)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('refuses work after close', async () => {
    const wh = await fresh();
    await wh.close();
    await wh.close(); // idempotent
    expect(await rejection(wh.query('SELECT 1'))).toBeInstanceOf(Error);
  });
});

/** A producer that fails half-way (a parser hitting a bad line): the whole batch is abandoned. */
async function* failingProducer(): AsyncGenerator<SqlValue[]> {
  yield ['fb', 'a', '2026-01-01', 99, 'changed'];
  throw new Error('parser failed');
}

function* generatedBatchWithBadRow(): Generator<SqlValue[]> {
  for (let i = 0; i < 1000; i++) yield ['fb', `bad${i}`, '2026-01-01', i === 500 ? 'abc' : i, null];
  yield ['fb', 'a', '2026-01-01', 123, 'would change the existing row'];
}

/** A statement that runs for seconds unless cancelled. */
function slowSql(dialect: TestDialect): string {
  return dialect !== 'duckdb' ? 'SELECT pg_sleep(30)' : 'SELECT count(*) AS n FROM range(100000000) a, range(100000) b WHERE a.range + b.range = -1';
}

/**
 * PostgreSQL: the statement is gone from pg_stat_activity. The client hears of the cancel a moment
 * before the backend reports itself idle (or, for a discarded connection, exits), so this polls a
 * bounded number of times; the statement sleeps 30 s, far longer than the polls take, so an
 * uncancelled statement cannot pass. DuckDB has no such view: the next query on the pool checks it.
 */
async function expectNothingRunning(wh: TestWarehouse, dialect: TestDialect): Promise<void> {
  if (dialect === 'duckdb') return;
  let running: Row[] = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    running = await wh.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()`,
    );
    if (running.length === 0) break;
  }
  expect(running).toEqual([]);
}

/** Waits (by polling the database, not by time) until the slow statement runs, so the abort hits it mid-flight. */
async function waitUntilRunning(wh: TestWarehouse, dialect: TestDialect): Promise<void> {
  if (dialect === 'duckdb') {
    // DuckDB gives no activity view across connections; yield a few times so the statement starts.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return;
  }
  for (let i = 0; i < 500; i++) {
    const rows = await wh.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()`,
    );
    if (rows.length > 0) return;
  }
  throw new Error('the slow statement never appeared in pg_stat_activity');
}
