/**
 * The GraphQL faces of docs/reports.md: `reports` and `runReport` scoped to the key's teams (a report's team is
 * its model's), `Report.lastRun`, and relative date ranges in the typed filter (`inDateRange`) and the
 * generic query (`IN_DATE_RANGE`), which answer what the same range written out as gte/lt answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK_PRINCIPAL, type Principal } from '../../src/auth/principal.js';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadProject } from '../../src/config/project.js';
import { ReportService } from '../../src/exports/report-service.js';
import { JobStore } from '../../src/jobs/job-store.js';
import type { JobRequest } from '../../src/jobs/port.js';
import { createLogger } from '../../src/log.js';
import { NO_OPERATIONS, gql, startHarness, type Harness } from './graphql-harness.js';
import { DIALECTS } from '../support/warehouses.js';

const PRINCIPALS: Record<string, Principal> = {
  'social-reader': { keyId: 'k1', role: 'reader', teams: ['social'] },
  'web-reader': { keyId: 'k2', role: 'reader', teams: ['web'] },
};
const as = (who: keyof typeof PRINCIPALS) => ({ 'x-test-principal': who });
const authenticate = async (request: { headers: Record<string, unknown> }): Promise<Principal> =>
  PRINCIPALS[String(request.headers['x-test-principal'])] ?? LOOPBACK_PRINCIPAL;

describe.each(DIALECTS)('reports and date ranges over GraphQL on %s', (dialect) => {
  let h: Harness;
  const enqueued: JobRequest[] = [];

  beforeAll(async () => {
    const project = await loadProject(EXAMPLE_PROJECT);
    let jobs: JobStore | undefined;
    const service = new ReportService({
      reports: project.reports,
      serving: { model: () => { throw new Error('not asked in this test'); }, stream: () => { throw new Error('not asked in this test'); } },
      store: undefined as never,
      warehouse: undefined as never,
      jobs: { create: (input) => jobs!.create(input), list: (filter) => jobs!.list(filter) },
      queue: { enqueue: async (job) => void enqueued.push(job), handle: () => undefined, schedule: async () => undefined },
      log: createLogger('error'),
    });
    h = await startHarness(dialect, {
      authenticate,
      operations: {
        ...NO_OPERATIONS,
        jobs: { get: (id) => jobs!.get(id), list: (filter) => jobs!.list(filter) },
        reports: { list: () => service.list(), run: (input) => service.run(input), lastRun: (name) => service.lastRun(name) },
      },
    });
    jobs = new JobStore(h.raw);
    await jobs.init();
  });
  afterAll(async () => h?.close());

  it('lists only the reports of the key’s teams', async () => {
    const social = await gql(h.app, `{ reports { name format schedule lastRun { id } } }`, undefined, as('social-reader'));
    expect(social.body.errors).toBeUndefined();
    expect(social.body.data!.reports).toEqual([{ name: 'social_weekly', format: 'XLSX', schedule: '0 7 * * MON', lastRun: null }]);
    const all = await gql(h.app, `{ reports { name format } }`);
    expect(all.body.data!.reports).toEqual([
      { name: 'email_weekly', format: 'CSV' },
      { name: 'listening_weekly', format: 'XLSX' },
      { name: 'social_weekly', format: 'XLSX' },
      { name: 'web_weekly', format: 'XLSX' },
    ]);
  });

  it('runs a report of the key’s team; another team’s report is unknown to it', async () => {
    const hidden = await gql(h.app, `mutation { runReport(name: "social_weekly") { id } }`, undefined, as('web-reader'));
    expect(hidden.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^no report named "social_weekly"/), extensions: { code: 'BAD_USER_INPUT' } });
    expect(enqueued).toEqual([]);
    const run = await gql(h.app, `mutation { runReport(name: "social_weekly") { id type status } }`, undefined, as('social-reader'));
    expect(run.body.errors).toBeUndefined();
    const job = run.body.data!.runReport as { id: string; type: string; status: string };
    expect(job).toMatchObject({ type: 'REPORT', status: 'QUEUED' });
    expect(enqueued).toEqual([{ id: job.id, type: 'REPORT', payload: { report: 'social_weekly', team: 'social', createdBy: 'k1' }, attempts: 3 }]);
    const listed = await gql(h.app, `{ reports { name lastRun { id type } } jobs(type: REPORT) { id } }`, undefined, as('social-reader'));
    expect(listed.body.data).toEqual({ reports: [{ name: 'social_weekly', lastRun: { id: job.id, type: 'REPORT' } }], jobs: [{ id: job.id }] });
    const web = await gql(h.app, `{ jobs(type: REPORT) { id } }`, undefined, as('web-reader'));
    expect(web.body.data!.jobs).toEqual([]);
  });

  it('answers inDateRange and IN_DATE_RANGE like the same range written out', async () => {
    const typed = (where: string) => `{ social { postPerformance(where: { metricDate: ${where} }) { platform impressions engagementRate } } }`;
    const ranged = await gql(h.app, typed(`{ inDateRange: "2026-01-01 to 2026-03-31" }`));
    const written = await gql(h.app, typed(`{ gte: "2026-01-01", lt: "2026-04-01" }`));
    expect(ranged.body.errors).toBeUndefined();
    expect((ranged.body.data!.social as { postPerformance: unknown[] }).postPerformance.length).toBeGreaterThan(0);
    expect(ranged.body.data).toEqual(written.body.data);

    const generic = (filter: string) => `{ metrics(query: { model: "social.post_performance", measures: ["impressions"], dimensions: [{ name: "platform" }], filters: [${filter}] }) { rows } }`;
    const g1 = await gql(h.app, generic(`{ member: "metric_date", operator: IN_DATE_RANGE, values: ["2026-01-01", "2026-03-31"] }`));
    const g2 = await gql(h.app, generic(`{ member: "metric_date", operator: GTE, values: ["2026-01-01"] }, { member: "metric_date", operator: LT, values: ["2026-04-01"] }`));
    expect(g1.body.errors).toBeUndefined();
    expect(g1.body.data).toEqual(g2.body.data);
    expect(g1.body.data).toEqual({ metrics: { rows: (ranged.body.data!.social as { postPerformance: Array<{ platform: string; impressions: number }> }).postPerformance.map((r) => [r.platform, r.impressions]) } });

    const bad = await gql(h.app, typed(`{ inDateRange: "last 12 fortnights" }`));
    expect(bad.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('cannot read the date range "last 12 fortnights"'), extensions: { code: 'BAD_USER_INPUT' } });
  });
});
