/**
 * The service's Prometheus metrics, on prom-client: one registry per App (tests open several in one
 * process), the series below plus prom-client's default process metrics (CPU, memory, event-loop lag,
 * GC, handles). docs/http.md lists every series.
 *
 * Values that exist elsewhere — queue depth, warehouse pool use — are read when Prometheus scrapes
 * (`collect`), through the sources the composition root hands in; events (requests, queries, jobs,
 * cache lookups) are counted as they happen.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Default buckets in seconds: 5 ms to 30 s, which spans a cached answer and a slow warehouse scan. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
/** Jobs run from well under a second (an inbox scan) to many minutes (a large load or export). */
export const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800] as const;

/** What `/metrics` reads at scrape time; each is optional (a process without a queue has no depth). */
export interface MetricSources {
  /** Jobs by state in the deployment's queue. */
  queueCounts?: () => Promise<{ waiting: number; active: number; delayed: number }>;
  /** The queue's name, labelling its depth. */
  queueName?: string;
  /** This process's warehouse connections. */
  poolStats?: () => { inUse: number; idle: number; waiting: number } | undefined;
}

/** The job events `/metrics` listens to (structurally the job queue's `JobEvents`). */
export interface JobMetricEvents {
  onActive(id: string, attempt: number, request?: { type: string; payload: Record<string, unknown> }): void;
  onCompleted(id: string, result: Record<string, unknown> | void): void;
  onFailed(id: string, error: Error, willRetry: boolean, attempt: number): void;
}

/** Operation names become label values: a client can send any string, so only tame ones and only so many. */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_NAMES = 200;

export class PrometheusRegistry {
  readonly registry = new Registry();
  readonly #operations = new Set<string>();
  #sources: MetricSources = {};

  readonly httpRequests = new Counter({
    name: 'sextant_http_requests_total',
    help: 'HTTP requests answered, by route, operation (the GraphQL operation name on /graphql, else the route), method and status.',
    labelNames: ['route', 'operation', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'sextant_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by route, operation (the GraphQL operation name on /graphql, else the route), method and status.',
    labelNames: ['route', 'operation', 'method', 'status'] as const,
    buckets: [...DEFAULT_BUCKETS],
    registers: [this.registry],
  });
  readonly warehouseDuration = new Histogram({
    name: 'sextant_warehouse_query_duration_seconds',
    help: 'Time of metrics statements in the warehouse, by model and outcome.',
    labelNames: ['model', 'outcome'] as const,
    buckets: [...DEFAULT_BUCKETS],
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: 'sextant_result_cache_lookups_total',
    help: 'Result-cache lookups of this process, by result (hit or miss).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'sextant_job_duration_seconds',
    help: 'Time of job attempts run by this process, by type and outcome (succeeded, failed, retried, cancelled).',
    labelNames: ['type', 'outcome'] as const,
    buckets: [...JOB_BUCKETS],
    registers: [this.registry],
  });
  readonly rowsLoaded = new Counter({
    name: 'sextant_rows_loaded_total',
    help: 'Rows loaded into the warehouse by jobs of this process, by job type and target.',
    labelNames: ['type', 'target'] as const,
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: 'sextant_queue_jobs',
    help: 'Jobs in the queue by state (waiting, active, delayed); with Redis, the whole deployment’s queue.',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      const { queueCounts, queueName = 'sextant' } = this.#sources;
      if (!queueCounts) return;
      // A scrape while Redis is down leaves the last values rather than failing the whole page.
      const counts = await queueCounts().catch(() => undefined);
      if (!counts) return;
      for (const state of ['waiting', 'active', 'delayed'] as const) this.queueJobs.set({ queue: queueName, state }, counts[state]);
    },
  });
  readonly poolConnections = new Gauge({
    name: 'sextant_warehouse_pool_connections',
    help: 'Warehouse connections of this process: in_use, idle, and waiting (callers queued for a connection).',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const stats = this.#sources.poolStats?.();
      if (!stats) return;
      this.poolConnections.set({ state: 'in_use' }, stats.inUse);
      this.poolConnections.set({ state: 'idle' }, stats.idle);
      this.poolConnections.set({ state: 'waiting' }, stats.waiting);
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Where scrape-time values come from (called once by the composition root). */
  setSources(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /**
   * The label of a GraphQL operation: its name when it is a tame identifier and one of the first
   * {@link MAX_OPERATION_NAMES} seen, `anonymous` without a name, else `other`.
   */
  operationLabel(name: unknown): string {
    if (typeof name !== 'string' || name === '') return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (!this.#operations.has(name)) {
      if (this.#operations.size >= MAX_OPERATION_NAMES) return 'other';
      this.#operations.add(name);
    }
    return name;
  }

  /** A listener for the job queue's events: attempt durations and outcomes by type, rows loaded. */
  jobEvents(): JobMetricEvents {
    const running = new Map<string, { type: string; target: string; started: number }>();
    const end = (id: string, outcome: string): { type: string; target: string } | undefined => {
      const r = running.get(id);
      if (!r) return undefined;
      running.delete(id);
      this.jobDuration.observe({ type: r.type, outcome }, (performance.now() - r.started) / 1000);
      return r;
    };
    return {
      onActive: (id, _attempt, request) => {
        const target = request?.payload.target;
        running.set(id, { type: request?.type ?? 'unknown', target: typeof target === 'string' ? target : '', started: performance.now() });
      },
      onCompleted: (id, result) => {
        const r = end(id, 'succeeded');
        const rows = result?.rowsLoaded;
        if (r && typeof rows === 'number' && rows > 0) this.rowsLoaded.inc({ type: r.type, target: r.target }, rows);
      },
      onFailed: (id, error, willRetry) => {
        end(id, error.name === 'JobCancelledError' ? 'cancelled' : willRetry ? 'retried' : 'failed');
      },
    };
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
