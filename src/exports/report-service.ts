/**
 * Runs reports (docs/reports.md): a REPORT job asks the report's question through `Serving.stream` (as the
 * report's team, never more), writes the file with the export writers, keeps it in the object store,
 * optionally replaces the report's `analysis.<table>` with the same rows (one run of the query feeds
 * both, see tee.ts), and tells Slack: name, row count and link when the file is ready; the error when
 * the job fails for good (not while retries remain). Schedules come from each report's cron and go
 * through the job queue, so a deployment with several workers runs each tick once.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Principal } from '../auth/principal.js';
import { isUserError, UserError } from '../errors.js';
import type { JobListFilter, JobRecord, NewJob } from '../jobs/job-store.js';
import { JobCancelledError, UnrecoverableJobError, type JobContext, type JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import { postToSlack } from '../notify/slack.js';
import type { AnswerStream, Serving } from '../serving/types.js';
import type { ObjectStore } from '../storage/port.js';
import type { Row, SqlRunner, SqlValue, Warehouse } from '../warehouse/port.js';
import { CONTENT_TYPES } from './export-options.js';
import { writeExport } from './export-service.js';
import type { Report } from './report-file.js';
import { tee } from './tee.js';
import { LINEAGE_TABLE, writeBackColumns, writeBackSpec } from './write-back.js';

/** Schedules of reports are named `report-<name>` in the job queue. */
export const REPORT_SCHEDULE_PREFIX = 'report-';

/** The job queue's schedule id of a report. */
export function reportScheduleId(name: string): string {
  return `${REPORT_SCHEDULE_PREFIX}${name}`;
}

/** Attempts of a report job in all (the first and two retries). */
export const REPORT_ATTEMPTS = 3;

/** What a REPORT job's payload carries. */
export interface ReportJobPayload {
  report: string;
  /** The report's team: the job's record belongs to it (JobStore.ensure reads `team`). */
  team: string;
  /** The API key that asked for a run now (`runReport`); absent for scheduled runs. */
  createdBy?: string;
  [key: string]: unknown;
}

export interface ReportServiceDeps {
  reports: ReadonlyMap<string, Report>;
  serving: Pick<Serving, 'stream' | 'model'>;
  store: ObjectStore;
  /** Write-back only: replaces `analysis.<table>` (a write, like ingestion's; questions go through serving). */
  warehouse: Pick<Warehouse, 'replaceTable' | 'ensureTable' | 'describeTable' | 'dialect'>;
  jobs: { create(input: NewJob): Promise<JobRecord>; list(filter: JobListFilter): Promise<JobRecord[]> };
  queue: Pick<JobQueue, 'enqueue' | 'handle' | 'schedule'>;
  log: Logger;
  /** SLACK_WEBHOOK_URL; unset: reports that notify Slack log a warning instead. */
  slackWebhookUrl?: string | undefined;
  /**
   * A link to a finished run's file for the Slack message (the exports' download URL: S3 pre-signed, or
   * the service's own link bound to `createdBy`, the key that asked for the run), or null.
   */
  downloadUrl?: (job: { id: string; team: string; resultKey: string; createdBy: string | null }) => Promise<string | null>;
  /** Tells the deployment that write-back tables changed (cached results over models on them). */
  onTablesChanged?: (tables: string[]) => Promise<void> | void;
  /** Slack's fetch, for tests. */
  fetch?: typeof fetch;
  now?: () => Date;
}

/** A report as the operations API lists it. */
export interface ReportListing {
  name: string;
  team: string;
  format: 'XLSX' | 'CSV';
  schedule: string | null;
}

/** The principal a report asks as: a reader of its own team only. */
export function reportPrincipal(report: Pick<Report, 'team'>): Principal {
  return Object.freeze({ keyId: undefined, role: 'reader', teams: Object.freeze([report.team]) });
}

/** Where a run's file is kept: `reports/<team>/<report>/<YYYY-MM-DD>/<job id>.<format>`. */
export function reportObjectKey(report: Pick<Report, 'team' | 'name' | 'format'>, jobId: string, at: Date): string {
  return `reports/${report.team}/${report.name}/${at.toISOString().slice(0, 10)}/${jobId}.${report.format}`;
}

/** The answer cut at `limit` rows (0: every row); serving streams every row of a question. */
function withLimit(answer: AnswerStream, limit: number): AnswerStream {
  if (limit <= 0) return answer;
  const source = answer.batches;
  async function* batches(): AsyncIterable<Row[]> {
    let left = limit;
    for await (const batch of source) {
      yield batch.length <= left ? batch : batch.slice(0, left);
      left -= batch.length;
      if (left <= 0) return;
    }
  }
  return { ...answer, batches: batches() };
}

