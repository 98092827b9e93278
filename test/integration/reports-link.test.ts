/**
 * The link Slack receives for a report's file lasts as long as people read Slack: SEXTANT_REPORT_LINK_TTL
 * (a week by default), not an on-demand export link's hour. The report runs for real (DuckDB, the
 * in-process queue, the folder store, a local Slack webhook); the link in the message is then opened
 * through the service's download check with the clock moved on: still good after an hour (when an
 * export link has expired) and refused once its lifetime is over.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeyInfo } from '../../src/auth/key-store.js';
import { ProblemCollector } from '../../src/errors.js';
import { DEFAULT_REPORT_LINK_TTL_SECONDS, ExportService } from '../../src/exports/export-service.js';
import { parseReport, type Report } from '../../src/exports/report-file.js';
import { registerReportJobs, ReportService } from '../../src/exports/report-service.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { createLogger } from '../../src/log.js';
import { checkQuery } from '../../src/semantic/check-query.js';
import { assertValidProject } from '../../src/semantic/load.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import type { Serving } from '../../src/serving/types.js';
import { openFileObjectStore } from '../../src/storage/file/file-object-store.js';
import type { ObjectStore } from '../../src/storage/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { startSlackWebhook, type SlackWebhook } from '../fakes/slack-webhook.js';
import { fakeServing } from '../support/fake-serving.js';
import { freshWarehouse } from '../support/warehouses.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = join(here, '../fixtures/semantic/good');
const HOUR = 3600_000;

describe('the link of a report in Slack', () => {
  let warehouse: Warehouse;
  let store: ObjectStore;
  let dir: string;
  let jobs: JobStore;
  let queue: LocalJobQueue;
  let slack: SlackWebhook;
  let semantic: SemanticProject;
  /** The injected clock: the link is made at T0, then checked later. */
  let now: Date;
  const T0 = new Date('2026-03-11T07:00:00Z');
  /** API keys exist (so a keyless link would not do), one of them for team social. */
  const KEYS: ApiKeyInfo[] = [{ id: 'key-social', name: undefined, role: 'reader', teams: ['social'], createdAt: T0.toISOString(), revokedAt: undefined, lastUsedAt: undefined }];

  beforeEach(async () => {
    now = T0;
    warehouse = await freshWarehouse('duckdb');
    dir = await mkdtemp(join(tmpdir(), 'sextant-report-link-'));
    store = await openFileObjectStore(join(dir, 'objects'));
    jobs = new JobStore(warehouse);
    await jobs.init();
    queue = new LocalJobQueue({ store: jobs });
    slack = await startSlackWebhook();
    semantic = await assertValidProject(GOOD);
    await warehouse.execute('CREATE SCHEMA IF NOT EXISTS social');
    await warehouse.execute(`CREATE TABLE social.post_daily AS SELECT 'facebook' AS platform, 'p1' AS post_id, DATE '2026-03-01' AS metric_date,
      TIMESTAMP '2026-03-01 10:00:00' AS posted_at, 'a1' AS account_id, 'photo' AS post_type, false AS is_paid, 30.0 AS duration_s,
      100 AS impressions, 1 AS likes, 1 AS comments, 1 AS shares, 1.5 AS spend`);
  });
  afterEach(async () => {
    await queue.close(1000);
    await slack.close();
    await store.close();
    await warehouse.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the report once, as the worker does, and answers the link Slack was sent. */
  async function runAndGetLink(exports: ExportService, createdBy: string | null): Promise<{ job: JobRecord; link: URL }> {
    const problems = new ProblemCollector();
    const yaml = 'query:\n  model: social.post_performance\n  measures: [impressions]\n  dimensions: [{ name: platform }]\nformat: csv\nnotify: slack\n';
    const r: Report = parseReport('weekly', 'reports/weekly.yml', yaml, semantic, (q) => checkQuery(semantic, q, T0), problems)!;
    problems.throwIfAny('MODEL_INVALID', 'test report');
    const reports = new ReportService({
      reports: new Map([[r.name, r]]),
      serving: fakeServing(semantic, warehouse, { now: () => now }),
      store,
      warehouse,
      jobs,
      queue,
      log: createLogger('error'),
      slackWebhookUrl: slack.url,
      // As src/main.ts wires it.
      downloadUrl: (job) => exports.reportDownloadUrl(job),
      now: () => now,
    });
    await registerReportJobs(queue, reports);
    await queue.start({ concurrency: 1 });
    const { id } = await reports.run({ name: r.name, createdBy });
    let job: JobRecord | undefined;
    for (let i = 0; i < 1500 && job?.status !== 'SUCCEEDED'; i++) {
      await new Promise((res) => setTimeout(res, 20));
      job = await jobs.get(id);
      if (job?.status === 'FAILED') throw new Error(`the report failed: ${JSON.stringify(job.errors)}`);
    }
    const text = slack.messages.map((m) => m.text).join('\n');
    const m = /<(http[^|>]+)\|Download the CSV>/.exec(text);
    expect(m, text).not.toBeNull();
    return { job: job!, link: new URL(m![1]) };
  }

  function exportService(reportLinkTtlSeconds?: number): ExportService {
    return new ExportService({
      serving: fakeServing(semantic, warehouse) as unknown as Pick<Serving, 'model' | 'toQuery' | 'stream'>,
      store,
      jobs,
      queue,
      keys: { list: async () => KEYS, countCached: async () => KEYS.length },
      signingSecret: 'report-link-secret',
      publicBaseUrl: 'http://sextant.test',
      ...(reportLinkTtlSeconds !== undefined ? { reportLinkTtlSeconds } : {}),
      now: () => now,
    });
  }

  const open = (exports: ExportService, link: URL) =>
    exports.openDownload({
      job: decodeURIComponent(link.pathname.split('/').pop()!),
      by: link.searchParams.get('by') ?? undefined,
      exp: link.searchParams.get('exp') ?? undefined,
      sig: link.searchParams.get('sig') ?? undefined,
    });

  it('a scheduled run (no key): valid after an hour and after six days, expired after its week; bound to the team', async () => {
    const exports = exportService();
    const { job, link } = await runAndGetLink(exports, null);
    expect(Number(link.searchParams.get('exp'))).toBe(T0.getTime() / 1000 + DEFAULT_REPORT_LINK_TTL_SECONDS);
    expect(link.searchParams.get('by')).toBe('team:social');

    now = new Date(T0.getTime() + HOUR + 1000);
    const download = await open(exports, link);
    const chunks: Buffer[] = [];
    for await (const c of download.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('\uFEFFplatform,impressions\r\nfacebook,100\r\n');
    expect(download.filename).toBe(`${job.id}.csv`);

    // An export's own link, made at the same moment, is over by then: the two lifetimes differ.
    now = T0;
    const exportLink = new URL((await exports.downloadUrl(job, { keyId: 'key-social', role: 'reader', teams: ['social'] }))!);
    now = new Date(T0.getTime() + HOUR + 1000);
    await expect(open(exports, exportLink)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('expired') });

    now = new Date(T0.getTime() + 6 * 24 * HOUR);
    await expect(open(exports, link)).resolves.toMatchObject({ filename: `${job.id}.csv` });
    now = new Date(T0.getTime() + 7 * 24 * HOUR + 1000);
    await expect(open(exports, link)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('expired') });

    // The team binding is covered by the signature: the same link for another team is refused.
    const widened = new URL(link.href);
    widened.searchParams.set('by', 'team:email');
    now = new Date(T0.getTime() + HOUR);
    await expect(open(exports, widened)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('not valid') });
  });

  it('runReport with a key: bound to that key, for the configured lifetime', async () => {
    const exports = exportService(2 * 24 * 3600);
    const { link } = await runAndGetLink(exports, 'key-social');
    expect(link.searchParams.get('by')).toBe('key-social');
    now = new Date(T0.getTime() + 47 * HOUR);
    await expect(open(exports, link)).resolves.toMatchObject({ contentType: expect.stringContaining('csv') });
    now = new Date(T0.getTime() + 48 * HOUR + 1000);
    await expect(open(exports, link)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('expired') });
  });
});
