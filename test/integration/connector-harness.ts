/**
 * What the connector-type tests share: a fresh warehouse and object store, the example project's
 * targets, a source parsed from YAML exactly as `sources/<name>.yml` would be, and one RUN_SOURCE run
 * of it through the real runner (retries wait no real time), plus readers for the loaded table and the
 * raw pages. The tests themselves say what each type must do with its fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ProblemCollector, UserError } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { parseSource } from '../../src/ingest/connectors/source-file.js';
import { runSourceJob, type SourceRunResult } from '../../src/ingest/connectors/source-runner.js';
import { SourceStateStore } from '../../src/ingest/connectors/state-store.js';
import { loadTargets, type Target } from '../../src/ingest/targets.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { silentLogger } from '../../src/log.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { SqlValue, Warehouse } from '../../src/warehouse/port.js';
import { freshWarehouse, type TestDialect } from '../support/warehouses.js';

/** The run's clock: the day after the demo's last day, so "yesterday" is its last day. */
export const RUN_AT = new Date('2026-12-01T06:00:00Z');
const EXAMPLE = join(import.meta.dirname, '../../examples/agency');

/** A run's outcome and what the HTTP client waited for on the way. */
export interface RunOutcome {
  result: SourceRunResult;
  jobId: string;
}

export interface ConnectorHarness {
  warehouse: Warehouse;
  store: ObjectStore;
  targets: Map<string, Target>;
  /** Every wait before a retry, with its reason (throttling, 5xx, cut-off body). */
  waits: Array<{ stream: string; reason: string; waitMs: number }>;
  /** Runs the source `name` (its YAML) once over from…to with `env` as the environment. */
  run(name: string, yaml: string, window: { from: string; to: string }, env: Record<string, string>): Promise<RunOutcome>;
  /** The run's error (it must fail). */
  runError(name: string, yaml: string, window: { from: string; to: string }, env: Record<string, string>): Promise<UserError>;
  /** The rows of a target's table, values normalised by column type, as sorted JSON lines. */
  tableLines(targetName: string): Promise<string[]>;
  /** Rows (objects in the target's shape) normalised the same way, as sorted JSON lines. */
  expectedLines(targetName: string, rows: ReadonlyArray<Record<string, SqlValue | undefined>>): string[];
  /** Keys of the raw pages stored for a source. */
  rawKeys(source: string): Promise<string[]>;
  rawText(key: string): Promise<string>;
  close(): Promise<void>;
}

function normalise(type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'date':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10);
    case 'timestamp':
      return v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : new Date(`${String(v).replace(' ', 'T').replace(/(?<!Z|[+-]\d\d:?\d\d)$/, 'Z')}`).toISOString().slice(0, 19).replace('T', ' ');
    case 'integer':
    case 'bigint':
    case 'double':
    case 'decimal':
      return Number(v);
    case 'boolean':
      return v === true || v === 'true' || v === 1;
    default:
      return String(v);
  }
}

/** A fresh harness on `dialect`. */
export async function connectorHarness(dialect: TestDialect): Promise<ConnectorHarness> {
  const warehouse = await freshWarehouse(dialect);
  const dir = await mkdtemp(join(tmpdir(), 'sextant-connector-'));
  const store = await openFileObjectStore(dir);
  const jobs = new JobStore(warehouse);
  await jobs.init();
  const state = new SourceStateStore(warehouse);
  const { targets, problems } = await loadTargets(EXAMPLE);
  expect(problems).toEqual([]);
  const waits: ConnectorHarness['waits'] = [];

  const columnsOf = (targetName: string) => {
    const t = targets.get(targetName);
    if (!t) throw new Error(`no target ${targetName}`);
    return t;
  };
  const line = (t: Target, row: Record<string, unknown>): string => JSON.stringify(Object.fromEntries(t.columns.map((c) => [c.name, normalise(c.type, row[c.name])])));

  const run = async (name: string, yaml: string, window: { from: string; to: string }, env: Record<string, string>): Promise<RunOutcome> => {
    const collector = new ProblemCollector();
    const source = parseSource(name, `sources/${name}.yml`, yaml, CONNECTOR_TYPES, targets, collector);
    collector.throwIfAny('CONFIG_INVALID', `sources/${name}.yml`);
    const record = await jobs.create({ type: 'RUN_SOURCE', payload: { source: name, ...window }, source: name });
    const result = await runSourceJob(
      {
        warehouse,
        store,
        jobs,
        state,
        targets,
        sources: new Map([[name, source!]]),
        types: CONNECTOR_TYPES,
        log: silentLogger,
        env,
        http: { sleep: async () => undefined, baseBackoffMs: 1, onWait: (w) => waits.push(w) },
        now: () => RUN_AT,
      },
      { id: record.id, payload: record.payload, signal: new AbortController().signal, progress: async () => undefined },
    );
    return { result, jobId: record.id };
  };

  return {
    warehouse,
    store,
    targets,
    waits,
    run,
    async runError(name, yaml, window, env) {
      try {
        await run(name, yaml, window, env);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return err as UserError;
      }
      throw new Error('expected the run to fail');
    },
    async tableLines(targetName) {
      const t = columnsOf(targetName);
      const rows = await warehouse.query(`SELECT ${t.columns.map((c) => warehouse.dialect.quoteIdent(c.name)).join(', ')} FROM ${warehouse.dialect.quoteTable(t.table)}`);
      return rows.map((r) => line(t, r)).sort();
    },
    expectedLines(targetName, rows) {
      const t = columnsOf(targetName);
      return rows.map((r) => line(t, r)).sort();
    },
    async rawKeys(source) {
      const keys: string[] = [];
      for await (const o of store.list(`raw/${source}/`)) keys.push(o.key);
      return keys;
    },
    async rawText(key) {
      const chunks: Buffer[] = [];
      for await (const c of await store.get(key)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    async close() {
      await store.close();
      await warehouse.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
