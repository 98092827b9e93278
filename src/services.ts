/**
 * Wires the app's services into the faces: the operations API's small interfaces, embedded-mode
 * uploads, authentication with the per-key rate limit, the GraphQL limits, and the result cache that
 * loads invalidate. Kept apart from src/app.ts so that the app itself knows nothing of HTTP.
 */
import type { App } from './app.js';
import { createAccessControl } from './auth/access-control.js';
import { UserError } from './errors.js';
import type { HttpDeps } from './http/http-deps.js';
import type { OperationsServices, TargetInfo } from './resolvers/operations.js';
import { ResultCache } from './resolvers/result-cache.js';
import type { Target } from './ingest/targets.js';
import { sourceServiceOf } from './ingest/connectors/app-sources.js';

function targetInfo(t: Target): TargetInfo {
  return { name: t.name, table: t.table, key: t.key, columns: t.columns.map((c) => ({ name: c.name, type: c.type, required: c.required === true, from: c.from })) };
}

/** The operations API over the app's job store, queue and ingestion service. */
export function operationsServices(app: App): OperationsServices {
  const targets = [...app.project.targets.values()].map(targetInfo);
  const byName = new Map(targets.map((t) => [t.name, t]));
  return {
    jobs: { get: (id) => app.jobStore.get(id), list: (filter) => app.jobStore.list(filter) },
    targets: { get: (name) => byName.get(name), list: () => targets },
    sources: sourceServiceOf(app),
    ingest: {
      createUpload: (input) => app.ingest.createUpload(input),
      uploadTarget: (id) => app.ingest.uploadTarget(id),
      completeUpload: (id) => app.ingest.completeUpload(id),
      ingestObject: (input) => app.ingest.ingestObject(input),
    },
    control: {
      // A retry is a new job with the same request: queue back ends keep the finished job under its id.
      retry: async (id) => {
        const job = await app.jobStore.get(id);
        if (!job) throw new UserError('UNKNOWN_JOB', `no job with id "${id}"`);
        if (job.status === 'QUEUED' || job.status === 'RUNNING') throw new UserError('BAD_USER_INPUT', `job ${id} is ${job.status}; only a finished job can be retried`);
        const again = await app.jobStore.create({
          type: job.type,
          payload: { ...job.payload, retryOf: job.id },
          team: job.team,
          source: job.source,
          target: job.target,
          maxAttempts: job.maxAttempts,
          createdBy: job.createdBy,
        });
        await app.queue.enqueue({ id: again.id, type: again.type, payload: again.payload, attempts: again.maxAttempts });
        return again;
      },
      cancel: async (id) => {
        const job = await app.jobStore.get(id);
        if (!job) throw new UserError('UNKNOWN_JOB', `no job with id "${id}"`);
        if (job.status === 'QUEUED' || job.status === 'RUNNING') {
          await app.queue.cancel(id);
          if (job.status === 'QUEUED') await app.jobStore.markCancelled(id);
        }
        return (await app.jobStore.get(id)) ?? job;
      },
    },
  };
}

/** Everything the HTTP server needs, from the app. */
export function buildHttpDeps(app: App): HttpDeps {
  // The cache's own TTL applies; a TTL of 0 turns caching off (SEXTANT_RESULT_CACHE=off).
  const resultCache = new ResultCache(app.config.resultCache ? {} : { ttlMs: 0 });
  app.onTablesChanged((tables) => resultCache.invalidateTables(tables));
  // Keys (or keyless loopback), the per-key rate limit, and the GraphQL operation limits.
  const access = createAccessControl({ keys: app.keys, config: app.config });
  return {
    config: app.config,
    project: app.project.semantic,
    warehouse: app.warehouse,
    store: app.store,
    queue: app.queue,
    operations: operationsServices(app),
    uploads: app.ingest,
    log: app.log,
    resultCache,
    authenticate: access.authenticate,
    graphql: access.graphql,
  };
}
