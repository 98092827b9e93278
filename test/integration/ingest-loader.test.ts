/**
 * The loader against real warehouses (DuckDB and PostgreSQL) and the folder object store: idempotent
 * loads, overlapping files, reject and skip, evolve, JSON, and malformed files leaving the table as it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { loadObject } from '../../src/ingest/loader.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const POSTS = `
table: social.manual_posts
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  impressions: { type: integer, default: 0 }
  likes:       { type: integer }
`;

function target(yaml: string, name = 'social_manual_posts'): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

/** Rows `from..to` (1-based) of a posts CSV; `impressions` = i * factor. */
function postsCsv(from: number, to: number, options: { factor?: number; bad?: number } = {}): string {
  const lines = ['platform,Post ID,Date,impressions,likes'];
  for (let i = from; i <= to; i++) {
    const impressions = i === options.bad ? 'abc' : String(i * (options.factor ?? 1));
    lines.push(`${i % 2 ? 'facebook' : 'instagram'},p${i},2026-01-${String((i % 28) + 1).padStart(2, '0')},${impressions},${i % 7}`);
  }
  return `${lines.join('\n')}\n`;
}

async function loadError(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected the load to fail');
}

describe.each(DIALECTS)('loadObject on %s', (dialect) => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;

  beforeEach(async () => {
    warehouse = await freshWarehouse(dialect);
    dir = await mkdtemp(join(tmpdir(), 'sextant-ingest-'));
    store = await openFileObjectStore(dir);
  });
  afterEach(async () => {
    await warehouse.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const count = async (table = 'social.manual_posts'): Promise<{ n: number; keys: number; sum: number }> => {
    const [row] = await warehouse.query(
      `SELECT count(*) AS n, count(DISTINCT platform || '|' || post_id || '|' || CAST(metric_date AS VARCHAR)) AS keys, sum(impressions) AS sum FROM ${warehouse.dialect.quoteTable(table)}`,
    );
    return { n: Number(row.n), keys: Number(row.keys), sum: Number(row.sum) };
  };

  it('loads the same 100k-row file twice and keeps exactly 100k rows; an overlapping file updates its rows', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/a.csv', postsCsv(1, 100_000));
    const progress: number[] = [];
    const first = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/a.csv', runId: 'run-1', onProgress: (rows) => progress.push(rows) });
    expect(first).toMatchObject({ rowsRead: 100_000, rowsLoaded: 100_000, rowsRejected: 0, inserted: 100_000, updated: 0, errors: [], addedColumns: [] });
    expect(progress.at(-1)).toBe(100_000);
    const second = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/a.csv', runId: 'run-2' });
    expect(second).toMatchObject({ rowsRead: 100_000, rowsLoaded: 100_000, inserted: 0, updated: 100_000 });
    const sumOfFirst = (100_000 * 100_001) / 2;
    expect(await count()).toEqual({ n: 100_000, keys: 100_000, sum: sumOfFirst });

    // Rows 90,001–110,000 with impressions doubled: 10k updates, 10k inserts.
    await store.put('raw/posts/b.csv', postsCsv(90_001, 110_000, { factor: 2 }));
    const overlap = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/b.csv', runId: 'run-3' });
    expect(overlap).toMatchObject({ rowsRead: 20_000, rowsLoaded: 20_000, inserted: 10_000, updated: 10_000 });
    const c = await count();
    expect(c.n).toBe(110_000);
    expect(c.keys).toBe(110_000);
    let expected = 0;
    for (let i = 1; i <= 110_000; i++) expected += i <= 90_000 ? i : 2 * i;
    expect(c.sum).toBe(expected);

    const [lineage] = await warehouse.query(
      `SELECT _run_id, _source_object, _loaded_at FROM social.manual_posts WHERE post_id = 'p95000'`,
    );
    expect(lineage._run_id).toBe('run-3');
    expect(lineage._source_object).toBe('raw/posts/b.csv');
    expect(String(lineage._loaded_at)).toMatch(/^\d{4}-\d{2}-\d{2}/);
  });

  it('rejects a file with a bad row at line 5001: names line, column and value; the table is unchanged and the raw file kept', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/good.csv', postsCsv(1, 10_000));
    await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/good.csv', runId: 'run-1' });
    const before = await count();

    await store.put('raw/posts/bad.csv', postsCsv(1, 10_000, { factor: 3, bad: 5000 }));
    const err = await loadError(loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/bad.csv', runId: 'run-2' }));
    expect(err.code).toBe('ROW_INVALID');
    expect(err.message).toBe('bad.csv, line 5001, column impressions: expected integer, got "abc"');
    expect(err.problems).toEqual([{ line: 5001, column: 'impressions', message: 'expected integer, got "abc"' }]);
    expect(err.details).toMatchObject({ line: 5001, column: 'impressions', value: 'abc' });
    expect(await count()).toEqual(before);
    expect(await store.head('raw/posts/bad.csv')).toBeDefined();
  });

  it('with on_error: skip loads the good rows and lists the bad one', async () => {
    const posts = target(`${POSTS}on_error: skip\n`);
    await store.put('raw/posts/bad.csv', postsCsv(1, 10_000, { bad: 5000 }));
    const result = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/bad.csv', runId: 'run-1' });
    expect(result).toMatchObject({ rowsRead: 10_000, rowsLoaded: 9_999, rowsRejected: 1, inserted: 9_999 });
    expect(result.errors).toEqual([{ line: 5001, column: 'impressions', value: 'abc', message: 'expected integer, got "abc"' }]);
    const c = await count();
    expect(c.n).toBe(9_999);
    const missing = await warehouse.query(`SELECT count(*) AS n FROM social.manual_posts WHERE post_id = 'p5000'`);
    expect(Number(missing[0].n)).toBe(0);
  });

  it('counts every bad row but lists at most 1000', async () => {
    const posts = target(`${POSTS}on_error: skip\n`);
    const lines = ['platform,Post ID,Date,impressions'];
    for (let i = 1; i <= 1500; i++) lines.push(`x,p${i},not-a-date,1`);
    lines.push('x,ok,2026-01-01,1');
    await store.put('raw/posts/many.csv', lines.join('\n'));
    const result = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/many.csv', runId: 'r' });
    expect(result.rowsRejected).toBe(1500);
    expect(result.errors).toHaveLength(1000);
    expect(result.errors[0]).toMatchObject({ line: 2, column: 'metric_date', message: 'expected date as YYYY-MM-DD, got "not-a-date" (the file\'s column "Date")' });
    expect(result.rowsLoaded).toBe(1);
  });

  it('keeps awkward text exactly: quotes, delimiters, line breaks, tabs, backslashes, emoji', async () => {
    const t = target(`
table: web.notes
key: [id]
columns:
  id:   { type: integer }
  text: { type: string }
`, 'web_notes');
    const values = ['say "hi", then leave', 'two\nlines', 'tab\there', 'back\\slash \\N', 'emoji 🚀 and ünïcödé', '=1+1', '  padded  ', 'NULL', '\\.'];
    const json = values.map((text, i) => JSON.stringify({ id: i + 1, text })).join('\n');
    await store.put('raw/web/notes.ndjson', json);
    await loadObject({ warehouse, store }, { target: t, key: 'raw/web/notes.ndjson', runId: 'r' });
    const rows = await warehouse.query('SELECT id, text FROM web.notes ORDER BY id');
    expect(rows.map((r) => r.text)).toEqual(values);
  });

  it('a key repeated within one file keeps its last row', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/dup.csv', 'platform,Post ID,Date,impressions\nx,p1,2026-01-01,1\nx,p2,2026-01-01,2\nX,p1,2026-01-01,3\nx,p1,2026-01-01,4\n');
    const result = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/dup.csv', runId: 'r' });
    expect(result).toMatchObject({ rowsRead: 4, rowsLoaded: 3, inserted: 3 });
    const rows = await warehouse.query(`SELECT platform, post_id, impressions FROM social.manual_posts`);
    // Sorted here: database collations disagree on "X" vs "x".
    rows.sort((a, b) => (String(a.platform) + a.post_id < String(b.platform) + b.post_id ? -1 : 1));
    expect(rows).toEqual([
      { platform: 'X', post_id: 'p1', impressions: 3 },
      { platform: 'x', post_id: 'p1', impressions: 4 },
      { platform: 'x', post_id: 'p2', impressions: 2 },
    ]);
  });

  it('evolve adds the unknown input fields as nullable columns', async () => {
    const posts = target(`${POSTS}evolve: true\n`);
    await store.put('raw/posts/e.csv', 'platform,Post ID,Date,impressions,Campaign Name\nfacebook,p1,2026-01-01,5,Spring\nfacebook,p2,2026-01-02,6,\n');
    const first = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/e.csv', runId: 'r1' });
    expect(first.addedColumns).toEqual(['campaign_name']);
    const columns = await warehouse.describeTable('social.manual_posts');
    expect(columns?.find((c) => c.name === 'campaign_name')).toMatchObject({ type: 'string', required: false });
    const rows = await warehouse.query(`SELECT post_id, campaign_name FROM social.manual_posts ORDER BY post_id`);
    expect(rows).toEqual([{ post_id: 'p1', campaign_name: 'Spring' }, { post_id: 'p2', campaign_name: null }]);
    const again = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/e.csv', runId: 'r2' });
    expect(again.addedColumns).toEqual([]);
  });

  it('evolve on JSON: nested fields become string columns, arrays json columns', async () => {
    const posts = target(`${POSTS}evolve: true\n`);
    const ndjson = [
      { platform: 'x', 'Post ID': 'p1', Date: '2026-01-01', impressions: 1, campaign: { name: 'Spring', id: 7 } },
      { platform: 'x', 'Post ID': 'p2', Date: '2026-01-01', impressions: 2, hashtags: ['a', 'b'] },
      { platform: 'x', 'Post ID': 'p3', Date: '2026-01-01', impressions: 3, hashtags: 'solo' },
    ].map((r) => JSON.stringify(r)).join('\n');
    await store.put('raw/posts/e.ndjson', ndjson);
    const result = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/e.ndjson', runId: 'r1' });
    expect(result).toMatchObject({ rowsRead: 3, rowsLoaded: 3, rowsRejected: 0 });
    expect([...result.addedColumns].sort()).toEqual(['campaign_id', 'campaign_name', 'hashtags']);
    const columns = await warehouse.describeTable('social.manual_posts');
    expect(columns?.find((c) => c.name === 'hashtags')?.type).toBe('json');
    expect(columns?.find((c) => c.name === 'campaign_id')?.type).toBe('string');
    const rows = await warehouse.query(`SELECT post_id, campaign_name, campaign_id, CAST(hashtags AS VARCHAR) AS hashtags FROM social.manual_posts ORDER BY post_id`);
    expect(rows.map((r) => [r.post_id, r.campaign_name, r.campaign_id, r.hashtags === null ? null : JSON.parse(String(r.hashtags))])).toEqual([
      ['p1', 'Spring', '7', null],
      ['p2', null, null, ['a', 'b']],
      ['p3', null, null, 'solo'],
    ]);
  });

  it('evolve adds nothing when the file is rejected', async () => {
    const posts = target(`${POSTS}evolve: true\n`);
    await store.put('raw/posts/e.csv', 'platform,Post ID,Date,impressions,Extra\nfacebook,p1,2026-01-01,many,x\n');
    const err = await loadError(loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/e.csv', runId: 'r1' }));
    expect(err.code).toBe('ROW_INVALID');
    expect(await warehouse.describeTable('social.manual_posts')).toBeUndefined();
  });

  it('loads JSON with nested fields into typed columns', async () => {
    const t = target(`
table: web.sessions
key: [id]
columns:
  id:        { type: bigint }
  day:       { type: date, required: true }
  seen_at:   { type: timestamp, from: at }
  converted: { type: boolean }
  revenue:   { type: decimal }
  ratio:     { type: double }
  source_medium: { type: string }
  tags:      { type: json }
  meta:      { type: json }
`, 'web_sessions');
    const json = JSON.stringify([
      { id: 1, day: '2026-03-01', at: '2026-03-01T10:15:00+02:00', converted: 'yes', revenue: '12.3400', ratio: 0.25, source: { medium: 'email' }, tags: ['a', 'b'], meta: { x: { y: 1 } } },
      { id: 2, day: '2026-03-02', converted: false, revenue: 7, source: null },
    ], null, 2);
    await store.put('raw/web/s.json', json);
    const result = await loadObject({ warehouse, store }, { target: t, key: 'raw/web/s.json', runId: 'r' });
    expect(result).toMatchObject({ rowsRead: 2, rowsLoaded: 2 });
    const rows = await warehouse.query(`SELECT id, day, seen_at, converted, revenue, ratio, source_medium, CAST(tags AS VARCHAR) AS tags, CAST(meta AS VARCHAR) AS meta FROM web.sessions ORDER BY id`);
    expect(rows[0]).toMatchObject({ id: 1, day: '2026-03-01', converted: true, revenue: 12.34, ratio: 0.25, source_medium: 'email' });
    expect(String(rows[0].seen_at)).toMatch(/^2026-03-01T08:15:00(\.000)?Z$/);
    expect(JSON.parse(String(rows[0].tags))).toEqual(['a', 'b']);
    expect(JSON.parse(String(rows[0].meta))).toEqual({ x: { y: 1 } });
    expect(rows[1]).toMatchObject({ id: 2, day: '2026-03-02', seen_at: null, converted: false, revenue: 7, source_medium: null, tags: null });
  });

  it('a cancelled load stops reading and leaves the table as it was', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/good.csv', postsCsv(1, 100));
    await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/good.csv', runId: 'r1' });
    const before = await count();
    await store.put('raw/posts/big.csv', postsCsv(1, 50_000, { factor: 9 }));
    const controller = new AbortController();
    let seen = 0;
    const failed = loadObject(
      { warehouse, store },
      { target: posts, key: 'raw/posts/big.csv', runId: 'r2', signal: controller.signal, onProgress: (rows) => {
        seen = rows;
        controller.abort(new Error('cancelled by the test'));
      } },
    );
    await expect(failed).rejects.toThrow('cancelled by the test');
    expect(seen).toBeLessThan(50_000);
    expect(await count()).toEqual(before);
  });

  it('a load interrupted half-way and run again leaves exactly what one clean load leaves', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/a.csv', postsCsv(1, 30_000, { factor: 2 }));
    const controller = new AbortController();
    await expect(
      loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/a.csv', runId: 'r1', signal: controller.signal, onProgress: (rows) => rows >= 15_000 && controller.abort(new Error('worker died')) }),
    ).rejects.toThrow('worker died');
    const again = await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/a.csv', runId: 'r2' });
    expect(again).toMatchObject({ rowsLoaded: 30_000, inserted: 30_000, updated: 0 });
    expect(await count()).toEqual({ n: 30_000, keys: 30_000, sum: 30_000 * 30_001 });
  });

  it('a malformed file fails as a whole and leaves the table as it was', async () => {
    const posts = target(POSTS);
    await store.put('raw/posts/good.csv', postsCsv(1, 100));
    await loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/good.csv', runId: 'r1' });
    const before = await count();
    // Valid rows first, then a ragged one deep in the file: nothing of the file may land.
    await store.put('raw/posts/ragged.csv', `${postsCsv(1, 3000, { factor: 5 })}facebook,p9,2026-01-01,1,2,3\n`);
    const err = await loadError(loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/ragged.csv', runId: 'r2' }));
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/ragged\.csv, line 3002: the row has 6 fields but the header has 5/);
    expect(await count()).toEqual(before);
    const missing = await loadError(loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/nothing.csv', runId: 'r3' }));
    expect(missing.code).toBe('NOT_FOUND');
    await store.put('raw/posts/nohead.csv', 'platform,Date\nfacebook,2026-01-01\n');
    const header = await loadError(loadObject({ warehouse, store }, { target: posts, key: 'raw/posts/nohead.csv', runId: 'r4' }));
    expect(header.code).toBe('INPUT_INVALID');
    expect(header.message).toMatch(/nohead\.csv, line 1: the header has no "Post ID" \(column post_id\), which is required/);
  });
});
