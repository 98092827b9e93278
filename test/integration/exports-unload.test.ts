/**
 * Big CSV exports on Redshift are written by the warehouse itself (UNLOAD to S3), not streamed through
 * the process. Nothing here talks to Amazon Redshift: the Redshift adapter's PostgreSQL engine runs the
 * very SELECT that UNLOAD would write — values rendered as literals, since neither UNLOAD nor COPY … TO
 * takes bind parameters — as `COPY (…) TO STDOUT` into the same object key, with the same manifest, on a
 * real PostgreSQL and a real S3-compatible server. The file is compared with the streamed export of the
 * same question, value for value; text a spreadsheet would run is inert in both; client strings full of
 * quotes, backslashes and SQL reach the warehouse only as literals and come back unchanged.
 */
import { randomUUID } from 'node:crypto';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK_PRINCIPAL } from '../../src/auth/principal.js';
import { ExportService } from '../../src/exports/export-service.js';
import { JobStore } from '../../src/jobs/job-store.js';
import type { JobContext } from '../../src/jobs/port.js';
import { assertValidProject } from '../../src/semantic/load.js';
import { ServingLayer } from '../../src/serving/serving.js';
import type { SemanticQueryInput } from '../../src/serving/types.js';
import { openS3ObjectStore } from '../../src/storage/s3/s3-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { SqlValue, Warehouse } from '../../src/warehouse/port.js';
import { GOOD_POST_DAILY } from './semantic-reference.js';
import { inlineParams } from '../../src/warehouse/redshift/statements.js';
import { testS3 } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = join(here, '../fixtures/semantic/good');


/** Account ids a client could send as filter values: quotes, backslashes, SQL, placeholders, formulas. */
const EVIL = [
  "o'brien",
  "x'); DROP TABLE social.post_daily; --",
  'back\\slash\\',
  "\\'; SELECT 1; --",
  '$1 and $2',
  '=HYPERLINK("http://evil.example/","click")',
  '-5 + 3',
  'comma, "quote"\nnewline',
  'Zürich café',
];

