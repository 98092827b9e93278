/**
 * An XLSX upload and the same data as CSV leave identical tables (DuckDB and PostgreSQL), through the
 * upload flow (createUpload → PUT → completeUpload → job) that refused workbooks before; a target's
 * `sheet:` picks the sheet; a bad header fails the job with the cell named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { IngestService } from '../../src/ingest/ingest-service.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const TARGET = (table: string, extra = '') => `
table: ${table}
key: [platform, post_id, metric_date]
columns:
  platform:    { type: string, required: true }
  post_id:     { type: string, required: true, from: "Post ID" }
  metric_date: { type: date, required: true, from: "Date" }
  posted_at:   { type: timestamp, from: "Posted at" }
  impressions: { type: integer, default: 0 }
  spend:       { type: decimal }
  rate:        { type: double }
  paid:        { type: boolean }
  note:        { type: string }
${extra}`;

function target(name: string, yaml: string): Target {
  const problems = new ProblemCollector();
  const t = parseTarget(name, `targets/${name}.yml`, yaml, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

/** The data: every type, an empty cell, text that looks like a number, a quote and a comma. */
const ROWS: Array<[string, string, Date, Date | null, number | null, number, number, boolean, string | null]> = [
  ['facebook', '0012', new Date(Date.UTC(2026, 0, 31)), new Date(Date.UTC(2026, 0, 31, 9, 30)), 1200, 12.5, 0.125, true, 'a "quoted", note'],
  ['instagram', 'p2', new Date(Date.UTC(2026, 1, 1)), null, null, 0.1, 1 / 3, false, null],
  ['x', 'p3', new Date(Date.UTC(2024, 1, 29)), new Date(Date.UTC(2024, 1, 29, 23, 59, 59)), 0, 1234567.89, -2.5e-7, true, 'ünïcødé ☃'],
];
const HEADER = ['platform', 'Post ID', 'Date', 'Posted at', 'impressions', 'spend', 'rate', 'paid', 'note'];

function csvOf(): string {
  const field = (v: unknown): string => {
    if (v === null) return '';
    if (v instanceof Date) return v.getUTCHours() || v.getUTCMinutes() || v.getUTCSeconds() ? v.toISOString().replace('T', ' ').replace('.000Z', '') : v.toISOString().slice(0, 10);
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [HEADER.join(','), ...ROWS.map((r) => r.map(field).join(','))].join('\n') + '\n';
}

async function xlsxOf(sheetName = 'Posts', before: string[] = []): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const name of before) wb.addWorksheet(name).addRow(['not', 'this']);
  const ws = wb.addWorksheet(sheetName);
  ws.addRow(HEADER).font = { bold: true };
  for (const r of ROWS) {
    const row = ws.addRow(r.map((v) => (v === null ? undefined : v)));
    row.getCell(2).value = r[1]; // text, kept as text even though it looks like a number
    row.getCell(3).numFmt = 'yyyy-mm-dd';
    row.getCell(4).numFmt = 'yyyy-mm-dd hh:mm:ss';
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
async function finished(jobs: JobStore, id: string): Promise<JobRecord> {
  for (let i = 0; i < 3000; i++) {
    const job = await jobs.get(id);
    if (job && FINAL.has(job.status)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} did not finish`);
}

describe.each(DIALECTS)('XLSX uploads on %s', (dialect) => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let jobs: JobStore;
  let queue: LocalJobQueue;
  let service: IngestService;

  beforeEach(async () => {
    warehouse = await freshWarehouse(dialect);
    dir = await mkdtemp(join(tmpdir(), 'sextant-xlsx-'));
    store = await openFileObjectStore(join(dir, 'objects'));
    jobs = new JobStore(warehouse);
    await jobs.init();
    queue = new LocalJobQueue({ store: jobs });
    const targets = [
      target('from_csv', TARGET('social.from_csv')),
      target('from_xlsx', TARGET('social.from_xlsx')),
      target('from_sheet', TARGET('social.from_sheet', 'sheet: Data')),
    ];
    service = new IngestService({
      warehouse,
      store,
      jobs,
      queue,
      targets: new Map(targets.map((t) => [t.name, t])),
      maxUploadBytes: 10 * 1024 * 1024,
      signingSecret: 'test-secret',
      publicBaseUrl: 'http://sextant.test/',
    });
    queue.handle('INGEST_FILE', service.handleIngestJob);
    await queue.start({ concurrency: 1 });
  });
  afterEach(async () => {
    await queue.close(1000);
    await warehouse.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function upload(targetName: string, filename: string, bytes: Buffer): Promise<JobRecord> {
    const ticket = await service.createUpload({ target: targetName, filename });
    const url = new URL(ticket.uploadUrl);
    await service.receiveUpload({ id: ticket.id, sig: url.searchParams.get('sig')!, exp: url.searchParams.get('exp')!, body: Readable.from([bytes]) });
    return finished(jobs, (await service.completeUpload(ticket.id)).id);
  }

  const contents = (table: string) =>
    warehouse.query(`SELECT platform, post_id, metric_date, posted_at, impressions, spend, rate, paid, note FROM ${table} ORDER BY platform, post_id, metric_date`);

  it('leaves the same table as the same data uploaded as CSV', async () => {
    const csv = await upload('from_csv', 'posts.csv', Buffer.from(csvOf()));
    const xlsx = await upload('from_xlsx', 'posts.xlsx', await xlsxOf());
    expect(csv).toMatchObject({ status: 'SUCCEEDED', rowsLoaded: 3 });
    expect(xlsx).toMatchObject({ status: 'SUCCEEDED', rowsRead: 3, rowsLoaded: 3, rowsRejected: 0 });
    const fromCsv = await contents('social.from_csv');
    expect(fromCsv).toHaveLength(3);
    expect(await contents('social.from_xlsx')).toEqual(fromCsv);
    expect(fromCsv[0]).toMatchObject({ platform: 'facebook', post_id: '0012', metric_date: '2026-01-31', impressions: 1200, paid: true, note: 'a "quoted", note' });
    // The raw workbook is kept like any upload.
    expect(xlsx.rawObjects[0]).toMatch(/\/posts\.xlsx$/);
    expect((await store.head(xlsx.rawObjects[0]))?.size).toBeGreaterThan(1000);
  });

  it('reads the sheet the target names; a workbook without it fails the job saying which sheets exist', async () => {
    const ok = await upload('from_sheet', 'book.xlsx', await xlsxOf('Data', ['Summary']));
    expect(ok.status).toBe('SUCCEEDED');
    expect(await contents('social.from_sheet')).toHaveLength(3);
    const bad = await upload('from_sheet', 'other.xlsx', await xlsxOf('Posts'));
    expect(bad.status).toBe('FAILED');
    expect(bad.errors[0].message).toMatch(/the workbook has no sheet named "Data"; its sheets: "Posts"/);
  });

  it('fails a workbook whose required column is missing, naming the header row', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Posts');
    ws.addRow(['platform', 'Date']);
    ws.addRow(['facebook', '2026-01-01']);
    const job = await upload('from_xlsx', 'short.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    expect(job.status).toBe('FAILED');
    expect(job.errors[0]).toMatchObject({ line: 1, message: expect.stringContaining('the header has no "Post ID" (column post_id), which is required') });
    expect(await contents('social.from_xlsx')).toEqual([]);
  });
});
