/**
 * Reports end to end on DuckDB and PostgreSQL, with the in-process queue, a folder object store, a
 * local Slack webhook and a small Serving over the real warehouse: the file, the write-back with its
 * lineage (atomic while a reader loops), a model on the written table, Slack only when ready or failed
 * for good, relative date ranges resolved when the report runs, and cron schedules.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { parseReport, type Report } from '../../src/exports/report-file.js';
import { registerReportJobs, ReportService, type ReportServiceDeps } from '../../src/exports/report-service.js';
import { ensureWriteBackTables } from '../../src/exports/write-back.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { createLogger } from '../../src/log.js';
import { assertValidProject, checkModelColumns } from '../../src/semantic/load.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { SqlValue, Warehouse } from '../../src/warehouse/port.js';
import { GOOD_POST_DAILY } from './semantic-reference.js';
import { checkQuery } from '../../src/semantic/check-query.js';
import { fakeServing } from '../support/fake-serving.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';
import { startSlackWebhook, type SlackWebhook } from '../fakes/slack-webhook.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = join(here, '../fixtures/semantic/good');
/** A Wednesday: "last 12 weeks" is [2025-12-15, 2026-03-09). */
const NOW = new Date('2026-03-11T15:30:00Z');

const REPORT_YAML = (extra = '') => `
description: Weekly impressions per platform.
query:
  model: social.post_performance
  measures: [impressions, engagement_rate]
  dimensions: [{ name: metric_date, grain: week }, { name: platform }]
  filters: [{ member: metric_date, operator: IN_DATE_RANGE, values: ["last 12 weeks"] }]
format: xlsx
notify: slack
write_back: analysis.social_weekly
${extra}`;

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
async function finished(jobs: JobStore, id: string): Promise<JobRecord> {
  for (let i = 0; i < 1500; i++) {
    const job = await jobs.get(id);
    if (job && FINAL.has(job.status)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} did not finish`);
}

function report(semantic: SemanticProject, yaml: string, name = 'social_weekly'): Report {
  const problems = new ProblemCollector();
  const r = parseReport(name, `reports/${name}.yml`, yaml, semantic, (query) => checkQuery(semantic, query, NOW), problems);
  problems.throwIfAny('MODEL_INVALID', 'test report');
  return r!;
}

/** Posts: one row per platform and day from 2025-11-01 for `days` days, impressions = day index + base. */
async function loadPosts(warehouse: Warehouse, days: number, base: number): Promise<void> {
  await warehouse.execute('DROP TABLE IF EXISTS social.post_daily');
  await warehouse.ensureTable(GOOD_POST_DAILY);
  const rows: SqlValue[][] = [];
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.UTC(2025, 10, 1 + d)).toISOString().slice(0, 10);
    for (const platform of ['facebook', 'instagram', 'x']) rows.push([platform, `p${d}`, day, `${day} 10:00:00`, 'a1', 'photo', false, 30, base + d, 1, 1, 1, 1.5]);
  }
  await warehouse.merge({ spec: GOOD_POST_DAILY, columns: GOOD_POST_DAILY.columns.map((c) => c.name), rows });
}


describe.each(DIALECTS)('reports on %s', (dialect) => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let jobs: JobStore;
  let queue: LocalJobQueue;
  let slack: SlackWebhook;
  let semantic: SemanticProject;
  let changed: string[][];

  const deps = (reports: Report[], extra: Partial<ReportServiceDeps> = {}): ReportServiceDeps => ({
    reports: new Map(reports.map((r) => [r.name, r])),
    serving: fakeServing(semantic, warehouse, { now: () => NOW }),
    store,
    warehouse,
    jobs,
    queue,
    log: createLogger('error'),
    slackWebhookUrl: slack.url,
    downloadUrl: async (job) => `http://sextant.test/downloads/${job.id}?sig=abc`,
    onTablesChanged: (tables) => void changed.push(tables),
    now: () => NOW,
    ...extra,
  });

  beforeEach(async () => {
    warehouse = await freshWarehouse(dialect);
    dir = await mkdtemp(join(tmpdir(), 'sextant-reports-'));
    store = await openFileObjectStore(join(dir, 'objects'));
    jobs = new JobStore(warehouse);
    await jobs.init();
    queue = new LocalJobQueue({ store: jobs });
    slack = await startSlackWebhook();
    semantic = await assertValidProject(GOOD);
    changed = [];
    await loadPosts(warehouse, 140, 0);
  });
  afterEach(async () => {
    await queue.close(1000);
    await slack.close();
    await store.close();
    await warehouse.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a report: the XLSX in the store, the write-back with lineage, Slack with name, row count and link', async () => {
    const r = report(semantic, REPORT_YAML());
    await ensureWriteBackTables(warehouse, [r]);
    const service = new ReportService(deps([r]));
    await registerReportJobs(queue, service);
    await queue.start({ concurrency: 1 });
    const job = await finished(jobs, (await service.run({ name: r.name, createdBy: 'key-1' })).id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', type: 'REPORT', team: 'social', createdBy: 'key-1' });

    // Independently: the same weeks and platforms straight from the table, with the range written out.
    const expected = await warehouse.query(
      `SELECT count(*) AS n, sum(impressions) AS total FROM (SELECT impressions FROM social.post_daily
        WHERE metric_date >= ${warehouse.dialect.param(1, 'date')} AND metric_date < ${warehouse.dialect.param(2, 'date')}) s`,
      ['2025-12-15', '2026-03-09'],
    );
    const weeksTimesPlatforms = 12 * 3;
    expect(job.rowsRead).toBe(weeksTimesPlatforms);
    expect(job.resultKey).toBe(`reports/social/social_weekly/2026-03-11/${job.id}.xlsx`);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.read(await store.get(job.resultKey!));
    const sheet = workbook.worksheets[0];
    expect(sheet.rowCount).toBe(1 + weeksTimesPlatforms);
    let fileTotal = 0;
    sheet.eachRow((row, n) => {
      if (n > 1) fileTotal += Number(row.getCell(3).value);
    });
    expect(fileTotal).toBe(Number(expected[0].total));

    const back = await warehouse.query('SELECT count(*) AS n, sum(impressions) AS total, min(metric_date__week) AS first, max(_run_id) AS run, min(_report) AS report FROM analysis.social_weekly');
    expect(back).toEqual([{ n: weeksTimesPlatforms, total: Number(expected[0].total), first: '2025-12-15', run: job.id, report: 'social_weekly' }]);
    const lineage = await warehouse.query('SELECT table_name, report, run_id, row_count, query FROM analysis.report_lineage');
    expect(lineage).toHaveLength(1);
    expect(lineage[0]).toMatchObject({ table_name: 'analysis.social_weekly', report: 'social_weekly', run_id: job.id, row_count: weeksTimesPlatforms });
    expect(JSON.parse(String(lineage[0].query))).toMatchObject({ model: 'social.post_performance', filters: [{ operator: 'IN_DATE_RANGE', values: ['last 12 weeks'] }] });
    expect(changed).toEqual([['analysis.social_weekly']]);

    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0].text).toBe(`Report *social_weekly* is ready: 36 rows. <http://sextant.test/downloads/${job.id}?sig=abc|Download the XLSX>. Written back to \`analysis.social_weekly\`.`);
    expect(await service.lastRun('social_weekly')).toMatchObject({ id: job.id });
  });

  it('writes back twice while a reader queries the table in a loop: the whole old or the whole new result, never a mix', async () => {
    const r = report(semantic, REPORT_YAML());
    await ensureWriteBackTables(warehouse, [r]);
    const service = new ReportService(deps([r]));
    await registerReportJobs(queue, service);
    await queue.start({ concurrency: 1 });
    const first = await finished(jobs, (await service.run({ name: r.name })).id);
    const [old] = await warehouse.query('SELECT count(*) AS n, sum(impressions) AS total FROM analysis.social_weekly');
    // New numbers for the second run: every impression + 1000.
    await loadPosts(warehouse, 140, 1000);

    const results = new Map<string, { n: number; total: number }>();
    const failures: string[] = [];
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        try {
          const [row] = await warehouse.query('SELECT min(_run_id) AS a, max(_run_id) AS b, count(*) AS n, sum(impressions) AS total FROM analysis.social_weekly');
          if (row.a !== row.b) failures.push(`mixed runs ${String(row.a)} / ${String(row.b)}`);
          const seen = { n: Number(row.n), total: Number(row.total) };
          const before = results.get(String(row.a));
          if (before && (before.n !== seen.n || before.total !== seen.total)) failures.push(`run ${String(row.a)} read as ${JSON.stringify(seen)} and ${JSON.stringify(before)}`);
          results.set(String(row.a), seen);
          reads++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    const second = await finished(jobs, (await service.run({ name: r.name })).id);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop = true;
    await reader;

    expect(second.status).toBe('SUCCEEDED');
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(1);
    // The reads spanned the swap, and each saw one of the two runs whole: 12 weeks × 7 days × 3
    // platforms source rows, each 1000 impressions more in the second run.
    expect([...results.keys()].sort()).toEqual([first.id, second.id].sort());
    expect(results.get(first.id)).toEqual({ n: Number(old.n), total: Number(old.total) });
    expect(results.get(second.id)).toEqual({ n: Number(old.n), total: Number(old.total) + 1000 * 12 * 7 * 3 });
  });

  it('lets a model be defined on the written table', async () => {
    const project = await mkdtemp(join(tmpdir(), 'sextant-wb-model-'));
    await cp(join(GOOD, 'models'), join(project, 'models'), { recursive: true });
    await writeFile(
      join(project, 'models', 'social', 'weekly_summary.yml'),
      `name: weekly_summary
table: analysis.social_weekly
grain: [metric_date__week, platform]
dimensions:
  week: { type: time, sql: metric_date__week }
  platform: { type: string }
measures:
  impressions: { type: sum, format: integer }
`,
    );
    const withModel = await assertValidProject(project);
    const r = report(withModel, REPORT_YAML());
    // Before any run the table exists (empty), so the start-up column check passes.
    await ensureWriteBackTables(warehouse, [r]);
    const problems = await checkModelColumns(withModel, async (t) => (await warehouse.describeTable(t))?.map((c) => c.name));
    expect(problems.filter((p) => p.file === 'models/social/weekly_summary.yml')).toEqual([]);
    semantic = withModel;
    const service = new ReportService(deps([r]));
    await registerReportJobs(queue, service);
    await queue.start({ concurrency: 1 });
    await finished(jobs, (await service.run({ name: r.name })).id);
    const answer = await fakeServing(withModel, warehouse).stream({ keyId: 'k', role: 'reader', teams: ['social'] }, {
      model: 'social.weekly_summary',
      measures: ['impressions'],
      dimensions: [{ name: 'platform' }],
      filters: [],
      orderBy: [],
      limit: 0,
      offset: 0,
    });
    const rows = [];
    for await (const batch of answer.batches) rows.push(...batch);
    expect(rows.map((row) => row.platform).sort()).toEqual(['facebook', 'instagram', 'x']);
    await rm(project, { recursive: true, force: true });
  });

  it('tells Slack of a failure only when no retry remains', async () => {
    const r = report(semantic, REPORT_YAML());
    await ensureWriteBackTables(warehouse, [r]);
    const flaky = fakeServing(semantic, warehouse, { now: () => NOW, failures: [new Error('connection reset'), new Error('connection reset'), new Error('warehouse unreachable')] });
    const service = new ReportService(deps([r], { serving: flaky }));
    await registerReportJobs(queue, service);
    await queue.start({ concurrency: 1 });
    const job = await finished(jobs, (await service.run({ name: r.name })).id);
    expect(job).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(slack.messages.map((m) => m.text)).toEqual([`Report *social_weekly* failed (job ${job.id}): warehouse unreachable`]);

    // One failure, then success: only the ready message.
    slack.messages.length = 0;
    const once = fakeServing(semantic, warehouse, { now: () => NOW, failures: [new Error('connection reset')] });
    const again = new ReportService(deps([r], { serving: once }));
    queue.handle('REPORT', again.handle);
    const ok = await finished(jobs, (await again.run({ name: r.name })).id);
    expect(ok).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(slack.messages.map((m) => m.text)).toEqual([expect.stringMatching(/^Report \*social_weekly\* is ready: 36 rows\./)]);
  });

  it('runs a report on its cron through the queue, as a CSV without Slack', async () => {
    const r = report(semantic, `
schedule: "* * * * * *"
query:
  model: social.post_performance
  measures: [impressions]
  dimensions: [{ name: platform }]
format: csv
`, 'every_second');
    await registerReportJobs(queue, new ReportService(deps([r])));
    await queue.start({ concurrency: 1 });
    let job: JobRecord | undefined;
    for (let i = 0; i < 200 && !job; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = (await jobs.list({ type: 'REPORT', limit: 10 })).find((j) => j.status === 'SUCCEEDED');
    }
    expect(job).toMatchObject({ team: 'social', payload: { report: 'every_second', team: 'social' }, rowsRead: 3 });
    const chunks: Buffer[] = [];
    for await (const c of await store.get(job!.resultKey!)) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(4);
    expect(slack.messages).toEqual([]);
  });
});