describe('exports unloaded by the warehouse (Redshift adapter, PostgreSQL engine)', () => {
  let warehouse: Warehouse & { url?: string };
  let store: ObjectStore;
  let jobs: JobStore;
  let serving: ServingLayer;

  beforeAll(async () => {
    warehouse = await freshWarehouse('redshift');
    // The exports' object store is the one the adapter stages in (as in production: SEXTANT_OBJECT_STORE).
    const { endpoint, bucket } = testS3();
    const database = new URL(warehouse.url!).pathname.slice(1);
    store = await openS3ObjectStore({ bucket, prefix: `redshift-${database}`, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, forcePathStyle: true });
    jobs = new JobStore(warehouse);
    await jobs.init();
    await warehouse.ensureTable(GOOD_POST_DAILY);
    const rows: SqlValue[][] = [];
    for (let d = 0; d < 20; d++) {
      const day = new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10);
      EVIL.forEach((account, i) =>
        rows.push(['facebook', `p${d}-${i}`, day, `${day} 10:00:00`, account, i % 2 ? 'photo' : null, i % 3 === 0, 30, 100 * d + i, d, i, 1, 1.5]),
      );
      rows.push(['x', `q${d}`, day, null, 'plain', 'video', null, 30, 7, 0, 0, 0, 0]);
    }
    await warehouse.merge({ spec: GOOD_POST_DAILY, columns: GOOD_POST_DAILY.columns.map((c) => c.name), rows });
    serving = new ServingLayer({ project: await assertValidProject(GOOD), warehouse, limits: { defaultRows: 100, maxRows: 1000 }, cache: undefined });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await warehouse?.close();
  });

  const exportsWith = (unloadMinRows: number) =>
    new ExportService({
      serving,
      store,
      jobs,
      queue: { enqueue: async () => undefined },
      keys: { list: async () => [], countCached: async () => 0 },
      publicBaseUrl: 'http://sextant.test',
      unloadMinRows,
    });

  async function runExport(service: ExportService, input: SemanticQueryInput): Promise<{ result: Record<string, unknown>; text: string }> {
    const id = randomUUID();
    const ctx: JobContext = { id, type: 'EXPORT', payload: { team: 'social', createdBy: null, format: 'csv', input }, attempt: 1, signal: new AbortController().signal, progress: async () => undefined };
    const result = await service.handleExportJob(ctx);
    const chunks: Buffer[] = [];
    for await (const c of await store.get(String(result.resultKey))) chunks.push(c as Buffer);
    return { result, text: Buffer.concat(chunks).toString('utf8') };
  }

  const QUESTION: SemanticQueryInput = {
    model: 'social.post_performance',
    measures: ['impressions', 'engagement_rate', 'posts'],
    dimensions: [{ name: 'account_id' }, { name: 'post_type' }, { name: 'is_paid' }, { name: 'metric_date', grain: 'week' }, { name: 'posted_at', grain: 'hour' }],
    filters: [
      { member: 'account_id', operator: 'IN', values: [...EVIL, 'plain'] },
      { member: 'account_id', operator: 'NOT_EQUALS', values: ["nobody' OR '1'='1"] },
      { member: 'impressions', operator: 'GT', values: [-5] },
    ],
    orderBy: [{ member: 'impressions', direction: 'DESC' }],
  };

  it('past the threshold, writes the same file as the streamed export (values, order, header, inert text), by COPY … TO as UNLOAD would', async () => {
    const unloaded = await runExport(exportsWith(1), QUESTION);
    const streamed = await runExport(exportsWith(0), QUESTION);

    expect(unloaded.result).toMatchObject({ unloaded: true, files: [expect.stringMatching(/^exports\/social\/[0-9a-f-]{36}\/post_performance_000\.csv$/)] });
    expect(unloaded.result.resultKey).toBe((unloaded.result.files as string[])[0]);
    expect(streamed.result.unloaded).toBeUndefined();
    expect(String(streamed.result.resultKey)).toMatch(/post_performance\.csv$/);
    // The manifest beside the file, in UNLOAD's MANIFEST VERBOSE shape.
    const manifestKey = String(unloaded.result.resultKey).replace(/000\.csv$/, 'manifest');
    const chunks: Buffer[] = [];
    for await (const c of await store.get(manifestKey)) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8')).entries[0].meta.record_count).toBe(unloaded.result.rowsRead);

    const records = (text: string) => parse(text.replace(/^\uFEFF/, ''), { relax_column_count: false }) as string[][];
    const a = records(unloaded.text);
    const b = records(streamed.text);
    expect(a[0]).toEqual(['account_id', 'post_type', 'is_paid', 'metric_date (week)', 'posted_at (hour)', 'impressions', 'engagement_rate', 'posts']);
    expect(a).toEqual(b);
    expect(unloaded.result.rowsRead).toBe(streamed.result.rowsRead);
    expect(a.length - 1).toBe(streamed.result.rowsRead);
    expect(a.length).toBeGreaterThan(EVIL.length * 3);

    // Every client string came back as the value it was, formula-like text inert: nothing was executed.
    const accounts = new Set(a.slice(1).map((r) => r[0]));
    for (const e of EVIL) expect(accounts.has(e.startsWith('=') || e.startsWith('-') ? `'${e}` : e), e).toBe(true);
    expect(await warehouse.query('SELECT count(*) AS n FROM social.post_daily')).toEqual([{ n: 20 * (EVIL.length + 1) }]);
  }, 120_000);

  it('below the threshold, and for XLSX, streams as before', async () => {
    const small = await runExport(exportsWith(1_000_000), QUESTION);
    expect(small.result.unloaded).toBeUndefined();
    expect(small.text.startsWith('\uFEFF')).toBe(true);
  }, 60_000);

  it('renders client values as literals that PostgreSQL reads back unchanged (no bind parameters)', async () => {
    const values = [...EVIL, '', "''", '\\\\', -0.5, 42, 12345678901234567890n, true, false, null];
    const sql = `SELECT ${values.map((_, i) => `$${i + 1} AS "v${i}"`).join(', ')}, '$1 stays text' AS "t" -- $1 in a comment\n`;
    const inlined = inlineParams(sql, values, 'postgres');
    expect(inlined).not.toMatch(/\$\d+ AS/);
    const [row] = await warehouse.query(inlined);
    values.forEach((v, i) => {
      const got = row[`v${i}`];
      expect(typeof v === 'bigint' ? String(got) : got, `value ${i}`).toEqual(typeof v === 'bigint' ? v.toString() : v);
    });
    expect(row.t).toBe('$1 stays text');
  });
});
