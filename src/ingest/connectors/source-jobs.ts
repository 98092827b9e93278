/**
 * Sources as jobs: the RUN_SOURCE handler, one cron schedule per source, `runSource` (a run now or a
 * backfill), what GraphQL's `sources` shows (schedule, state, last run, next run), and the Slack alerts
 * (one when a run fails for good, none while retries remain; one when the source recovers).
 * {@link registerSourceJobs} is the one call the composition root makes for the worker role.
 */
import { UserError, isUserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { jobErrorsOf, type JobRecord } from '../../jobs/job-store.js';
import { nextRunAt } from '../../jobs/next-run-at.js';
import { UnrecoverableJobError, type JobContext, type JobQueue } from '../../jobs/port.js';
import { postToSlack, slackEscape } from '../../notify/slack.js';
import { teamOfTarget, type Target } from '../targets.js';
import { runSourceJob, type SourceRunnerDeps, type SourceRunResult } from './source-runner.js';
import type { SourceState } from './state-store.js';
import type { SourceConfig } from './types.js';

/** Attempts of a source run: a run that failed on a transient error is tried again (backoff below). */
export const SOURCE_RUN_ATTEMPTS = 3;
const SOURCE_RUN_BACKOFF_MS = 60_000;

export interface SourceJobDeps extends SourceRunnerDeps {
  queue: JobQueue;
  /** SLACK_WEBHOOK_URL; unset: no alerts. */
  slackWebhookUrl?: string;
  /** The service's public base URL, for the link to the job in alerts. */
  publicBaseUrl?: string;
  /** Overrides for tests (a local receiver's fetch). */
  slackFetch?: typeof fetch;
}

/** A source as the operations API lists it. */
export interface SourceSummary {
  name: string;
  type: string;
  schedule: string | null;
  targets: readonly string[];
  team: string;
}

export interface SourceService {
  list(): SourceSummary[];
  /** Queues a run now, or a backfill over [from, to]. */
  run(input: { name: string; from?: string; to?: string; createdBy?: string | null }): Promise<JobRecord>;
  lastRun(name: string): Promise<JobRecord | null>;
  state(name: string): Promise<SourceState | null>;
  nextRun(name: string, after?: Date): Date | null;
  /** The RUN_SOURCE handler (what workers run; the CLI runs it in-process). */
  handle(ctx: JobContext): Promise<SourceRunResult>;
  /**
   * Runs a source in this process, recorded as a job of one attempt (`sextant run-source`): resolves with
   * the finished record, FAILED with its errors when the run failed. `signal` stops it (Ctrl-C).
   */
  runHere(input: { name: string; from?: string; to?: string; signal?: AbortSignal; onProgress?: (percent: number, job: JobRecord) => void }): Promise<JobRecord>;
}

function teamOfSource(source: SourceConfig, targets: ReadonlyMap<string, Target>): string {
  const first = targets.get(Object.values(source.streams)[0]);
  return first ? teamOfTarget(first) : 'unknown';
}

/** The link an alert gives to a job: the job's record through GraphQL GET. */
export function jobLink(baseUrl: string, jobId: string): string {
  const query = `{ job(id: "${jobId}") { id status source errors { message } rowsLoaded startedAt finishedAt } }`;
  return `${baseUrl.replace(/\/+$/, '')}/graphql?query=${encodeURIComponent(query)}`;
}

export function createSourceService(deps: SourceJobDeps): SourceService {
  const log: Logger = deps.log.child({ component: 'sources' });
  const summaries = [...deps.sources.values()].map((s) => ({
    name: s.name,
    type: s.type,
    schedule: s.schedule ?? null,
    targets: [...new Set(Object.values(s.streams))],
    team: teamOfSource(s, deps.targets),
  }));

  const alert = async (text: string, blocks: unknown[]): Promise<void> => {
    if (!deps.slackWebhookUrl) return;
    try {
      await postToSlack(deps.slackWebhookUrl, { text, blocks }, deps.slackFetch ? { fetch: deps.slackFetch } : undefined);
    } catch (err) {
      log.warn('could not post the alert to Slack', { err: (err as Error).message });
    }
  };

  const windowOf = (payload: Record<string, unknown>): string =>
    payload.from || payload.to ? `${String(payload.from ?? 'state')} … ${String(payload.to ?? 'yesterday')}` : 'scheduled (from its state)';

  const handle = async (ctx: JobContext): Promise<SourceRunResult> => {
    const name = String(ctx.payload.source);
    const base = deps.publicBaseUrl ?? 'http://127.0.0.1:4000';
    try {
      const result = await runSourceJob(deps, ctx);
      if (await deps.state.setHealth(name, false, ctx.id)) {
        const text = `Source ${name} recovered: run ${ctx.id} loaded ${result.rowsLoaded} rows.`;
        await alert(text, [
          { type: 'section', text: { type: 'mrkdwn', text: `:white_check_mark: *Source \`${slackEscape(name)}\` recovered*` } },
          { type: 'section', fields: [{ type: 'mrkdwn', text: `*Rows loaded*\n${result.rowsLoaded}` }, { type: 'mrkdwn', text: `*Job*\n<${jobLink(base, ctx.id)}|${ctx.id}>` }] },
        ]);
      }
      return result;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const record = await deps.jobs.get(ctx.id).catch(() => undefined);
      const maxAttempts = record?.maxAttempts ?? SOURCE_RUN_ATTEMPTS;
      const final = isUserError(err) || err instanceof UnrecoverableJobError || ctx.attempt >= maxAttempts;
      if (final) {
        await deps.state.setHealth(name, true, ctx.id).catch(() => undefined);
        const cause = (err as Error).message;
        const text = `Source ${name} failed: ${cause}`;
        await alert(text, [
          { type: 'section', text: { type: 'mrkdwn', text: `:rotating_light: *Source \`${slackEscape(name)}\` failed*` } },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: `*Window*\n${slackEscape(windowOf(ctx.payload))}` },
              { type: 'mrkdwn', text: `*Attempts*\n${ctx.attempt} of ${maxAttempts}` },
            ],
          },
          { type: 'section', text: { type: 'mrkdwn', text: `*Cause*\n${slackEscape(cause.slice(0, 2500))}` } },
          { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the job' }, url: jobLink(base, ctx.id) }] },
        ]);
      }
      throw err;
    }
  };

  return {
    list: () => summaries,
    async run(input) {
      const summary = summaries.find((s) => s.name === input.name);
      if (!summary) throw new UserError('UNKNOWN_SOURCE', `no source named "${input.name}"`);
      const record = await deps.jobs.create({
        type: 'RUN_SOURCE',
        payload: { source: summary.name, team: summary.team, ...(input.from ? { from: input.from } : {}), ...(input.to ? { to: input.to } : {}) },
        team: summary.team,
        source: summary.name,
        target: summary.targets[0] ?? null,
        maxAttempts: SOURCE_RUN_ATTEMPTS,
        createdBy: input.createdBy ?? null,
      });
      await deps.queue.enqueue({ id: record.id, type: 'RUN_SOURCE', payload: record.payload, attempts: SOURCE_RUN_ATTEMPTS, backoffMs: SOURCE_RUN_BACKOFF_MS });
      return record;
    },
    async lastRun(name) {
      const [job] = await deps.jobs.list({ type: 'RUN_SOURCE', source: name, limit: 1 });
      return job ?? null;
    },
    async state(name) {
      return (await deps.state.get(name)) ?? null;
    },
    nextRun(name, after = new Date()) {
      const s = deps.sources.get(name);
      return s?.schedule ? nextRunAt({ id: name, cron: s.schedule }, after) : null;
    },
    handle,
    async runHere(input) {
      const summary = summaries.find((s) => s.name === input.name);
      if (!summary) throw new UserError('UNKNOWN_SOURCE', `no source named "${input.name}"; expected one of: ${summaries.map((s) => s.name).sort().join(', ') || '(none: add sources/<name>.yml)'}`);
      const record = await deps.jobs.create({
        type: 'RUN_SOURCE',
        payload: { source: summary.name, team: summary.team, ...(input.from ? { from: input.from } : {}), ...(input.to ? { to: input.to } : {}) },
        team: summary.team,
        source: summary.name,
        target: summary.targets[0] ?? null,
        maxAttempts: 1,
      });
      await deps.jobs.markRunning(record.id, 1);
      try {
        const result = await handle({
          id: record.id,
          type: 'RUN_SOURCE',
          payload: record.payload,
          attempt: 1,
          signal: input.signal ?? new AbortController().signal,
          progress: async (percent) => {
            await deps.jobs.setProgress(record.id, percent);
            const now = await deps.jobs.get(record.id);
            if (now) input.onProgress?.(percent, now);
          },
        });
        await deps.jobs.markSucceeded(record.id, { rowsRead: result.rowsRead, rowsLoaded: result.rowsLoaded, rowsRejected: result.rowsRejected });
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (!isUserError(error)) log.error('source run failed', { source: summary.name, jobId: record.id, err: error.message });
        await deps.jobs.markFailed(record.id, jobErrorsOf(error), { willRetry: false });
      }
      return (await deps.jobs.get(record.id)) ?? record;
    },
  };
}

/**
 * The worker role's part: the RUN_SOURCE handler and one schedule per source with a cron (re-registered
 * on every start, so an edited cron replaces the old one; BullMQ fires each tick once across workers).
 */
export async function registerSourceJobs(queue: JobQueue, deps: Omit<SourceJobDeps, 'queue'>): Promise<SourceService> {
  const service = createSourceService({ ...deps, queue });
  queue.handle('RUN_SOURCE', (ctx) => service.handle(ctx));
  for (const s of service.list()) {
    const config = deps.sources.get(s.name);
    if (!config?.schedule) {
      await queue.unschedule(`source-${s.name}`).catch(() => undefined);
      continue;
    }
    await queue.schedule({
      id: `source-${s.name}`,
      cron: config.schedule,
      job: () => ({ id: `source-${s.name}-${Date.now()}`, type: 'RUN_SOURCE', payload: { source: s.name, team: s.team, target: s.targets[0] }, attempts: SOURCE_RUN_ATTEMPTS, backoffMs: SOURCE_RUN_BACKOFF_MS }),
    });
  }
  return service;
}
