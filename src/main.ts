/**
 * The composition root: configuration → adapters → services → roles (api, worker), in one place. Only
 * this module knows which adapter is in use; every command (`serve`, `ingest`, `check`, `keys`, …) opens
 * an App, starts the roles it needs and closes it.
 *
 *   config (env + project) → warehouse, object store, job store + queue, change feed, keys
 *     → serving (every face's questions), ingestion, job control
 *       → api role: the HTTP server over serving, with the change feed invalidating its caches
 *       → worker role: the job handlers and schedules, taking jobs from the queue
 */
import type { FastifyInstance } from 'fastify';
import { createAccessControl } from './http/access-control.js';
import { loadConfig, type Config } from './config/env.js';
import { loadProject, type Project } from './config/project.js';
import { ProblemCollector, UserError } from './errors.js';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { describeCatalog, type Catalog } from './semantic/catalog.js';
import { ExportService } from './exports/export-service.js';
import { registerReportJobs, ReportService } from './exports/report-service.js';
import { ensureWriteBackTables } from './exports/write-back.js';
import { buildHttpServer, buildOpsHttpServer, type HttpParts, type OpsParts } from './http/server.js';
import { exportsPlugin } from './http/plugins/exports.js';
import { consolePlugin } from './http/plugins/console.js';
import type { HttpDeps } from './http/http-deps.js';
import { PrometheusRegistry } from './http/prometheus.js';
import { INBOX_PREFIX, IngestService } from './ingest/ingest-service.js';
import { tableSpecOf, teamOfTarget, type Target } from './ingest/targets.js';
import { KeyStore } from './auth/key-store.js';
import { openChangeFeed } from './jobs/change-feed/open.js';
import { createJobControl, type JobControl } from './jobs/job-control.js';
import { JobStore, type JobRecord } from './jobs/job-store.js';
import { openJobQueue } from './jobs/open.js';
import { joinPeers, type PeerMembership } from './jobs/peers.js';
import { combineEvents } from './jobs/combine-events.js';
import { jobLogEvents } from './jobs/job-log.js';
import type { JobQueue } from './jobs/port.js';
import { createLogger, type Logger } from './log.js';
import type { OperationsServices, TargetInfo } from './resolvers/operations.js';
import { checkModelColumns } from './semantic/load.js';
import { checkModelQueries } from './semantic/check-queries.js';
import { ResultCache } from './serving/result-cache.js';
import { ServingLayer } from './serving/serving.js';
import { odataPlugin } from './http/odata/plugin.js';
import { openObjectStore } from './storage/open.js';
import type { ObjectStore } from './storage/port.js';
import { openWarehouse, redshiftLoadOptions } from './warehouse/open.js';
import type { Warehouse } from './warehouse/port.js';
import { registerAppSources, sourceServiceOf } from './ingest/connectors/app-sources.js';
import { Rollups } from './rollups/rollups.js';
import { withRollups } from './rollups/rollup-warehouse.js';
import type { SourceService } from './ingest/connectors/source-jobs.js';

