/**
 * The CSV fast path on real PostgreSQL (docs/targets.md, "Large files"): the same tricky files loaded through
 * `loadCsv` and through the Node path (the same warehouse without `loadCsv`) leave identical tables — into an
 * empty target and into one with overlapping keys, duplicates in the file included; a declined file still
 * gets the Node path's line-numbered error; a rollup is refreshed by a fast-path load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { loadObject } from '../../src/ingest/loader.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import { Rollups } from '../../src/rollups/rollups.js';
import { withRollups } from '../../src/rollups/rollup-warehouse.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { CsvLoadInput, MergeResult, Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse } from '../support/warehouses.js';

const TARGET = `
table: social.metrics
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  posted_at:   { type: timestamp }
  impressions: { type: integer, default: 0 }
  reach:       { type: bigint }
  spend:       { type: decimal }
  ctr:         { type: double }
  boosted:     { type: boolean }
  caption:     { type: string }
`;

function target(yaml: string, name: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

const HEADER = 'platform,Post ID,Date,posted_at,impressions,reach,spend,ctr,boosted,caption';
/** BOM, CRLF, quoted delimiters, doubled quotes, line breaks in values, empty = NULL, empty lines, a row of empty values, a duplicate key (the last wins). */
const TRICKY = `\uFEFF${HEADER}\r
facebook,p1,2026-01-01,2026-01-01T10:00:00Z,10,9007199254740993,12.3456,0.25,true,"Hello, ""world"""\r
facebook,p2,2026-01-01,2026-01-01 11:30,20,,,,FALSE,"two\r
lines"\r
\r
,,,,,,,,,\r
x,"p3",2026-01-02,,30,5,-0.5,-1.5,yes,  padded  \r
facebook,p1,2026-01-01,2026-01-01T10:00:00.123,11,1,1,1,0,again\r
`;
/** Overlaps TRICKY on p2 and p3 (updates) and adds p4; p4 twice. */
const OVERLAP = `${HEADER}
x,p3,2026-01-02,2026-01-02T00:00,31,6,0.0001,2.5,no,updated
instagram,p4,2026-01-03,,40,,,,,first
facebook,p2,2026-01-01,,21,,,,1,
instagram,p4,2026-01-03,,41,,,,,second
`;

/** The warehouse, with what its loadCsv answered on each call. */
function spied(warehouse: Warehouse): { warehouse: Warehouse; answers: Array<MergeResult | undefined> } {
  const answers: Array<MergeResult | undefined> = [];
  const loadCsv = warehouse.loadCsv!.bind(warehouse);
  return {
    answers,
    warehouse: {
      ...warehouse,
      loadCsv: async (input: CsvLoadInput) => {
        const result = await loadCsv(input);
        answers.push(result);
        return result;
      },
    },
  };
}

/** The same warehouse without loadCsv: the Node path. */
function nodePath(warehouse: Warehouse): Warehouse {
  const { loadCsv: _omitted, ...rest } = warehouse;
  return rest as Warehouse;
}

