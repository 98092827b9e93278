/**
 * Report schedules across restarts, on both real job queues (the in-process one and BullMQ on the test
 * Redis, a fresh queue name per test): a worker that starts with a project from which a report was
 * deleted (or lost its `schedule`) removes that report's schedule; a report whose cron changed runs on
 * the new cron; other schedules (the inbox scan) are left alone.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { parseReport, type Report } from '../../src/exports/report-file.js';
import { registerReportJobs, ReportService } from '../../src/exports/report-service.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import type { JobQueue } from '../../src/jobs/port.js';
import { createLogger } from '../../src/log.js';
import { checkQuery } from '../../src/semantic/check-query.js';
import { assertValidProject } from '../../src/semantic/load.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { testRedisUrl } from '../support/env.js';
import { fakeServing } from '../support/fake-serving.js';
import { freshWarehouse } from '../support/warehouses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = join(here, '../fixtures/semantic/good');

const yaml = (schedule: string | undefined) => `
${schedule ? `schedule: "${schedule}"` : ''}
query:
  model: social.post_performance
  measures: [impressions]
  dimensions: [{ name: platform }]
format: csv
`;

describe.each(['local', 'bullmq'] as const)('report schedules at start-up: %s queue', (kind) => {
  let warehouse: Warehouse;
  let jobs: JobStore;
  let store: ObjectStore;
  let dir: string;
  let semantic: SemanticProject;
  let queueName: string;
  const opened: JobQueue[] = [];

  /** A queue on this test's backend: for BullMQ, the same Redis queue each time (a restarted worker). */
  const openQueue = (): JobQueue => {
    const q = kind === 'local' ? new LocalJobQueue({ store: jobs }) : new BullMqJobQueue({ connection: testRedisUrl(), queueName, prefix: 'sxt-test' });
    opened.push(q);
    return q;
  };

  const report = (name: string, schedule: string | undefined): Report => {
    const problems = new ProblemCollector();
    const r = parseReport(name, `reports/${name}.yml`, yaml(schedule), semantic, (query) => checkQuery(semantic, query, new Date()), problems);
    problems.throwIfAny('MODEL_INVALID', 'test report');
    return r!;
  };

  /** A worker starting with these reports in its project. */
  const start = (queue: JobQueue, reports: Report[]) =>
    registerReportJobs(
      queue,
      new ReportService({ reports: new Map(reports.map((r) => [r.name, r])), serving: fakeServing(semantic, warehouse), store, warehouse, jobs, queue, log: createLogger('error') }),
    );

  beforeEach(async () => {
    warehouse = await freshWarehouse('duckdb');
    jobs = new JobStore(warehouse);
    await jobs.init();
    dir = await mkdtemp(join(tmpdir(), 'sextant-report-schedules-'));
    store = await openFileObjectStore(join(dir, 'objects'));
    semantic = await assertValidProject(GOOD);
    queueName = `t-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close(200)));
    await store.close();
    await warehouse.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('removes the schedules of reports deleted or unscheduled, reschedules a changed cron, leaves other schedules alone', async () => {
    const first = openQueue();
    await first.schedule({ id: 'inbox-scan', everyMs: 60_000, job: () => ({ id: randomUUID(), type: 'INBOX_SCAN', payload: {} }) });
    await start(first, [report('weekly', '0 7 * * MON'), report('daily', '0 6 * * *'), report('monthly', '0 5 1 * *')]);
    const byId = async (q: JobQueue) => Object.fromEntries((await q.schedules()).map((s) => [s.id, s.cron ?? s.everyMs]));
    expect(await byId(first)).toEqual({ 'inbox-scan': 60_000, 'report-weekly': '0 7 * * MON', 'report-daily': '0 6 * * *', 'report-monthly': '0 5 1 * *' });
    if (kind === 'local') {
      // A cron more than 24.8 days ahead (monthly) overflowed Node's timer, which then fired at once, in a loop.
      await new Promise((r) => setTimeout(r, 200));
      expect(await jobs.list({ type: 'REPORT', limit: 10 })).toEqual([]);
    }

    // The project changes: `daily` is deleted, `monthly` loses its schedule, `weekly` moves to Tuesday.
    const next = [report('weekly', '0 7 * * TUE'), report('monthly', undefined)];
    if (kind === 'bullmq') {
      // A restart: the schedules live on in Redis, and a new worker process finds them there.
      await first.close(200);
      const second = openQueue();
      expect(Object.keys(await byId(second)).sort()).toEqual(['inbox-scan', 'report-daily', 'report-monthly', 'report-weekly']);
      await start(second, next);
      expect(await byId(second)).toEqual({ 'inbox-scan': 60_000, 'report-weekly': '0 7 * * TUE' });
    } else {
      // The in-process queue forgets its schedules with its process; re-registering in the same process
      // (what a reload of the project does) must leave the same state as the restart above.
      await start(first, next);
      expect(await byId(first)).toEqual({ 'inbox-scan': 60_000, 'report-weekly': '0 7 * * TUE' });
    }
  });
});
