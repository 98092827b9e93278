/**
 * The example project's targets load without a problem, and every upload sample in
 * examples/agency/samples/ loads into its target (the file name before the extension) on both dialects.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadObject } from '../../src/ingest/loader.js';
import { loadTargets, type Target } from '../../src/ingest/targets.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const SAMPLES = join(EXAMPLE_PROJECT, 'samples');

/** Records in a sample, counted independently of the parsers. */
function expectedRecords(name: string, text: string): number {
  if (name.endsWith('.json')) return (JSON.parse(text) as unknown[]).length;
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return name.endsWith('.ndjson') ? lines.length : lines.length - 1;
}

describe('example project targets', () => {
  it('load without problems', async () => {
    const { targets, problems } = await loadTargets(EXAMPLE_PROJECT);
    expect(problems).toEqual([]);
    expect(targets.size).toBeGreaterThan(0);
  });
});

describe.each(DIALECTS)('example upload samples on %s', (dialect) => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let targets: Map<string, Target>;

  beforeAll(async () => {
    warehouse = await freshWarehouse(dialect);
    dir = await mkdtemp(join(tmpdir(), 'sextant-samples-'));
    store = await openFileObjectStore(dir);
    targets = (await loadTargets(EXAMPLE_PROJECT)).targets;
  });
  afterAll(async () => {
    await warehouse.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every sample into its target with no rejected row', async () => {
    const files = (await readdir(SAMPLES)).sort();
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const targetName = name.replace(/\.[^.]+$/, '');
      const target = targets.get(targetName);
      expect(target, `a target for ${name}`).toBeDefined();
      const text = await readFile(join(SAMPLES, name), 'utf8');
      const key = `raw/${targetName}/sample/${name}`;
      await store.put(key, text);
      const result = await loadObject({ warehouse, store }, { target: target!, key, runId: `sample-${name}` });
      expect({ name, rejected: result.rowsRejected, errors: result.errors }).toEqual({ name, rejected: 0, errors: [] });
      expect(result.rowsRead).toBe(expectedRecords(name, text));
      const [{ n }] = await warehouse.query(`SELECT count(*) AS n FROM ${warehouse.dialect.quoteTable(target!.table)} WHERE _source_object = $1`, [key]);
      expect(Number(n)).toBe(result.rowsLoaded);
    }
  });
});
