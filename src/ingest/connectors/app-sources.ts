/**
 * The sources of an opened App: one {@link SourceService} per App (the worker role's handler and the
 * operations API share it). The composition root calls {@link registerAppSources} for the worker role
 * and {@link sourceServiceOf} for the operations API — one line each.
 */
import type { App } from '../../app.js';
import type { JobQueue } from '../../jobs/port.js';
import { UserError } from '../../errors.js';
import { openWarehouse } from '../../warehouse/open.js';
import { CONNECTOR_TYPES } from './registry.js';
import { createSourceService, registerSourceJobs, type SourceJobDeps, type SourceService } from './source-jobs.js';
import { SourceStateStore } from './state-store.js';

const services = new WeakMap<App, SourceService>();

function depsOf(app: App): Omit<SourceJobDeps, 'queue'> {
  return {
    warehouse: app.warehouse,
    store: app.store,
    jobs: app.jobStore,
    state: new SourceStateStore(app.warehouse),
    targets: app.project.targets,
    sources: app.project.sources,
    types: CONNECTOR_TYPES,
    log: app.log,
    slackWebhookUrl: app.config.slackWebhookUrl,
    // The `postgres` type reads another PostgreSQL or Redshift database through the same adapters.
    openDatabase: (url) => {
      const m = /^(postgres|postgresql|redshift):\/\//.exec(url);
      if (!m) throw new UserError('SOURCE_FAILED', 'the database URL must start with postgres://, postgresql:// or redshift://');
      const pgUrl = m[1] === 'redshift' ? url.replace(/^redshift:/, 'postgres:') : url;
      return openWarehouse({ kind: m[1] === 'redshift' ? 'redshift' : 'postgres', url: pgUrl }, { statementTimeoutMs: app.config.limits.statementTimeoutMs, poolSize: 1 });
    },
    publicBaseUrl: `http://${app.config.host.includes(':') ? `[${app.config.host}]` : app.config.host}:${app.config.port}`,
  };
}

/** The App's source service (created on first use). */
export function sourceServiceOf(app: App): SourceService {
  let service = services.get(app);
  if (!service) {
    service = createSourceService({ ...depsOf(app), queue: app.queue });
    services.set(app, service);
  }
  return service;
}

/** Worker role: the RUN_SOURCE handler and the sources' schedules on the App's queue. */
export async function registerAppSources(app: App, queue: JobQueue = app.queue): Promise<SourceService> {
  const service = await registerSourceJobs(queue, depsOf(app));
  services.set(app, service);
  return service;
}