export class ReportService {
  readonly #deps: ReportServiceDeps;

  constructor(deps: ReportServiceDeps) {
    this.#deps = deps;
  }

  /** The project's reports. */
  reports(): Report[] {
    return [...this.#deps.reports.values()];
  }

  /** Every report, for the operations API (which filters by team). */
  list(): ReportListing[] {
    return [...this.#deps.reports.values()].map((r) => ({ name: r.name, team: r.team, format: r.format === 'xlsx' ? 'XLSX' : 'CSV', schedule: r.schedule }));
  }

  /** The latest run of a report, or null. */
  async lastRun(name: string): Promise<JobRecord | null> {
    const report = this.#deps.reports.get(name);
    if (!report) return null;
    const jobs = await this.#deps.jobs.list({ type: 'REPORT', teams: [report.team], limit: 200 });
    return jobs.find((j) => j.payload.report === name) ?? null;
  }

  /** Queues a run now. The caller has checked that its principal may read the report's team. */
  async run(input: { name: string; createdBy?: string | null }): Promise<JobRecord> {
    const report = this.#deps.reports.get(input.name);
    if (!report) throw new UserError('BAD_USER_INPUT', `no report named "${input.name}"`);
    const payload: ReportJobPayload = { report: report.name, team: report.team, ...(input.createdBy ? { createdBy: input.createdBy } : {}) };
    const job = await this.#deps.jobs.create({ type: 'REPORT', payload, team: report.team, maxAttempts: REPORT_ATTEMPTS, createdBy: input.createdBy ?? null });
    await this.#deps.queue.enqueue({ id: job.id, type: 'REPORT', payload, attempts: REPORT_ATTEMPTS });
    return job;
  }

  /** The REPORT job handler. */
  readonly handle = async (ctx: JobContext): Promise<Record<string, unknown>> => {
    const name = typeof ctx.payload.report === 'string' ? ctx.payload.report : '';
    const report = this.#deps.reports.get(name);
    if (!report) throw new UnrecoverableJobError(`no report named "${name}" in this project (it may have been removed since the job was queued)`);
    try {
      const result = await this.#runOnce(report, ctx);
      await this.#notifyReady(report, ctx.id, result, typeof ctx.payload.createdBy === 'string' ? ctx.payload.createdBy : null);
      return { rowsRead: result.rows, rowsLoaded: result.rows, resultKey: result.key };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const cancelled = error instanceof JobCancelledError || error.name === 'JobCancelledError' || ctx.signal.aborted;
      const final = isUserError(error) || error instanceof UnrecoverableJobError || ctx.attempt >= REPORT_ATTEMPTS;
      if (!cancelled && final) await this.#notifyFailed(report, ctx.id, error);
      throw error;
    }
  };

  async #runOnce(report: Report, ctx: JobContext): Promise<{ rows: number; key: string; writtenBack: number | null }> {
    const { serving, store } = this.#deps;
    const principal = reportPrincipal(report);
    const model = serving.model(principal, report.query.model);
    const answer = withLimit(await serving.stream(principal, report.query, { signal: ctx.signal }), report.query.limit);
    const now = this.#deps.now?.() ?? new Date();
    const key = reportObjectKey(report, ctx.id, now);

    const [forFile, forTable] = report.writeBack ? tee(answer.batches) : [answer.batches, undefined];
    const out = new PassThrough();
    const stored = store.put(key, out, { contentType: CONTENT_TYPES[report.format], signal: ctx.signal });
    const written = writeExport(report.format, { ...answer, batches: forFile }, out, {
      model,
      generatedAt: now,
      signal: ctx.signal,
      onRows: (n) => void ctx.progress(Math.min(95, n / 1000)),
    }).catch(async (err: unknown) => {
      // The other side must not wait for this one any longer.
      await forFile[Symbol.asyncIterator]().return?.();
      throw err;
    });
    const replaced = forTable
      ? this.#writeBack(report, ctx.id, forTable, answer).catch(async (err: unknown) => {
          await forTable[Symbol.asyncIterator]().return?.();
          throw err;
        })
      : Promise.resolve(null);
    const [summary, , writtenBack] = await Promise.all([written, stored, replaced]);
    if (report.writeBack) await this.#deps.onTablesChanged?.([report.writeBack]);
    return { rows: summary.rows, key, writtenBack };
  }

  async #writeBack(report: Report, runId: string, batches: AsyncIterable<Row[]>, answer: AnswerStream): Promise<number> {
    const table = report.writeBack as string;
    const { warehouse } = this.#deps;
    const writtenAt = (this.#deps.now?.() ?? new Date()).toISOString().replace('T', ' ').replace('Z', '');
    const columns = writeBackColumns(answer.columns);
    const keys = answer.columns.map((c) => c.key);
    async function* rows(): AsyncGenerator<SqlValue[]> {
      for await (const batch of batches) for (const row of batch) yield [...keys.map((k) => row[k] ?? null), report.name, runId, writtenAt];
    }
    const p = (i: number, type?: 'timestamp') => warehouse.dialect.param(i, type);
    const query = JSON.stringify(answer.query);
    let count = 0;
    const inSwap = async (tx: SqlRunner) => {
      // The lineage row changes with the table, in the same transaction: it always describes what is there.
      await tx.execute(`DELETE FROM ${warehouse.dialect.quoteTable(LINEAGE_TABLE.table)} WHERE table_name = ${p(1)}`, [table]);
      const [counted] = await tx.query(`SELECT count(*) AS n FROM ${warehouse.dialect.quoteTable(table)}`);
      count = Number(counted.n);
      await tx.execute(
        `INSERT INTO ${warehouse.dialect.quoteTable(LINEAGE_TABLE.table)} (table_name, report, run_id, query, row_count, written_at)
         VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6, 'timestamp')})`,
        [table, report.name, runId, query, count, writtenAt],
      );
    };
    await warehouse.replaceTable({ spec: writeBackSpec(table, columns), rows: rows(), inSwap });
    return count;
  }

  async #notify(report: Report, message: { text: string; blocks?: unknown[] }): Promise<void> {
    if (report.notify !== 'slack') return;
    const url = this.#deps.slackWebhookUrl;
    if (!url) {
      this.#deps.log.warn('report asks to notify Slack but SLACK_WEBHOOK_URL is not set', { report: report.name });
      return;
    }
    try {
      await postToSlack(url, message, this.#deps.fetch ? { fetch: this.#deps.fetch } : undefined);
    } catch (err) {
      // The file is made (or the failure recorded) either way; a Slack outage must not turn that into a failed job.
      this.#deps.log.warn('could not notify Slack of a report', { report: report.name, err });
    }
  }

  async #notifyReady(report: Report, jobId: string, result: { rows: number; key: string; writtenBack: number | null }, createdBy: string | null): Promise<void> {
    if (report.notify !== 'slack') return;
    const link = (await this.#deps.downloadUrl?.({ id: jobId, team: report.team, resultKey: result.key, createdBy }).catch(() => null)) ?? null;
    const rows = `${result.rows.toLocaleString('en-US')} row${result.rows === 1 ? '' : 's'}`;
    const where = link ? `<${link}|Download the ${report.format.toUpperCase()}>` : `job ${jobId} (file ${result.key})`;
    const back = report.writeBack ? ` Written back to \`${report.writeBack}\`.` : '';
    const text = `Report *${report.name}* is ready: ${rows}. ${where}.${back}`;
    await this.#notify(report, {
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${text}${report.description ? `\n_${report.description}_` : ''}` } }],
    });
  }

  async #notifyFailed(report: Report, jobId: string, error: Error): Promise<void> {
    const text = `Report *${report.name}* failed (job ${jobId}): ${error.message}`;
    await this.#notify(report, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  }
}

/**
 * Registers the REPORT handler and one schedule per report with a cron (a changed cron replaces the old
 * one), and removes the schedules of reports no longer in the project. The composition root calls
 * this once for the worker role (and `ensureWriteBackTables` at start-up, before models are checked).
 */
export async function registerReportJobs(queue: Pick<JobQueue, 'handle' | 'schedule' | 'unschedule' | 'schedules'>, service: ReportService, log?: Logger): Promise<void> {
  queue.handle('REPORT', service.handle);
  const wanted = new Set<string>();
  for (const report of service.reports()) {
    if (!report.schedule) continue;
    const payload: ReportJobPayload = { report: report.name, team: report.team };
    wanted.add(reportScheduleId(report.name));
    // Upserted: a report whose cron changed gets its new cron, in place of the old one.
    await queue.schedule({
      // Stable per report, so that a restart replaces the schedule instead of adding one.
      id: reportScheduleId(report.name),
      cron: report.schedule,
      job: () => ({ id: randomUUID(), type: 'REPORT', payload, attempts: REPORT_ATTEMPTS }),
    });
  }
  // A queue that outlives the process (BullMQ keeps its schedulers in Redis) still holds the schedules of
  // reports deleted from the project, or whose schedule was removed: each tick would fail as an unknown
  // report. Those are removed here, at every worker start.
  for (const s of await queue.schedules()) {
    if (!s.id.startsWith(REPORT_SCHEDULE_PREFIX) || wanted.has(s.id)) continue;
    await queue.unschedule(s.id);
    log?.info('removed the schedule of a report that is no longer in the project (or no longer scheduled)', { scheduleId: s.id, cron: s.cron });
  }
}
