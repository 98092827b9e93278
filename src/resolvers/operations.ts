/**
 * Resolvers of the fixed operations schema (schema/operations.graphql). They call the services the
 * composition root injects through the small interfaces below, and decide visibility here, through
 * src/auth/principal.ts: a job belongs to its target's team, and a job of another team is invisible
 * (`job(id)` answers null) rather than forbidden, so that ids cannot be probed.
 */
import { UserError } from '../errors.js';
import { assertCan, can, type Principal } from '../auth/principal.js';
import type { JobListFilter, JobRecord } from '../jobs/job-store.js';
import { JOB_STATUSES, JOB_TYPES, type JobStatus, type JobType } from '../jobs/port.js';
import type { SemanticQueryInput } from '../serving/types.js';
import type { UploadTicket } from '../ingest/uploads.js';
import type { RequestContext } from './request-context.js';
import type { FieldResolver, ResolverMap } from './resolver-map.js';

/** An ingestion target as the operations API shows it. */
export interface TargetInfo {
  name: string;
  /** `schema.table`; the schema is the team. */
  table: string;
  key: readonly string[];
  columns: ReadonlyArray<{ name: string; type: string; required: boolean; from?: string | undefined }>;
  /** The team that owns it (the schema of its table). */
  team: string;
}


export const EXPORT_FORMATS = ['XLSX', 'CSV'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The services the operations API calls; the composition root wires the real ones. */
export interface OperationsServices {
  jobs: {
    get(id: string): Promise<JobRecord | undefined>;
    list(filter: JobListFilter): Promise<JobRecord[]>;
  };
  /** Ingestion targets by name. */
  targets: { get(name: string): TargetInfo | undefined; list(): readonly TargetInfo[] };
  ingest: {
    /** Checks the principal may ingest into the target and the file name; answers where to PUT the bytes. */
    createUpload(input: { target: string; filename: string; contentType?: string; principal: Principal }): Promise<UploadTicket>;
    /** The target of an upload, or undefined when no upload has that id. */
    uploadTarget(id: string): Promise<string | undefined>;
    completeUpload(input: { id: string; principal: Principal }): Promise<JobRecord>;
    /** Checks the principal may ingest into the target and may read that object (auth/principal's object-key rule). */
    ingestObject(input: { target: string; key: string; principal: Principal }): Promise<JobRecord>;
  };
  control: {
    retry(id: string): Promise<JobRecord>;
    cancel(id: string): Promise<JobRecord>;
  };
  /** Export jobs (src/exports/); absent when the composition root offers none. */
  exports?: {
    /** Checks the question and the principal's access, then queues an EXPORT job of every row. */
    exportQuery(input: { principal: Principal; query: SemanticQueryInput; format: ExportFormat }): Promise<JobRecord>;
    /** Where this principal can download a finished export (null while it runs, or when it may not read the team). */
    downloadUrl(job: JobRecord, principal: Principal): Promise<string | null>;
  };
  /** Connector instances (sources/*.yml). */
  sources?: {
    list(): ReadonlyArray<{ name: string; type: string; schedule: string | null; targets: readonly string[] }>;
    run(input: { name: string; from?: string; to?: string; createdBy?: string | null }): Promise<JobRecord>;
    lastRun(name: string): Promise<JobRecord | null>;
    state(name: string): Promise<{ lastCompleteDay?: string; cursor?: string; updatedAt?: string } | null>;
    nextRun(name: string): Date | null;
  };
  /** Scheduled exports (reports/*.yml); absent until reports are built. */
  reports?: {
    list(): ReadonlyArray<{ name: string; team: string; format: ExportFormat; schedule: string | null; lastRun?: JobRecord | null }>;
    run(input: { name: string; createdBy?: string | null }): Promise<JobRecord>;
    /** The latest run of a report, when `list` does not carry it. */
    lastRun?(name: string): Promise<JobRecord | null>;
  };
}

/** True when the principal may see the job: jobs without a team (platform jobs) only to all-team keys. */
export function jobVisible(principal: Principal, job: Pick<JobRecord, 'team'>): boolean {
  if (job.team === null) return principal.teams === '*' && can(principal, 'read');
  return can(principal, 'read', job.team);
}

const MAX_JOBS = 1000;

export interface OperationsOptions {
  services: OperationsServices;
}

/** Resolvers of the operations schema. */
export function operationsResolvers({ services }: OperationsOptions): ResolverMap<RequestContext> {
  /** A visible target by name; another team's target answers like an unknown one. */
  const visibleTarget = (principal: Principal, name: string): TargetInfo => {
    const target = services.targets.get(name);
    if (!target || !can(principal, 'read', target.team)) {
      const known = services.targets.list().filter((t) => can(principal, 'read', t.team)).map((t) => t.name).sort();
      throw new UserError('UNKNOWN_TARGET', `no target named "${name}"; expected one of: ${known.join(', ') || '(none visible to this key)'}`);
    }
    return target;
  };

  const visibleJob = async (principal: Principal, id: string): Promise<JobRecord> => {
    const job = await services.jobs.get(id);
    if (!job || !jobVisible(principal, job)) throw new UserError('UNKNOWN_JOB', `no job with id "${id}"`);
    return job;
  };

  /** Retrying or cancelling a job needs the right to ingest for its team (admins: any job). */
  const assertControl = (principal: Principal, job: JobRecord) => {
    if (job.team === null) assertCan(principal, 'admin');
    else assertCan(principal, 'ingest', job.team);
  };

  const Query = {
    jobs: async (_: unknown, args: { status?: JobStatus | null; type?: JobType | null; source?: string | null; limit?: number | null }, ctx: RequestContext) => {
      const limit = args.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_JOBS) {
        throw new UserError('BAD_USER_INPUT', `limit: expected a whole number from 1 to ${MAX_JOBS}, got ${limit}`);
      }
      if (args.status && !JOB_STATUSES.includes(args.status)) throw new UserError('BAD_USER_INPUT', `status: unknown status "${args.status}"`);
      if (args.type && !JOB_TYPES.includes(args.type)) throw new UserError('BAD_USER_INPUT', `type: unknown job type "${args.type}"`);
      const teams: JobListFilter['teams'] = ctx.principal.teams === '*' ? '*' : ctx.teams;
      const jobs = await services.jobs.list({
        limit,
        teams,
        ...(args.status ? { status: args.status } : {}),
        ...(args.type ? { type: args.type } : {}),
        ...(args.source ? { source: args.source } : {}),
      });
      // The store already filters by team; filtering again keeps a store bug from leaking jobs.
      return jobs.filter((j) => jobVisible(ctx.principal, j));
    },
    job: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
      const job = await services.jobs.get(args.id);
      return job && jobVisible(ctx.principal, job) ? job : null;
    },
    sources: (_: unknown, __: unknown, ctx: RequestContext) =>
      (services.sources?.list() ?? []).filter((s) => s.targets.every((t) => {
        const target = services.targets.get(t);
        return target !== undefined && can(ctx.principal, 'read', target.team);
      })),
    targets: (_: unknown, __: unknown, ctx: RequestContext) => services.targets.list().filter((t) => can(ctx.principal, 'read', t.team)),
    reports: (_: unknown, __: unknown, ctx: RequestContext) => (services.reports?.list() ?? []).filter((r) => can(ctx.principal, 'read', r.team)),
  };

  const Mutation = {
    runSource: async (_: unknown, args: { name: string; from?: string | null; to?: string | null }, ctx: RequestContext) => {
      const source = services.sources?.list().find((s) => s.name === args.name);
      const visible = source?.targets.every((t) => {
        const target = services.targets.get(t);
        return target !== undefined && can(ctx.principal, 'read', target.team);
      });
      if (!services.sources || !source || !visible) {
        const known = (services.sources?.list() ?? []).filter((s) => s.targets.every((t) => {
          const target = services.targets.get(t);
          return target !== undefined && can(ctx.principal, 'read', target.team);
        })).map((s) => s.name).sort();
        throw new UserError('UNKNOWN_SOURCE', `no source named "${args.name}"; expected one of: ${known.join(', ') || '(none visible to this key; sources are sources/<name>.yml)'}`);
      }
      for (const t of source.targets) assertCan(ctx.principal, 'ingest', visibleTarget(ctx.principal, t).team);
      if (args.from && args.to && args.from > args.to) throw new UserError('BAD_USER_INPUT', `from (${args.from}) is after to (${args.to})`);
      return services.sources.run({ name: args.name, ...(args.from ? { from: args.from } : {}), ...(args.to ? { to: args.to } : {}), createdBy: ctx.principal.keyId ?? null });
    },
    createUpload: async (_: unknown, args: { target: string; filename: string; contentType?: string | null }, ctx: RequestContext) => {
      const target = visibleTarget(ctx.principal, args.target);
      return services.ingest.createUpload({ target: target.name, filename: args.filename, ...(args.contentType ? { contentType: args.contentType } : {}), principal: ctx.principal });
    },
    completeUpload: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
      const targetName = await services.ingest.uploadTarget(args.id);
      const target = targetName === undefined ? undefined : services.targets.get(targetName);
      if (!target || !can(ctx.principal, 'read', target.team)) throw new UserError('NOT_FOUND', `no upload with id "${args.id}"`);
      return services.ingest.completeUpload({ id: args.id, principal: ctx.principal });
    },
    ingestObject: async (_: unknown, args: { target: string; key: string }, ctx: RequestContext) => {
      const target = visibleTarget(ctx.principal, args.target);
      return services.ingest.ingestObject({ target: target.name, key: args.key, principal: ctx.principal });
    },
    exportQuery: async (_: unknown, args: { query: SemanticQueryInput; format: ExportFormat }, ctx: RequestContext) => {
      // Access first (FORBIDDEN naming the team, UNKNOWN_MODEL); the service checks the question as this principal too.
      ctx.serving.model(ctx.principal, args.query.model);
      if (!services.exports) throw new UserError('BAD_USER_INPUT', 'this server was assembled without an export service: use Query.metrics and save the rows yourself');
      return services.exports.exportQuery({ principal: ctx.principal, query: args.query, format: args.format });
    },
    runReport: async (_: unknown, args: { name: string }, ctx: RequestContext) => {
      const report = services.reports?.list().find((r) => r.name === args.name && can(ctx.principal, 'read', r.team));
      if (!services.reports || !report) {
        throw new UserError('BAD_USER_INPUT', `no report named "${args.name}": this project configures no reports${services.reports ? ' of that name' : ' yet (reports/<name>.yml)'}`);
      }
      return services.reports.run({ name: report.name, createdBy: ctx.principal.keyId ?? null });
    },
    retryJob: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
      const job = await visibleJob(ctx.principal, args.id);
      assertControl(ctx.principal, job);
      return services.control.retry(job.id);
    },
    cancelJob: async (_: unknown, args: { id: string }, ctx: RequestContext) => {
      const job = await visibleJob(ctx.principal, args.id);
      assertControl(ctx.principal, job);
      return services.control.cancel(job.id);
    },
  };

  const Job = {
    // A link for whoever asks (bound to their key), and only if they may read the job's team.
    downloadUrl: async (job: JobRecord, _: unknown, ctx: RequestContext) => (job.resultKey && services.exports ? services.exports.downloadUrl(job, ctx.principal) : null),
    errors: (job: JobRecord) => job.errors.map((e) => ({ line: e.line ?? null, column: e.column ?? null, message: e.message })),
  };
  const Source = {
    lastRun: async (source: { name: string }, _: unknown, ctx: RequestContext) => {
      const job = await services.sources?.lastRun(source.name);
      return job && jobVisible(ctx.principal, job) ? job : null;
    },
    state: (source: { name: string }) => services.sources?.state(source.name) ?? null,
    nextRun: (source: { name: string }) => services.sources?.nextRun(source.name) ?? null,
  };
  const TargetColumn = { from: (c: { name: string; from?: string | undefined }) => c.from ?? c.name };
  // The list resolver has already kept only the reports of the key's teams.
  const Report = {
    lastRun: (r: { name: string; lastRun?: JobRecord | null }) => (r.lastRun !== undefined ? r.lastRun : (services.reports?.lastRun?.(r.name) ?? null)),
  };

  const asResolvers = (fields: Record<string, unknown>) => fields as Record<string, FieldResolver<RequestContext>>;
  return { Query: asResolvers(Query), Mutation: asResolvers(Mutation), Job: asResolvers(Job), Source: asResolvers(Source), TargetColumn: asResolvers(TargetColumn), Report: asResolvers(Report) };
}
