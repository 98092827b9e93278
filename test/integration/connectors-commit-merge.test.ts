/**
 * Records of one key met twice before a commit: windows are committed together (every 5 s), so two
 * pages of one commit may carry the same key — a re-pulled window, an API answering one object in two
 * requests with different fields. The later record wins column by column (a column it does not carry
 * keeps the earlier record's value, and one no record of the commit carries keeps the table's), and
 * `rowsLoaded` counts each window's distinct keys however the windows were grouped into commits.
 * A type defined here serves the pages from memory, so the test controls exactly what each page holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { parseSource } from '../../src/ingest/connectors/source-file.js';
import { runSourceJob } from '../../src/ingest/connectors/source-runner.js';
import type { ConnectorType, SourcePage } from '../../src/ingest/connectors/types.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, target, type Harness } from './connector-harness.js';

const metrics = target(
  'item_daily',
  `
table: shop.item_daily
key: [item_id, day]
columns:
  item_id: { type: string, required: true }
  day:     { type: date, required: true }
  views:   { type: integer }
  clicks:  { type: integer }
  note:    { type: string }
`,
);

/** Each window's pages, by the window's first day: what the type serves. */
type Pages = Record<string, Array<Array<Record<string, unknown>>>>;

function typeServing(pages: Pages, onPull?: (from: string) => void): ConnectorType {
  return {
    name: 'memory',
    description: 'pages from memory (test)',
    mode: 'window',
    maxWindowDays: 1,
    credentials: [],
    streams: { items: { description: 'items', key: ['item_id', 'day'] } },
    parseSettings: () => ({}),
    async *pull(_ctx, window): AsyncGenerator<SourcePage> {
      onPull?.(window.from);
      for (const records of pages[window.from] ?? []) yield { stream: 'items', body: JSON.stringify(records), records: () => records.map((r) => ({ ...r })) };
    },
  } as ConnectorType;
}

describe.each(DIALECTS)('records of one key within a commit (%s)', (dialect) => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness(dialect, { targets: [metrics] });
  });
  afterEach(async () => {
    await h?.close();
  });

  async function run(pages: Pages, from: string, to: string, commitEveryMs: number, onPull?: (from: string) => void) {
    const types = new Map([...CONNECTOR_TYPES, ['memory', typeServing(pages, onPull)]]);
    const problems = new ProblemCollector();
    const src = parseSource('mem', 'sources/mem.yml', `type: memory\nstart_date: ${from}\nstreams:\n  items: item_daily\n`, types, h.targets, problems)!;
    problems.throwIfAny('MODEL_INVALID', 'sources/mem.yml');
    const job = await h.jobs.create({ type: 'RUN_SOURCE', payload: { source: 'mem', from, to }, source: 'mem' });
    return runSourceJob(
      { warehouse: h.warehouse, store: h.store, jobs: h.jobs, state: h.state, targets: h.targets, sources: new Map([['mem', src]]), types, log: h.log, now: () => new Date('2026-03-10T06:00:00Z'), commitEveryMs },
      { id: job.id, payload: job.payload, signal: new AbortController().signal, progress: async () => undefined },
    );
  }

  it('the later record wins column by column; columns no record carries keep the table’s value; rowsLoaded counts per window', async () => {
    // A row an earlier run loaded, with a note another writer added.
    await run({ '2026-03-01': [[{ item_id: 'a', day: '2026-03-01', views: 1, clicks: 1 }]] }, '2026-03-01', '2026-03-01', 0);
    await h.warehouse.execute(`UPDATE shop.item_daily SET note = 'kept'`);

    const pages: Pages = {
      '2026-03-01': [
        [{ item_id: 'a', day: '2026-03-01', views: 10 }, { item_id: 'b', day: '2026-03-01', views: 5 }],
        // The same keys again: `a` with both columns, `b` with clicks only.
        [{ item_id: 'a', day: '2026-03-01', views: 11, clicks: 20 }, { item_id: 'b', day: '2026-03-01', clicks: 7 }],
      ],
      // The next window, in the same commit (a long commitEveryMs): `a` of 1 March once more, views only.
      '2026-03-02': [[{ item_id: 'a', day: '2026-03-01', views: 12 }, { item_id: 'a', day: '2026-03-02', views: 3 }]],
    };
    const result = await run(pages, '2026-03-01', '2026-03-02', 3_600_000);

    expect(await h.rows(`SELECT item_id, CAST(day AS VARCHAR) AS day, views, clicks, note FROM shop.item_daily ORDER BY item_id, day`)).toEqual([
      { item_id: 'a', day: '2026-03-01', views: 12, clicks: 20, note: 'kept' },
      { item_id: 'a', day: '2026-03-02', views: 3, clicks: null, note: null },
      { item_id: 'b', day: '2026-03-01', views: 5, clicks: 7, note: null },
    ]);
    // Window 1: a and b (2 keys, 4 records); window 2: a of 1 March and a of 2 March (2 keys).
    expect(result).toMatchObject({ windows: 2, rowsRead: 6, rowsLoaded: 4, lastCompleteDay: '2026-03-02' });

    // Committed window by window instead, the table and the counts are the same.
    await h.warehouse.execute(`DELETE FROM shop.item_daily`);
    const each = await run(pages, '2026-03-01', '2026-03-02', 0);
    expect(each).toMatchObject({ windows: 2, rowsRead: 6, rowsLoaded: 4 });
    expect(await h.rows(`SELECT item_id, CAST(day AS VARCHAR) AS day, views, clicks FROM shop.item_daily ORDER BY item_id, day`)).toEqual([
      { item_id: 'a', day: '2026-03-01', views: 12, clicks: 20 },
      { item_id: 'a', day: '2026-03-02', views: 3, clicks: null },
      { item_id: 'b', day: '2026-03-01', views: 5, clicks: 7 },
    ]);
  });

  it('a commit due while the previous one still runs does not stop the pull: the next windows are pulled meanwhile and committed after', async () => {
    const days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'];
    const pages: Pages = Object.fromEntries(days.map((d, i) => [d, [[{ item_id: 'a', day: d, views: i + 1 }]]]));
    // The first commit's merge is held until the third window has been pulled: a run that waited for
    // that commit before pulling on would never get there (and this test would time out).
    let thirdPulled!: () => void;
    const third = new Promise<void>((r) => (thirdPulled = r));
    const merge = h.warehouse.merge.bind(h.warehouse);
    let merges = 0;
    h.warehouse.merge = async (input) => {
      if (++merges === 1) await third;
      return merge(input);
    };
    const pulled: string[] = [];
    // commitEveryMs 0: a commit is due after every window.
    const result = await run(pages, days[0], days[3], 0, (from) => {
      pulled.push(from);
      if (from === days[2]) thirdPulled();
    });
    expect(pulled).toEqual(days);
    expect(result).toMatchObject({ windows: 4, rowsLoaded: 4, lastCompleteDay: days[3] });
    expect(await h.rows(`SELECT CAST(day AS VARCHAR) AS day, views FROM shop.item_daily ORDER BY day`)).toEqual(days.map((d, i) => ({ day: d, views: i + 1 })));
    expect((await h.state.get('mem'))?.lastCompleteDay).toBe(days[3]);
  });
});
