/**
 * The operations API over a real JobStore (DuckDB and PostgreSQL) and the example project's targets:
 * team scoping of jobs and targets, invisible (not forbidden) jobs of other teams, ingest rights, and
 * clear errors for features that are not built yet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCan, assertMayIngestObject, LOOPBACK_PRINCIPAL, type Principal } from '../../src/auth/principal.js';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadTargets, teamOfTarget } from '../../src/ingest/targets.js';
import { loadProject } from '../../src/config/project.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { createSourceService, type SourceService } from '../../src/ingest/connectors/source-jobs.js';
import { SourceStateStore } from '../../src/ingest/connectors/state-store.js';
import { silentLogger } from '../../src/log.js';
import { JobStore, type JobRecord } from '../../src/jobs/job-store.js';
import type { OperationsServices, TargetInfo } from '../../src/resolvers/operations.js';
import { DIALECTS } from '../support/warehouses.js';
import { gql, startHarness, type Harness } from './graphql-harness.js';

const PRINCIPALS: Record<string, Principal> = {
  'social-reader': { keyId: 'k1', role: 'reader', teams: ['social'] },
  'social-ingest': { keyId: 'k2', role: 'ingest', teams: ['social'] },
};
const as = (who: keyof typeof PRINCIPALS) => ({ 'x-test-principal': who });
const authenticate = async (request: { headers: Record<string, unknown> }): Promise<Principal> =>
  PRINCIPALS[String(request.headers['x-test-principal'])] ?? LOOPBACK_PRINCIPAL;

const JOB_FIELDS = 'id type status source target attempts progress createdAt startedAt finishedAt rowsRead rowsLoaded rowsRejected errors { line column message } rawObjects downloadUrl';

describe.each(DIALECTS)('operations on %s', (dialect) => {
  let h: Harness;
  let jobs: JobStore;
  let socialJob: JobRecord;
  let emailJob: JobRecord;
  let platformJob: JobRecord;
  const uploads = new Map<string, string>();
  const calls: string[] = [];
  const enqueued: string[] = [];

  beforeAll(async () => {
    const { targets } = await loadTargets(EXAMPLE_PROJECT);
    const infos: TargetInfo[] = [...targets.values()].map((t) => ({ name: t.name, table: t.table, team: teamOfTarget(t), key: t.key, columns: t.columns }));
    // The ingestion service checks the principal itself (tested on the real one in ingest-service.test.ts);
    // this stand-in applies the same rule so the resolvers' plumbing can be seen end to end.
    const mayIngest = (principal: Principal, target: string) => assertCan(principal, 'ingest', teamOfTarget(targets.get(target)!));
    let store: JobStore | undefined;
    const ingestJob = async (target: string, payload: Record<string, unknown>, createdBy?: string | null) =>
      store!.create({ type: 'INGEST_FILE', team: target.split('_')[0], target, payload, createdBy: createdBy ?? null });
    let sources: SourceService | undefined;
    const services: OperationsServices = {
      sources: {
        list: () => sources!.list(),
        run: (input) => sources!.run(input),
        lastRun: (name) => sources!.lastRun(name),
        state: (name) => sources!.state(name),
        nextRun: (name) => sources!.nextRun(name, new Date('2026-11-30T12:00:00Z')),
      },
      jobs: { get: (id) => store!.get(id), list: (filter) => store!.list(filter) },
      targets: { get: (name) => infos.find((t) => t.name === name), list: () => infos },
      ingest: {
        createUpload: async ({ target, filename, principal }) => {
          mayIngest(principal, target);
          const id = `up-${uploads.size + 1}`;
          uploads.set(id, target);
          calls.push(`createUpload ${target} ${filename}`);
          return { id, uploadUrl: `http://localhost/uploads/${id}?sig=s&exp=1`, expiresAt: new Date(Date.UTC(2030, 0, 1)).toISOString() };
        },
        uploadTarget: async (id) => uploads.get(id),
        completeUpload: async ({ id, principal }) => {
          mayIngest(principal, uploads.get(id)!);
          return ingestJob(uploads.get(id)!, { upload: id }, principal.keyId);
        },
        ingestObject: async ({ target, key, principal }) => {
          mayIngest(principal, target);
          assertMayIngestObject(principal, key, (name) => (targets.has(name) ? teamOfTarget(targets.get(name)!) : undefined));
          return ingestJob(target, { key }, principal.keyId);
        },
      },
      control: {
        retry: async (id) => {
          const job = (await store!.get(id))!;
          return store!.create({ type: job.type, team: job.team, target: job.target, payload: { retryOf: id } });
        },
        cancel: async (id) => {
          await store!.markCancelled(id);
          return (await store!.get(id))!;
        },
      },
    };
    h = await startHarness(dialect, { authenticate, operations: services, empty: true });
    store = jobs = new JobStore(h.raw);
    await jobs.init();
    const project = await loadProject(EXAMPLE_PROJECT);
    sources = createSourceService({
      warehouse: h.raw,
      store: undefined as never,
      jobs,
      state: new SourceStateStore(h.raw),
      targets: project.targets,
      sources: project.sources,
      types: CONNECTOR_TYPES,
      log: silentLogger,
      queue: { enqueue: async (job: { id: string }) => void enqueued.push(job.id) } as never,
    });
    socialJob = await jobs.create({ type: 'INGEST_FILE', team: 'social', target: 'social_manual_posts' });
    emailJob = await jobs.create({ type: 'INGEST_FILE', team: 'email', target: 'email_manual_campaigns' });
    platformJob = await jobs.create({ type: 'INBOX_SCAN' });
  });
  afterAll(async () => h?.close());

  it('lists only the jobs of the key’s teams; all-team keys also see platform jobs', async () => {
    const mine = await gql(h.app, `{ jobs { id target } }`, undefined, as('social-reader'));
    expect(mine.body.errors).toBeUndefined();
    expect((mine.body.data!.jobs as Array<{ id: string }>).map((j) => j.id)).toEqual([socialJob.id]);
    const all = await gql(h.app, `{ jobs(limit: 10) { id } }`);
    expect((all.body.data!.jobs as Array<{ id: string }>).map((j) => j.id).sort()).toEqual([socialJob.id, emailJob.id, platformJob.id].sort());
    const filtered = await gql(h.app, `{ jobs(type: INBOX_SCAN) { id type status } }`);
    expect(filtered.body.data!.jobs).toEqual([{ id: platformJob.id, type: 'INBOX_SCAN', status: 'QUEUED' }]);
  });

  it('answers job(id) of another team with null, not an error', async () => {
    const other = await gql(h.app, `query($id: ID!) { job(id: $id) { id } }`, { id: emailJob.id }, as('social-reader'));
    expect(other.body).toEqual({ data: { job: null } });
    const own = await gql(h.app, `query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: socialJob.id }, as('social-reader'));
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data!.job).toMatchObject({
      id: socialJob.id,
      type: 'INGEST_FILE',
      status: 'QUEUED',
      target: 'social_manual_posts',
      attempts: 0,
      progress: 0,
      createdAt: new Date(socialJob.createdAt).toISOString(),
      startedAt: null,
      errors: [],
      rawObjects: [],
      downloadUrl: null,
    });
  });

  it('lists the targets of the key’s teams with their columns', async () => {
    const res = await gql(h.app, `{ targets { name table key columns { name from type required } } sources { name } reports { name } }`, undefined, as('social-reader'));
    expect(res.body.errors).toBeUndefined();
    const targets = res.body.data!.targets as Array<{ name: string; table: string; columns: Array<{ name: string; from: string }> }>;
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.every((t) => t.table.startsWith('social.'))).toBe(true);
    const manual = targets.find((t) => t.name === 'social_manual_posts')!;
    expect(manual.columns).toContainEqual({ name: 'post_id', from: 'Post ID', type: 'string', required: true });
    // Only the sources whose targets are all the social team's.
    expect(res.body.data!.sources).toEqual([{ name: 'social_facebook' }, { name: 'social_instagram' }, { name: 'social_x' }]);
    expect(res.body.data!.reports).toEqual([]);
  });

  it('lets an ingest key upload to its team’s targets only, and a reader not at all', async () => {
    const m = `mutation($t: String!) { createUpload(target: $t, filename: "posts.csv") { id uploadUrl expiresAt } }`;
    const reader = await gql(h.app, m, { t: 'social_manual_posts' }, as('social-reader'));
    expect(reader.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const other = await gql(h.app, m, { t: 'email_manual_campaigns' }, as('social-ingest'));
    expect(other.body.errors?.[0].extensions?.code).toBe('UNKNOWN_TARGET');
    expect(other.body.errors?.[0].message).toMatch(/no target named "email_manual_campaigns"; expected one of: .*social_manual_posts/);
    // Other teams' targets are not listed.
    expect(other.body.errors?.[0].message).not.toMatch(/email_campaign_daily/);
    const ok = await gql(h.app, m, { t: 'social_manual_posts' }, as('social-ingest'));
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data!.createUpload).toEqual({ id: expect.any(String), uploadUrl: expect.stringMatching(/^http/), expiresAt: '2030-01-01T00:00:00.000Z' });

    const id = (ok.body.data!.createUpload as { id: string }).id;
    const done = await gql(h.app, `mutation($id: ID!) { completeUpload(id: $id) { status target } }`, { id }, as('social-ingest'));
    expect(done.body.data!.completeUpload).toEqual({ status: 'QUEUED', target: 'social_manual_posts' });

    // An upload made for another team is unknown to this key.
    const emailUpload = await gql(h.app, m, { t: 'email_manual_campaigns' });
    const emailId = (emailUpload.body.data!.createUpload as { id: string }).id;
    const foreign = await gql(h.app, `mutation($id: ID!) { completeUpload(id: $id) { id } }`, { id: emailId }, as('social-ingest'));
    expect(foreign.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('limits a team key’s ingestObject to its targets’ inbox and raw areas', async () => {
    const m = `mutation($k: String!) { ingestObject(target: "social_manual_posts", key: $k) { status target } }`;
    const foreign = await gql(h.app, m, { k: 'inbox/email_manual_campaigns/list.csv' }, as('social-ingest'));
    expect(foreign.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const own = await gql(h.app, m, { k: 'inbox/social_manual_posts/posts.csv' }, as('social-ingest'));
    expect(own.body.data!.ingestObject).toEqual({ status: 'QUEUED', target: 'social_manual_posts' });
  });

  it('cancels and retries only visible jobs the key may ingest for', async () => {
    const m = `mutation($id: ID!) { cancelJob(id: $id) { id status } }`;
    const hidden = await gql(h.app, m, { id: emailJob.id }, as('social-ingest'));
    expect(hidden.body.errors?.[0].extensions?.code).toBe('UNKNOWN_JOB');
    const reader = await gql(h.app, m, { id: socialJob.id }, as('social-reader'));
    expect(reader.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const platform = await gql(h.app, m, { id: platformJob.id }, as('social-ingest'));
    expect(platform.body.errors?.[0].extensions?.code).toBe('UNKNOWN_JOB');
    const ok = await gql(h.app, m, { id: socialJob.id }, as('social-ingest'));
    expect(ok.body.data!.cancelJob).toEqual({ id: socialJob.id, status: 'CANCELLED' });
    const retry = await gql(h.app, `mutation($id: ID!) { retryJob(id: $id) { status target } }`, { id: socialJob.id }, as('social-ingest'));
    expect(retry.body.data!.retryJob).toEqual({ status: 'QUEUED', target: 'social_manual_posts' });
  });

  it('shows sources with schedule, next run, state and last run; runSource queues a run for ingest keys of the team', async () => {
    const list = await gql(h.app, `{ sources { name type schedule targets nextRun state { lastCompleteDay } lastRun { id } } }`, undefined, as('social-reader'));
    expect(list.body.errors).toBeUndefined();
    expect((list.body.data!.sources as unknown[])[0]).toEqual({
      name: 'social_facebook',
      type: 'facebook_pages',
      schedule: '0 6 * * *',
      targets: ['social_accounts', 'social_account_daily', 'social_post_daily'],
      nextRun: '2026-12-01T06:00:00.000Z',
      state: null,
      lastRun: null,
    });
    const m = `mutation { runSource(name: "social_facebook", from: "2026-09-01", to: "2026-09-30") { id type status source target } }`;
    const denied = await gql(h.app, m, undefined, as('social-reader'));
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const run = await gql(h.app, m, undefined, as('social-ingest'));
    expect(run.body.errors).toBeUndefined();
    expect(run.body.data!.runSource).toMatchObject({ type: 'RUN_SOURCE', status: 'QUEUED', source: 'social_facebook', target: 'social_accounts' });
    expect(enqueued).toContain((run.body.data!.runSource as { id: string }).id);
    const last = await gql(h.app, `{ sources { name lastRun { id } } }`, undefined, as('social-reader'));
    expect((last.body.data!.sources as Array<{ lastRun: { id: string } | null }>)[0].lastRun?.id).toBe((run.body.data!.runSource as { id: string }).id);
    // Another team's source answers like an unknown one.
    const other = await gql(h.app, `mutation { runSource(name: "email_partner_campaigns") { id } }`, undefined, as('social-ingest'));
    expect(other.body.errors?.[0].extensions?.code).toBe('UNKNOWN_SOURCE');
  });

  it('answers clear errors for an unknown source, and for reports and exports that this server does not offer', async () => {
    const source = await gql(h.app, `mutation { runSource(name: "facebook_pages") { id } }`);
    expect(source.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^no source named "facebook_pages"/), extensions: { code: 'UNKNOWN_SOURCE' } });
    const report = await gql(h.app, `mutation { runReport(name: "weekly") { id } }`);
    expect(report.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^no report named "weekly"/), extensions: { code: 'BAD_USER_INPUT' } });
    const exp = await gql(h.app, `mutation { exportQuery(query: { model: "social.post_performance", measures: ["impressions"] }, format: CSV) { id } }`);
    expect(exp.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/assembled without an export service/), extensions: { code: 'BAD_USER_INPUT' } });
    const hiddenModel = await gql(
      h.app,
      `mutation { exportQuery(query: { model: "email.campaigns", measures: ["sends"] }, format: XLSX) { id } }`,
      undefined,
      as('social-reader'),
    );
    expect(hiddenModel.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/cannot read team email/), extensions: { code: 'FORBIDDEN' } });
  });
});