export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly project: Project;
  /** The warehouse, whose loads also refresh the rollups over the tables they change (src/rollups/). */
  readonly warehouse: Warehouse;
  /** The project's rollups: which are built, when each was refreshed. */
  readonly rollups: Rollups;
  readonly store: ObjectStore;
  readonly jobStore: JobStore;
  readonly queue: JobQueue;
  readonly keys: KeyStore;
  /** Every face's questions (GraphQL, the CLI, OData, exports) go through it. */
  readonly serving: ServingLayer;
  readonly ingest: IngestService;
  /** Exports on demand: EXPORT jobs, download links, the files behind /exports and `sextant export`. */
  readonly exports: ExportService;
  /** Scheduled exports (reports/*.yml): REPORT jobs, Slack, write-back. */
  readonly reports: ReportService;
  readonly jobControl: JobControl;
  /** The service's Prometheus metrics (served by the api role at /metrics). */
  readonly metrics: PrometheusRegistry;
  /**
   * Registered by the API role: drops cached results of these tables after a load — by any process
   * of the deployment (the change feed, src/jobs/change-feed/). Also called with every target table
   * when changes may have been missed (the feed's connection to Redis came back).
   */
  onTablesChanged(listener: (tables: string[]) => void): void;
  /** Tells every process of the deployment that a load changed these tables (never throws: a lost change costs freshness, not the load). */
  publishTablesChanged(tables: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  config?: Config;
  log?: Logger;
  /** Checks that every model's columns exist in the warehouse (serve/check: yes). */
  checkColumns?: boolean;
  /** Runs once the warehouse is open, before anything is written to it (start-up's access-mode check). */
  beforeWrites?: (warehouse: Warehouse) => Promise<void>;
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
    // Opened first: a Redshift warehouse stages its loads in the object store.
    const store = await openObjectStore(config.objectStore);
    closers.push(() => store.close());
    const redshift = await redshiftLoadOptions(config, store);
    const opened = await openWarehouse(config.warehouse, { statementTimeoutMs: config.limits.statementTimeoutMs, poolSize: config.warehousePoolSize, preparedStatements: config.preparedStatements, ...(config.duckdbMemoryLimit && { memoryLimit: config.duckdbMemoryLimit }), ...(redshift && { redshift }) });
    closers.push(() => opened.close());
    // Every load path below writes through this decorator: a load refreshes the rollups over its table in
    // its own transaction (once they are built, after the column check).
    const rollups = new Rollups(project.semantic, log);
    const warehouse = withRollups(opened, rollups);
    if (options.beforeWrites) await options.beforeWrites(warehouse);
    // Target tables exist from the start, so models over them can be checked and queried before any load.
    for (const target of project.targets.values()) await warehouse.ensureTable(tableSpecOf(target));
    // Write-back tables too (empty until their report first runs), so models may be defined on them.
    await ensureWriteBackTables(warehouse, project.reports.values());
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
    // Built (whole) when missing or changed, once the columns are known to exist; a command that skips the
    // column check only finds which rollups are current, and keeps those fresh.
    const rollupStart = await rollups.start(opened, { build: options.checkColumns !== false });

    const jobStore = new JobStore(warehouse);
    await jobStore.init();
    // Opened before the queue, so closed after it: jobs still finishing on close publish their changes.
    // SEXTANT_QUEUE_NAME separates deployments sharing one Redis; tests may also pass their own.
    const queueNames = { queueName: config.queueName, ...options.queue };
    const changes = await openChangeFeed({ redisUrl: config.redisUrl }, { logger: log, ...queueNames });
    closers.push(() => changes.close());
    // A rollup rebuilt here (its definition changed) is no longer what processes of the previous version
    // answer from: they hear it and stop (Rollups.recheck, followed by `serve`).
    const rebuiltBases = [...new Set(rollups.layouts.filter((l) => rollupStart.built.includes(l.id)).flatMap((l) => l.baseTables))];
    if (rebuiltBases.length > 0) {
      await changes.publish(rebuiltBases).catch((err: unknown) => log.warn('could not tell other processes of rebuilt rollups', { tables: rebuiltBases, err }));
    }
    const queue = await openJobQueue({ redisUrl: config.redisUrl }, jobStore, { logger: log, ...queueNames });
    // On shutdown running jobs get the deadline to finish; past it they are handed back (docs/deploy.md).
    closers.push(() => queue.close(config.shutdownTimeoutMs));
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
    // The uploads table, as the job and key tables above: else the first createUpload creates it.
    await ingest.init();

    const metrics = new PrometheusRegistry();
    metrics.setSources({
      queueName: config.redisUrl ? queueNames.queueName : 'in-process',
      ...(queue.counts && { queueCounts: () => queue.counts!() }),
      poolStats: () => warehouse.poolStats?.(),
    });
    const serving = new ServingLayer({
      project: project.semantic,
      warehouse,
      limits: { defaultRows: config.limits.defaultRows, maxRows: config.limits.maxRows },
      // The cache's own TTL applies; a TTL of 0 turns caching off (SEXTANT_RESULT_CACHE=off).
      cache: new ResultCache({ ...(config.resultCache ? {} : { ttlMs: 0 }), onLookup: (hit) => metrics.cacheLookups.inc({ result: hit ? 'hit' : 'miss' }) }),
      timeoutMs: config.limits.statementTimeoutMs,
      onQuery: (e) => metrics.warehouseDuration.observe({ model: e.model, outcome: e.ok ? 'ok' : 'error' }, e.durationMs / 1000),
      rollups: { built: rollups.built, refreshedAt: () => rollups.refreshedAt(opened) },
    });

    const exports = new ExportService({
      serving,
      store,
      jobs: jobStore,
      queue,
      keys,
      signingSecret: config.signingSecret,
      publicBaseUrl: options.publicBaseUrl ?? `http://${config.host}:${config.port}`,
      reportLinkTtlSeconds: config.reportLinkTtlSeconds,
      unloadMinRows: config.unloadMinRows,
      log,
    });

    const reports = new ReportService({
      reports: project.reports,
      serving,
      store,
      warehouse,
      jobs: jobStore,
      queue,
      log,
      slackWebhookUrl: config.slackWebhookUrl,
      // The run is still RUNNING when Slack is told; the link is for the file it has just stored, and lasts
      // SEXTANT_REPORT_LINK_TTL (a week), not an export link's hour: people read Slack days later.
      downloadUrl: (job) => exports.reportDownloadUrl(job),
      onTablesChanged: (tables) =>
        changes.publish(tables).catch((err: unknown) => log.warn('could not tell other processes of changed tables; their cached results may be stale until the cache TTL', { tables, err })),
    });

    return {
      config,
      log,
      project,
      warehouse,
      rollups,
      store,
      jobStore,
      queue,
      keys,
      serving,
      ingest,
      exports,
      reports,
      jobControl: createJobControl(jobStore, queue),
      metrics,
      onTablesChanged: (l) => void changes.subscribe(l, () => l(targetTables)),
      publishTablesChanged: (tables) => changes.publish(tables).catch((err: unknown) => log.warn('could not tell other processes of changed tables; their cached results may be stale until the cache TTL', { tables, err })),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function targetInfo(t: Target): TargetInfo {
  return { name: t.name, table: t.table, team: teamOfTarget(t), key: t.key, columns: t.columns.map((c) => ({ name: c.name, type: c.type, required: c.required === true, from: c.from })) };
}

/** The operations API over the app's job store, queue and ingestion service. */
export function operationsServices(app: App): OperationsServices {
  const targets = [...app.project.targets.values()].map(targetInfo);
  const byName = new Map(targets.map((t) => [t.name, t]));
  return {
    jobs: { get: (id) => app.jobStore.get(id), list: (filter) => app.jobStore.list(filter) },
    targets: { get: (name) => byName.get(name), list: () => targets },
    ingest: {
      createUpload: (input) => app.ingest.createUpload(input),
      uploadTarget: (id) => app.ingest.uploadTarget(id),
      completeUpload: (id) => app.ingest.completeUpload(id),
      ingestObject: (input) => app.ingest.ingestObject(input),
    },
    control: app.jobControl,
    sources: sourceService(app),
    exports: app.exports,
    reports: { list: () => app.reports.list(), run: (input) => app.reports.run(input), lastRun: (name) => app.reports.lastRun(name) },
  };
}

/**
 * The app's sources (sources/*.yml): runs, schedules, state. The `postgres` type reads other PostgreSQL
 * or Redshift databases through the warehouse adapters, opened here (one connection each run).
 */
export function sourceService(app: App): SourceService {
  return sourceServiceOf(app, { openDatabase: (url) => openSourceDatabase(app, url) });
}

function openSourceDatabase(app: App, url: string): Promise<Warehouse> {
  const m = /^(postgres|postgresql|redshift):\/\//.exec(url);
  if (!m) throw new UserError('SOURCE_FAILED', 'the database URL must start with postgres://, postgresql:// or redshift://');
  const kind = m[1] === 'redshift' ? 'redshift' : 'postgres';
  return openWarehouse({ kind, url: kind === 'redshift' ? url.replace(/^redshift:/, 'postgres:') : url }, { statementTimeoutMs: app.config.limits.statementTimeoutMs, poolSize: 1 });
}

/**
 * Everything the HTTP server needs, from the app. Subscribes the serving layer to the change feed: a
 * load by any process drops the cached answers of the tables it changed.
 */
export function buildHttpDeps(app: App): HttpDeps {
  app.onTablesChanged((tables) => app.serving.invalidateTables(tables));
  // Keys (or keyless loopback), the per-key rate limit, and the GraphQL operation limits.
  const access = createAccessControl({ keys: app.keys, config: app.config });
  return {
    config: app.config,
    project: app.project.semantic,
    serving: app.serving,
    checks: { warehouse: () => app.warehouse.ping(), objectStore: () => app.store.ping(), queue: () => app.queue.ping() },
    operations: operationsServices(app),
    uploads: app.ingest,
    log: app.log,
    metrics: app.metrics,
    authenticate: access.authenticate,
    graphql: access.graphql,
    // The console at / and the Excel add-in at /excel/ (built into dist/console by `npm run build`), exports, the OData feed.
    plugins: [
      consolePlugin,
      exportsPlugin({ exports: app.exports, serving: app.serving, authenticate: access.authenticate, log: app.log }),
      odataPlugin({ serving: app.serving, authenticate: access.authenticate, maxRows: app.config.limits.maxRows, corsOrigins: app.config.corsOrigins, publicUrl: app.config.publicUrl }),
    ],
  };
}

/** The project and its catalog, without opening the warehouse (`sextant check` beside a running service). */
export async function loadProjectCatalog(config: Config): Promise<{ project: Project; catalog: Catalog }> {
  const project = await loadProject(config.projectDir);
  return { project, catalog: describeCatalog(project.semantic) };
}

/**
 * Puts a local file under `inbox/<target>/` in the object store, where a running service's inbox scan
 * picks it up (`sextant ingest` while the service holds the DuckDB file). Returns the object's key.
 */
export async function dropIntoInbox(config: Config, target: string, path: string): Promise<string> {
  const project = await loadProject(config.projectDir);
  if (!project.targets.has(target)) {
    throw new UserError('UNKNOWN_TARGET', `no target named "${target}"; expected one of: ${[...project.targets.keys()].sort().join(', ')}`);
  }
  const store = await openObjectStore(config.objectStore);
  try {
    const key = `${INBOX_PREFIX}${target}/${basename(path).replace(/[^\w.-]+/g, '_')}`;
    await store.put(key, createReadStream(path));
    return key;
  } finally {
    await store.close();
  }
}

/** The api role: the HTTP server over the app (not listening yet). */
export function buildApi(app: App): Promise<FastifyInstance & { sextant: HttpParts }> {
  return buildHttpServer(buildHttpDeps(app));
}

/** A worker's own small server (SEXTANT_METRICS_PORT): `/metrics` and `/health/*`, with the API's key rules. */
export function buildWorkerHttp(app: App): Promise<FastifyInstance & { sextant: OpsParts }> {
  const checks = { warehouse: () => app.warehouse.ping(), objectStore: () => app.store.ping(), queue: () => app.queue.ping() };
  return buildOpsHttpServer({ metrics: app.metrics, checks, log: app.log, authenticate: createAccessControl({ keys: app.keys, config: app.config }).authenticate });
}

export type { PeerMembership };

/**
 * Keeps this process's rollups in step with the warehouse when another process loads or starts with another
 * version of the project (a rolling deploy): on every change, the rollups over the changed tables are checked
 * against their state; the cached answers of tables whose rollups changed hands are dropped (after the
 * check, so that none computed from a stale rollup survives it).
 */
export function followRollups(app: App): void {
  if (app.rollups.layouts.length === 0) return;
  app.onTablesChanged((tables) => {
    app.rollups
      .recheck(app.warehouse, tables)
      .then((changed) => {
        if (changed.length > 0) app.serving.invalidateTables(changed);
      })
      .catch((err: unknown) => app.log.warn('could not check the rollups against the warehouse after a change', { tables, err }));
  });
}

/**
 * A serving process joins its deployment's processes on Redis, refusing to start (CONFIG_INVALID) when
 * one of them holds another signing secret or none (docs/deploy.md). Nothing to join without Redis.
 */
export async function joinDeployment(config: Config, log: Logger): Promise<PeerMembership | undefined> {
  if (!config.redisUrl) return undefined;
  return joinPeers({ redisUrl: config.redisUrl, signingSecret: config.signingSecret, role: config.role, queueName: config.queueName }, { logger: log });
}

/** The worker role: registers every job handler and schedule, then starts taking jobs. */
export async function startWorker(app: App): Promise<void> {
  app.queue.handle('INGEST_FILE', app.ingest.handleIngestJob);
  app.queue.handle('EXPORT', app.exports.handleExportJob);
  await registerReportJobs(app.queue, app.reports, app.log);
  app.queue.handle('INBOX_SCAN', async () => {
    const jobs = await app.ingest.scanInbox();
    return { picked: jobs.length };
  });
  await app.queue.schedule({
    id: 'inbox-scan',
    everyMs: app.config.inboxScanMs,
    job: () => ({ id: `inbox-scan-${Date.now()}`, type: 'INBOX_SCAN', payload: {}, attempts: 1 }),
  });
  await registerAppSources(app, { openDatabase: (url) => openSourceDatabase(app, url) });
  // The queues record every job into the JobStore themselves (src/jobs/open.ts).
  await app.queue.start({ concurrency: app.config.workerConcurrency, events: combineEvents([jobLogEvents(app.log), app.metrics.jobEvents()], app.log) });
}
