/**
 * The sample uploads of the example project load, through the real loader, into the tables the demo
 * generator created — so the demo tables and the upload contracts agree in the database, not only on paper.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { generateDemo } from '../../src/demo/generate.js';
import { loadObject } from '../../src/ingest/loader.js';
import { loadTargets, type Target } from '../../src/ingest/targets.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

describe.each(DIALECTS)('agency samples into the demo tables on %s', (dialect) => {
  let w: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let targets: Map<string, Target>;

  beforeAll(async () => {
    w = await freshWarehouse(dialect);
    await generateDemo(w, { rows: 2_000, seed: 5 });
    dir = await mkdtemp(join(tmpdir(), 'sextant-demo-samples-'));
    store = await openFileObjectStore(dir);
    targets = (await loadTargets(EXAMPLE_PROJECT)).targets;
  }, 300_000);
  afterAll(async () => {
    await w?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads every sample without a rejected row or a new column, and loading it again changes nothing', async () => {
    const samples = join(EXAMPLE_PROJECT, 'samples');
    for (const file of (await readdir(samples)).sort()) {
      const target = targets.get(file.replace(/\.[a-z]+$/, ''))!;
      const table = w.dialect.quoteTable(target.table);
      const columnsBefore = await w.describeTable(target.table);
      const [before] = await w.query(`SELECT count(*) AS n FROM ${table}`);
      const key = `raw/${target.name}/${file}`;
      await store.put(key, await readFile(join(samples, file)));

      const first = await loadObject({ warehouse: w, store }, { target, key, runId: `sample-${file}` });
      expect(first.rowsRejected, file).toBe(0);
      expect(first.rowsLoaded, file).toBeGreaterThan(2);
      expect(first.addedColumns, file).toEqual([]);
      expect(await w.describeTable(target.table)).toEqual(columnsBefore);
      const [after] = await w.query(`SELECT count(*) AS n FROM ${table}`);
      expect(Number(after.n) - Number(before.n), file).toBe(first.inserted);

      const again = await loadObject({ warehouse: w, store }, { target, key, runId: `sample-again-${file}` });
      expect(again.inserted, file).toBe(0);
      const [still] = await w.query(`SELECT count(*) AS n FROM ${table}`);
      expect(Number(still.n), file).toBe(Number(after.n));
    }
    // The nested object of the JSON array sample is kept whole in the json column.
    const [clip] = await w.query(`SELECT CAST(details AS VARCHAR) AS details FROM listening.manual_mentions WHERE outlet = 'Morning Show' AND metric_date = CAST('2026-03-09' AS DATE)`);
    expect(JSON.parse(String(clip.details))).toMatchObject({ section: 'Lifestyle' });
  });
});
