/**
 * The sources of an opened app: one {@link SourceService} per app (the worker role's handler and the
 * operations API share it). The composition root (src/main.ts) calls {@link registerAppSources} for the
 * worker role and {@link sourceServiceOf} for the operations API, and passes `openDatabase` (the warehouse
 * adapters) for the `postgres` type — this folder imports no adapter.
 */
import type { JobStore } from '../../jobs/job-store.js';
import type { JobQueue } from '../../jobs/port.js';
import type { Logger } from '../../log.js';
import type { ObjectStore } from '../../storage/port.js';
import type { Warehouse } from '../../warehouse/port.js';
import type { Target } from '../targets.js';
import { CONNECTOR_TYPES } from './registry.js';
import { createSourceService, registerSourceJobs, type SourceJobDeps, type SourceService } from './source-jobs.js';
import { SourceStateStore } from './state-store.js';
import type { SourceConfig } from './types.js';

/** What the sources need of an opened app. */
export interface SourceApp {
  readonly config: { readonly host: string; readonly port: number; readonly slackWebhookUrl: string | undefined };
  readonly log: Logger;
  readonly project: { readonly targets: ReadonlyMap<string, Target>; readonly sources: ReadonlyMap<string, SourceConfig> };
  readonly warehouse: Warehouse;
  readonly store: ObjectStore;
  readonly jobStore: JobStore;
  readonly queue: JobQueue;
  /** The change feed: after a load commits, every process drops its cached answers of the tables (src/main.ts). */
  readonly publishTablesChanged?: (tables: string[]) => Promise<void>;
}

export interface SourceWiring {
  /** Opens another database by URL (the `postgres` type). */
  openDatabase?: (url: string) => Promise<Warehouse>;
  /** Told which tables a run changed, so that every process drops their cached answers (default: the app's change feed). */
  onTablesChanged?: (tables: string[]) => Promise<void> | void;
}

const services = new WeakMap<SourceApp, SourceService>();

function depsOf(app: SourceApp, wiring: SourceWiring): Omit<SourceJobDeps, 'queue'> {
  const onTablesChanged = wiring.onTablesChanged ?? app.publishTablesChanged;
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
    publicBaseUrl: `http://${app.config.host.includes(':') ? `[${app.config.host}]` : app.config.host}:${app.config.port}`,
    ...(wiring.openDatabase ? { openDatabase: wiring.openDatabase } : {}),
    ...(onTablesChanged ? { onTablesChanged } : {}),
  };
}

/** The app's source service (created on first use). */
export function sourceServiceOf(app: SourceApp, wiring: SourceWiring = {}): SourceService {
  let service = services.get(app);
  if (!service) {
    service = createSourceService({ ...depsOf(app, wiring), queue: app.queue });
    services.set(app, service);
  }
  return service;
}

/** Worker role: the RUN_SOURCE handler and the sources' schedules on the app's queue. */
export async function registerAppSources(app: SourceApp, wiring: SourceWiring = {}): Promise<SourceService> {
  const service = await registerSourceJobs(app.queue, depsOf(app, wiring));
  services.set(app, service);
  return service;
}