describe('the CSV fast path on PostgreSQL', () => {
  let fastDb: Warehouse;
  let nodeDb: Warehouse;
  let dir: string;
  let store: ObjectStore;
  const metrics = target(TARGET, 'social_metrics');

  beforeAll(async () => {
    fastDb = await freshWarehouse('postgres');
    nodeDb = await freshWarehouse('postgres');
    dir = await mkdtemp(join(tmpdir(), 'sextant-fast-path-'));
    store = await openFileObjectStore(dir);
  }, 60_000);
  afterAll(async () => {
    await fastDb?.close();
    await nodeDb?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function put(key: string, text: string): Promise<string> {
    await store.put(key, Buffer.from(text));
    return key;
  }

  /** Every row of the table but `_loaded_at` (the time of each load), in key order. */
  async function contents(warehouse: Warehouse, table: string): Promise<unknown[]> {
    const rows = await warehouse.query(`select * from ${warehouse.dialect.quoteTable(table)} order by platform, post_id, metric_date`);
    return rows.map(({ _loaded_at: _t, ...rest }) => JSON.parse(JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))));
  }

  /** Loads `key` both ways; answers what loadCsv answered. */
  async function loadBoth(t: Target, key: string, runId: string): Promise<Array<MergeResult | undefined>> {
    const fast = spied(fastDb);
    const viaFast = await loadObject({ warehouse: fast.warehouse, store }, { target: t, key, runId });
    const viaNode = await loadObject({ warehouse: nodePath(nodeDb), store }, { target: t, key, runId });
    // The same result, but for the note that the bulk reader declined the file (only the fast side was offered it).
    const { bulkReaderDeclined, ...result } = viaFast;
    expect(result).toEqual(viaNode);
    expect(bulkReaderDeclined === undefined).toBe(fast.answers[0] !== undefined || fast.answers.length === 0);
    return fast.answers;
  }

  it('into an empty target, then one with overlapping keys: the same table as the Node path, duplicates and all', async () => {
    const first = await loadBoth(metrics, await put('uploads/tricky.csv', TRICKY), 'run-1');
    expect(first).toEqual([{ rowsStaged: 3, inserted: 3, updated: 0 }]);
    expect(await contents(fastDb, metrics.table)).toEqual(await contents(nodeDb, metrics.table));
    const [p1] = await contents(fastDb, metrics.table);
    expect(p1).toMatchObject({ post_id: 'p1', impressions: 11, reach: 1, caption: 'again', boosted: false, posted_at: '2026-01-01T10:00:00.123Z' });

    const second = await loadBoth(metrics, await put('uploads/overlap.csv', OVERLAP), 'run-2');
    expect(second).toEqual([{ rowsStaged: 3, inserted: 1, updated: 2 }]);
    const rows = await contents(fastDb, metrics.table);
    expect(rows).toEqual(await contents(nodeDb, metrics.table));
    expect(rows.map((r) => (r as { caption: string | null }).caption)).toEqual(['again', null, 'second', 'updated']);
  });

  it('a value COPY would read otherwise is declined: the Node path loads it (here: an offset and a padded number)', async () => {
    const text = `${HEADER}\ninstagram,p9,2026-01-09,2026-01-09T10:00:00+02:00, 5 ,,,,,\n`;
    const answers = await loadBoth(metrics, await put('uploads/offset.csv', text), 'run-3');
    expect(answers).toEqual([undefined]);
    expect(await contents(fastDb, metrics.table)).toEqual(await contents(nodeDb, metrics.table));
  });

  it('a declined file still gets the Node path\'s line-numbered error, and the table is as it was', async () => {
    const before = await contents(fastDb, metrics.table);
    const lines = [HEADER, ...Array.from({ length: 5 }, (_, i) => `x,q${i},2026-02-01,,${i === 3 ? 'abc' : i},,,,,`)];
    const fast = spied(fastDb);
    const err = await loadObject({ warehouse: fast.warehouse, store }, { target: metrics, key: await put('uploads/bad.csv', lines.join('\n')), runId: 'run-4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/line 5, column impressions: expected integer, got "abc"/);
    expect(fast.answers).toEqual([undefined]);
    expect(await contents(fastDb, metrics.table)).toEqual(before);
  });

  it('a header that does not map one to one, or a column left to its default, goes the Node way without asking', async () => {
    const fast = spied(fastDb);
    const unknown = `${HEADER},extra\nx,r1,2026-03-01,,1,,,,,,e\n`;
    const noImpressions = 'platform,Post ID,Date\nx,r2,2026-03-01\n';
    for (const [key, text] of [['uploads/unknown.csv', unknown], ['uploads/default.csv', noImpressions]]) {
      await loadObject({ warehouse: fast.warehouse, store }, { target: metrics, key: await put(key, text), runId: 'run-5' });
    }
    expect(fast.answers).toEqual([]);
    const [r2] = await fastDb.query(`select impressions from social.metrics where post_id = 'r2'`);
    expect(r2.impressions).toBe(0);
  });
});

describe('a fast-path load refreshes the rollups over its table', () => {
  let raw: Warehouse;
  let dir: string;
  let store: ObjectStore;
  let project: SemanticProject;

  beforeAll(async () => {
    const loaded = await loadSemanticProject(join(import.meta.dirname, '../fixtures/rollups'));
    project = loaded.project as SemanticProject;
    raw = await freshWarehouse('postgres');
    dir = await mkdtemp(join(tmpdir(), 'sextant-fast-rollup-'));
    store = await openFileObjectStore(dir);
  }, 60_000);
  afterAll(async () => {
    await raw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the rollup answers the new base table at once, whether the target was empty or not', async () => {
    const posts = target(
      `
table: social.posts
key: [post_id, metric_date]
columns:
  post_id:     { type: string, required: true }
  metric_date: { type: date, required: true }
  platform:    { type: string }
  post_type:   { type: string }
  account_id:  { type: string }
  impressions: { type: bigint }
  likes:       { type: integer }
  followers:   { type: bigint }
`,
      'social_posts',
    );
    const rollups = new Rollups(project);
    const fast = spied(raw);
    const wh = withRollups(fast.warehouse, rollups);
    await raw.ensureTable({ table: 'social.accounts', key: ['account_id'], columns: [{ name: 'account_id', type: 'string', required: true }, { name: 'region', type: 'string' }] });
    await raw.replaceTable({ spec: { table: 'reports.weekly', key: [], columns: [{ name: 'week', type: 'date' }, { name: 'platform', type: 'string' }, { name: 'impressions', type: 'bigint' }] }, rows: [] });
    await raw.ensureTable({ table: 'social.posts', key: ['post_id', 'metric_date'], columns: posts.columns.map((c) => ({ name: c.name, type: c.type, required: c.required })) });
    await rollups.start(raw, { build: true });
    const header = 'post_id,metric_date,platform,post_type,account_id,impressions,likes,followers';
    // Impressions by month, from the monthly rollup: the planner must pick it, and it must hold the new rows.
    const question: SemanticQuery = { model: 'social.posts', measures: ['impressions'], dimensions: [{ name: 'metric_date', grain: 'month' }], filters: [], orderBy: [], limit: 100, offset: 0 };
    const byMonth = async () => {
      const planned = planQuery(project, question, raw.dialect, { rollups: rollups.built });
      expect(planned.rollup).toBe('social.posts.monthly');
      return (await raw.query(planned.sql, planned.params)).map((r) => Number(r.impressions)).sort((a, b) => a - b);
    };
    const loads: Array<[string, string]> = [
      ['uploads/posts-1.csv', `${header}\na,2026-01-01,x,photo,a1,100,1,10\nb,2026-01-02,x,photo,a1,200,2,10\n`],
      ['uploads/posts-2.csv', `${header}\na,2026-01-01,x,photo,a1,150,1,10\nc,2026-02-01,x,video,a1,50,2,10\n`],
    ];
    const expected = [[300], [50, 350]];
    for (const [i, [key, text]] of loads.entries()) {
      await store.put(key, Buffer.from(text));
      const result = await loadObject({ warehouse: wh, store }, { target: posts, key, runId: `r${i}` });
      expect(result.rowsLoaded).toBe(2);
      expect(await byMonth()).toEqual(expected[i]);
    }
    expect(fast.answers).toEqual([{ rowsStaged: 2, inserted: 2, updated: 0 }, { rowsStaged: 2, inserted: 1, updated: 1 }]);
  });
});
