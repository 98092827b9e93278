/**
 * DuckDB's CSV fast path (Warehouse.loadCsv through the loader, the folder store's localPath): a file
 * DuckDB's read_csv reads leaves exactly the table the Node parser and converter leave, and a file with
 * a value or a quote they might read differently is declined, so the loader's line-numbered error stays.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { loadObject, type LoadResult } from '../../src/ingest/loader.js';
import { parseTarget, tableSpecOf, type Target } from '../../src/ingest/targets.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { MergeResult, Row, Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse } from '../support/warehouses.js';

const EVERY_TYPE = `
table: t.every_type
key: [id, day]
columns:
  id:      { type: string, required: true }
  day:     { type: date, required: true }
  n:       { type: integer }
  big:     { type: bigint }
  price:   { type: decimal }
  ratio:   { type: double }
  ok:      { type: boolean }
  at:      { type: timestamp }
  extra:   { type: json }
  note:    { type: string, from: "Note" }
`;

function target(yaml: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget('every_type', 'targets/every_type.yml', yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

/** The warehouse as the loader sees it, recording what each loadCsv answered; `fast: false` hides loadCsv. */
function observed(warehouse: Warehouse, fast: boolean): { warehouse: Warehouse; answers: (MergeResult | undefined)[] } {
  const answers: (MergeResult | undefined)[] = [];
  const proxy = new Proxy(warehouse, {
    get(target, prop) {
      if (prop === 'loadCsv') {
        if (!fast) return undefined;
        return async (input: Parameters<NonNullable<Warehouse['loadCsv']>>[0]) => {
          const answer = await target.loadCsv!(input);
          answers.push(answer);
          return answer;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { warehouse: proxy, answers };
}

/** Every row, lineage included but for the load time, in key order, values as text. */
async function tableOf(warehouse: Warehouse): Promise<Row[]> {
  const rows = await warehouse.query(
    `SELECT * EXCLUDE (_loaded_at), CAST(_loaded_at IS NOT NULL AS VARCHAR) AS loaded, CAST(ratio AS VARCHAR) AS ratio_text FROM t.every_type ORDER BY id, day`,
  );
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
}

const HEADER = 'id,day,n,big,price,ratio,ok,at,extra,Note';

/** Canonical values of every type, quoted fields, empty and blank values, a blank row, a repeated key. */
const FIRST = [
  HEADER,
  'a,2026-01-01,1,9007199254740993,12.5,0.1,true,2026-01-01T10:00:00Z,,plain',
  '"b",2026-01-02,-7,-12,-0.0001,1e-3,NO,2026-01-02 23:59:59.123,,"with, comma"',
  'c,2026-02-28,2147483647,0,9999999999999.9999,-2.5E10,1,2026-02-28,  ,"quote "" inside"',
  ',,,,,,,,,',
  'd,2024-02-29,,,,,,,,"two\nlines"',
  'a,2026-01-01,2,3,4,5,yes,2026-01-01T00:00:00.5,,last a wins',
  'e,2026-03-01,0,1,.5,7.,False,2026-03-01T12:34:56,,  spaced  ',
].join('\r\n');

/** Into the loaded table: an update of b (written twice, the last wins), a new row. */
const SECOND = [HEADER, 'b,2026-01-02,7,7,7,7,1,,,"first b"', 'b,2026-01-02,8,8,8,8,0,,,"updated"', 'f,2026-03-02,9,9,9,9,1,,,new'].join('\n') + '\n';

describe('DuckDB loadCsv: read_csv leaves the table the Node path leaves', () => {
  let dir: string;
  let store: ObjectStore;
  let duck: Warehouse;
  let node: Warehouse;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-duck-csv-'));
    store = await openFileObjectStore(dir);
    duck = await freshWarehouse('duckdb');
    node = await freshWarehouse('duckdb');
  });
  afterEach(async () => {
    await duck.close();
    await node.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Loads `text` through both paths; answers what loadCsv answered and what each load returned. */
  async function loadBoth(text: string, yaml = EVERY_TYPE, name = 'x.csv'): Promise<{ answers: (MergeResult | undefined)[]; fast: LoadResult; slow: LoadResult }> {
    const key = `raw/${name}`;
    await store.put(key, text);
    const fast = observed(duck, true);
    const slow = observed(node, false);
    const t = target(yaml);
    const fastResult = await loadObject({ warehouse: fast.warehouse, store }, { target: t, key, runId: 'run-1' });
    const slowResult = await loadObject({ warehouse: slow.warehouse, store }, { target: t, key, runId: 'run-1' });
    expect(await tableOf(duck)).toEqual(await tableOf(node));
    return { answers: fast.answers, fast: fastResult, slow: slowResult };
  }

  it('loads every column type, quotes, CRLF, empty values and repeated keys into an empty, then a loaded table', async () => {
    const first = await loadBoth(FIRST);
    expect(first.answers).toMatchObject([{ rowsStaged: 5, inserted: 5, updated: 0 }]);
    expect(first.fast).toMatchObject({ rowsLoaded: first.slow.rowsLoaded, inserted: 5, updated: 0 });
    const rows = await tableOf(duck);
    expect(rows.find((r) => r.id === 'a')).toMatchObject({ n: '2', note: 'last a wins', ok: 'true' });
    expect(rows.find((r) => r.id === 'b')).toMatchObject({ note: 'with, comma', ok: 'false', price: '-0.0001' });
    expect(rows.find((r) => r.id === 'c')).toMatchObject({ note: 'quote " inside', extra: null });
    expect(rows.find((r) => r.id === 'd')).toMatchObject({ note: 'two\nlines', n: null, ok: null });
    expect(rows.find((r) => r.id === 'e')).toMatchObject({ note: '  spaced  ' });

    const second = await loadBoth(SECOND);
    expect(second.answers).toMatchObject([{ rowsStaged: 2, inserted: 1, updated: 1 }]);
    expect((await tableOf(duck)).find((r) => r.id === 'b')).toMatchObject({ note: 'updated', n: '8', at: null });
  });

  it('leaves a semicolon-separated file to the parser (the loader offers comma-separated files only), with the same table', async () => {
    const text = `${HEADER.replaceAll(',', ';')}\na;2026-01-01;1;2;3,5;4;true;;;"x;y"\n`;
    const result = await loadBoth(text.replace('3,5', '3.5'));
    expect(result.answers).toEqual([]);
  });

  it('reads a value of JavaScript whitespace only (a no-break space) as missing, as the converter does', async () => {
    const result = await loadBoth(`${HEADER}\na,2026-01-01,\u00a0,,,,,,,\u00a0\u2003\n`);
    expect(result.answers).toMatchObject([{ rowsStaged: 1, inserted: 1, updated: 0 }]);
    expect((await tableOf(duck))[0]).toMatchObject({ n: null, note: null });
  });

  it('declines values it might read differently, and the Node path loads them', async () => {
    const rows = [
      ['a,2026-01-01,1.0,,,,,,,', 'integer written with a fraction'],
      ['a,2026-01-01, 5,,,,,,,', 'spaces around a number'],
      ['a,2026-01-01,,,,,,2026-01-01T10:00:00+02:00,,', 'timestamp with an offset'],
      ['a,2026-01-01,,,,,,2026-01-01T10:00:00.123456,,', 'more than milliseconds'],
      ['a,2026-01-01,,,,,,,"{""k"": 1}",', 'a JSON value'],
      ['a,2026-01-01,,,123456789012345.5,,,,,', 'a decimal with 15 digits before the point'],
    ];
    for (const [row, why] of rows) {
      await duck.execute('DROP TABLE IF EXISTS t.every_type');
      await node.execute('DROP TABLE IF EXISTS t.every_type');
      const text = `${HEADER}\n${row}\n`;
      if (why.startsWith('a decimal')) {
        const error = await loadBoth(text).catch((err: unknown) => err);
        expect(error, why).toBeInstanceOf(UserError);
        continue;
      }
      const result = await loadBoth(text);
      expect(result.answers, why).toEqual([undefined]);
      expect(result.fast.rowsLoaded, why).toBe(1);
      // The job logs why the slower way was taken.
      expect(result.fast.bulkReaderDeclined, why).toBe('a value in a form read_csv may read differently than the converter');
      expect(result.slow.bulkReaderDeclined, why).toBeUndefined();
    }
  });

  it.each([
    ['a value the column type refuses', `${HEADER}\na,2026-01-01,1,,,,,,,\nb,2026-01-01,abc,,,,,,,\n`, /x\.csv, line 3, column n: expected integer, got "abc"/],
    ['a required value missing', `${HEADER}\na,2026-01-01,1,,,,,,,\n,2026-01-02,1,,,,,,,\n`, /x\.csv, line 3, column id: expected string, got nothing/],
    ['a quote inside an unquoted value', `${HEADER}\na,2026-01-01,1,,,,,,,x"y\n`, /x\.csv, line 2: a quote appears inside an unquoted value/],
    ['a space after a closing quote', `${HEADER}\na,2026-01-01,1,,,,,,,"xy" \n`, /x\.csv, line 2: a quote appears/],
    ['a short row', `${HEADER}\na,2026-01-01,1\n`, /x\.csv, line 2: the row has 3 fields but the header has 10/],
    ['an unclosed quote', `${HEADER}\na,2026-01-01,1,,,,,,,"xy\n`, /x\.csv, line 2: a quoted value that starts in this row is never closed/],
  ])('declines %s, and the loader reports its line', async (_, text, message) => {
    await store.put('raw/x.csv', text);
    const spec = tableSpecOf(target(EVERY_TYPE));
    await duck.ensureTable(spec);
    const columns = HEADER.toLowerCase().split(',');
    const lineage = { runId: 'run-1', loadedAt: '2026-01-01 00:00:00.000', sourceObject: 'raw/x.csv' };
    const reasons: string[] = [];
    const onDecline = (reason: string): number => reasons.push(reason);
    expect(await duck.loadCsv!({ spec, columns, lineage, open: () => store.get('raw/x.csv'), localPath: store.localPath!('raw/x.csv'), onDecline })).toBeUndefined();
    // Without the file on disk (an S3 store) there is nothing to read in place.
    expect(await duck.loadCsv!({ spec, columns, lineage, open: () => store.get('raw/x.csv'), onDecline })).toBeUndefined();
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/^(a value in a form|read_csv refused the file: |a byte-order mark, a blank header, or a quote)/);
    expect(reasons[1]).toMatch(/not a folder on this machine/);
    const error = await loadObject({ warehouse: duck, store }, { target: target(EVERY_TYPE), key: 'raw/x.csv', runId: 'run-1' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect(await duck.query('SELECT count(*) AS n FROM t.every_type')).toEqual([{ n: 0 }]);
  });

  it('takes a column with a default when every row has a value, and leaves a file with a missing one to the converter', async () => {
    const yaml = EVERY_TYPE.replace('n:       { type: integer }', 'n:       { type: integer, default: 42 }');
    const full = await loadBoth(`${HEADER}\na,2026-01-01,1,,,,,,,\n`, yaml);
    expect(full.answers).toMatchObject([{ rowsStaged: 1, inserted: 1, updated: 0 }]);
    const gap = await loadBoth(`${HEADER}\nb,2026-01-01,,,,,,,,\n`, yaml);
    expect(gap.answers).toEqual([undefined]);
    expect((await tableOf(duck)).map((r) => r.n)).toEqual(['1', '42']);
  });

  it("puts DuckDB's insertion order back on after a load and after a file the insert refused", async () => {
    const order = async (): Promise<unknown> => (await duck.query(`SELECT current_setting('preserve_insertion_order') AS on`))[0].on;
    expect(await order()).toBe(true);
    const loaded = await loadBoth(`${HEADER}\na,2026-01-01,1,,,,,,,\n`);
    expect(loaded.answers).toMatchObject([{ rowsStaged: 1 }]);
    expect(await order()).toBe(true);
    // Refused inside the insert (a value check raises an error there): the setting is restored all the same.
    await duck.execute('DROP TABLE t.every_type');
    await node.execute('DROP TABLE t.every_type');
    const refused = await loadBoth(`${HEADER}\na,2026-01-01,1.0,,,,,,,\n`);
    expect(refused.answers).toEqual([undefined]);
    expect(refused.fast.bulkReaderDeclined).toBe('a value in a form read_csv may read differently than the converter');
    expect(await order()).toBe(true);
  });

  it('keeps the last row of a key across a file of many parallel-read chunks', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 200_000; i++) lines.push(`k${i % 50_000},2026-01-01,${i},,,,,,,`);
    const result = await loadBoth(`${lines.join('\n')}\n`);
    expect(result.answers).toEqual([{ rowsStaged: 50_000, inserted: 50_000, updated: 0 }]);
    expect(result.fast).toMatchObject({ rowsRead: 200_000, rowsLoaded: 50_000 });
    expect(await duck.query(`SELECT min(n) AS lo, max(n) AS hi FROM t.every_type`)).toEqual([{ lo: 150_000, hi: 199_999 }]);
  });

  it('keeps the last row in file order of a key repeated across row groups DuckDB reads in parallel', async () => {
    // 600k rows (~15 MB, several of DuckDB's 122,880-row groups and CSV buffers): each key comes back every
    // 100k rows, so its occurrences are read by different threads; the last in the file must win, as in the Node path.
    const file = (from: number): string => {
      const lines = [HEADER];
      for (let i = from; i < from + 600_000; i++) lines.push(`k${(i * 7) % 100_000},2026-01-01,${i},,,,,,,row ${i}`);
      return `${lines.join('\n')}\n`;
    };
    const contents = `SELECT count(*) AS n, min(n) AS lo, max(n) AS hi, count(*) FILTER (WHERE note <> 'row ' || n) AS odd FROM t.every_type`;
    const first = await loadBoth(file(0));
    expect(first.answers).toMatchObject([{ rowsStaged: 100_000, inserted: 100_000, updated: 0 }]);
    expect(first.fast).toMatchObject({ rowsRead: 600_000, rowsLoaded: 100_000 });
    // Independently: key k(7i mod 100k) is last written by the largest i < 600k with that residue, i.e. i >= 500k.
    expect(await duck.query(contents)).toEqual([{ n: 100_000, lo: 500_000, hi: 599_999, odd: 0 }]);
    // The same into the loaded table (the staged path): rows 1,000,000 on; 1,500,000 on win.
    const second = await loadBoth(file(1_000_000));
    expect(second.answers).toMatchObject([{ rowsStaged: 100_000, inserted: 0, updated: 100_000 }]);
    expect(await duck.query(contents)).toEqual([{ n: 100_000, lo: 1_500_000, hi: 1_599_999, odd: 0 }]);
    // Four loads of 600k rows (two through each path): 60 s was not enough on a loaded 2-core machine.
  }, 300_000);
});

describe('folder store localPath', () => {
  it('is the file holding the object, under the store folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sextant-local-path-'));
    const store = await openFileObjectStore(dir);
    try {
      await store.put('raw/team/file.csv', 'a,b\n1,2\n');
      const path = store.localPath?.('raw/team/file.csv');
      expect(path).toBe(join(dir, 'raw', 'team', 'file.csv'));
      expect(await readFile(path!, 'utf8')).toBe('a,b\n1,2\n');
      expect(() => store.localPath?.('../escape')).toThrow(UserError);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
