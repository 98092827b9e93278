/**
 * The composition root: configuration → adapters → services. Commands (`serve`, `ingest`, `keys`, …)
 * open an App, use what they need and close it. Only this module knows which adapter is in use.
 */
import { loadConfig, type Config } from './config/env.js';
import { loadProject, type Project } from './config/project.js';
import { createLogger, type Logger } from './log.js';
import type { Warehouse } from './warehouse/port.js';
import type { ObjectStore } from './storage/port.js';
import type { JobQueue } from './jobs/port.js';
import { openWarehouse } from './warehouse/open.js';
import { openObjectStore } from './storage/open.js';
import { JobStore } from './jobs/job-store.js';
import { openJobQueue } from './jobs/open.js';
import { openChangeFeed } from './jobs/change-feed/open.js';
import { KeyStore } from './auth/key-store.js';
import { IngestService } from './ingest/ingest-service.js';
import { tableSpecOf } from './ingest/targets.js';
import { checkModelColumns } from './semantic/load.js';
import { checkModelQueries } from './semantic/check-queries.js';
import { ProblemCollector } from './errors.js';

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly project: Project;
  readonly warehouse: Warehouse;
  readonly store: ObjectStore;
  readonly jobStore: JobStore;
  readonly queue: JobQueue;
  readonly keys: KeyStore;
  readonly ingest: IngestService;
  /**
   * Registered by the API role: drops cached results of these tables after a load — by any process
   * of the deployment (the change feed, src/jobs/change-feed/). Also called with every target table
   * when changes may have been missed (the feed's connection to Redis came back).
   */
  onTablesChanged(listener: (tables: string[]) => void): void;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  config?: Config;
  log?: Logger;
  /** Checks that every model's columns exist in the warehouse (serve/check: yes). */
  checkColumns?: boolean;
  /** Runs before the column check, e.g. generating demo data into an empty warehouse. */
  beforeColumnCheck?: (warehouse: Warehouse, project: Project) => Promise<void>;
  /** Base URL the service is reachable at, for its own signed upload URLs. */
  publicBaseUrl?: string;
  /** BullMQ's queue name and key prefix, also naming the change feed's channel (tests isolate themselves with these). */
  queue?: { queueName?: string; prefix?: string };
}

/** Opens every adapter the configuration names and builds the services over them. */
export async function openApp(options: OpenAppOptions = {}): Promise<App> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? createLogger();
  const project = await loadProject(config.projectDir);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn('close failed', { err }));
  };
  try {
    const warehouse = await openWarehouse(config.warehouse, { statementTimeoutMs: config.limits.statementTimeoutMs, poolSize: config.warehousePoolSize });
    closers.push(() => warehouse.close());
    // Target tables exist from the start, so models over them can be checked and queried before any load.
    for (const target of project.targets.values()) await warehouse.ensureTable(tableSpecOf(target));
    if (options.beforeColumnCheck) await options.beforeColumnCheck(warehouse, project);
    if (options.checkColumns !== false) {
      const problems = new ProblemCollector();
      const describe = async (table: string) => (await warehouse.describeTable(table))?.map((c) => c.name);
      for (const p of await checkModelColumns(project.semantic, describe)) problems.add(p);
      // Columns first (clear messages); once they exist, the warehouse compiles every member (limit 0).
      if (problems.empty) {
        for (const p of await checkModelQueries(project.semantic, warehouse.dialect, (sql, params) => warehouse.query(sql, params))) problems.add(p);
      }
      problems.throwIfAny('MODEL_INVALID', `The project ${config.projectDir} does not match the warehouse`);
    }

    const store = await openObjectStore(config.objectStore);
    closers.push(() => store.close());
    const jobStore = new JobStore(warehouse);
    await jobStore.init();
    // Opened before the queue, so closed after it: jobs still finishing on close publish their changes.
    const changes = openChangeFeed({ redisUrl: config.redisUrl }, { logger: log, ...options.queue });
    closers.push(() => changes.close());
    const queue = openJobQueue({ redisUrl: config.redisUrl }, jobStore, { ...options.queue });
    closers.push(() => queue.close(10_000));
    const keys = new KeyStore(warehouse, { knownTeams: project.semantic.teams });
    await keys.init();

    // A missed change could have been any load's: then every table a load can change.
    const targetTables = [...project.targets.values()].map((t) => t.table);
    const ingest = new IngestService({
      warehouse,
      store,
      jobs: jobStore,
      queue,
      targets: project.targets,
      maxUploadBytes: config.limits.maxUploadBytes,
      signingSecret: config.signingSecret,
      publicBaseUrl: options.publicBaseUrl ?? `http://${config.host}:${config.port}`,
      // Awaited by ingestion before its job succeeds. Not thrown: the load did commit; a lost change costs
      // other API processes their freshness (up to the cache TTL), not the job.
      onTablesChanged: (tables) =>
        changes.publish(tables).catch((err: unknown) => log.warn('could not tell other processes of changed tables; their cached results may be stale until the cache TTL', { tables, err })),
    });

    return {
      config,
      log,
      project,
      warehouse,
      store,
      jobStore,
      queue,
      keys,
      ingest,
      onTablesChanged: (l) => void changes.subscribe(l, () => l(targetTables)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
