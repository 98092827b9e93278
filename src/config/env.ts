/**
 * The environment (docs/environment.md): read once at start-up, every problem listed together, then frozen.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProblemCollector } from '../errors.js';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export type WarehouseUrl = { kind: 'duckdb'; path: string } | { kind: 'postgres' | 'redshift'; url: string };
export type ObjectStoreUrl = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region: string };

export interface Config {
  readonly warehouse: WarehouseUrl;
  readonly objectStore: ObjectStoreUrl;
  readonly redisUrl: string | undefined;
  readonly projectDir: string;
  readonly host: string;
  readonly port: number;
  readonly role: Role;
  readonly slackWebhookUrl: string | undefined;
  /** Seconds the link of a report's file (sent to Slack) works (SEXTANT_REPORT_LINK_TTL; a week by default). */
  readonly reportLinkTtlSeconds: number;
  /** A CSV export on Redshift of at least this many rows runs as UNLOAD to S3 (SEXTANT_UNLOAD_MIN_ROWS; 0: never). */
  readonly unloadMinRows: number;
  /** production: errors masked, introspection and the query page off unless enabled. */
  readonly production: boolean;
  readonly limits: Readonly<{
    /** Default `limit` of a metrics query. */
    defaultRows: number;
    /** Cap on `limit` of a metrics query. */
    maxRows: number;
    /** Warehouse statement timeout in ms. */
    statementTimeoutMs: number;
    /** Largest accepted upload in bytes. */
    maxUploadBytes: number;
    /** Largest accepted request body in bytes. */
    maxBodyBytes: number;
    /** Requests per minute per API key. */
    rateLimitPerMinute: number;
  }>;
  /** Introspection and the query page, default on outside production. */
  readonly introspection: boolean;
  /** Connections each process keeps to the warehouse (default 10 for PostgreSQL/Redshift, 4 for DuckDB). */
  readonly warehousePoolSize: number;
  /** Prepared statements each warehouse connection keeps for the serving layer's reads (0: none). */
  readonly preparedStatements: number;
  /** SEXTANT_DUCKDB_MEMORY_LIMIT: DuckDB's `memory_limit` (`256MB`); undefined: the warehouse's default (128MB for a file). */
  readonly duckdbMemoryLimit: string | undefined;
  /** Worker concurrency of this process. */
  readonly workerConcurrency: number;
  /** IAM role Redshift's COPY reads staged files with (SEXTANT_REDSHIFT_IAM_ROLE); set for a Redshift warehouse. */
  readonly redshiftIamRole: string | undefined;
  /** Secret for signing the service's own upload and download URLs. */
  readonly signingSecret: string | undefined;
  /** `auto`: generate the demo data when the bundled example project's warehouse is empty; `off`: never. */
  readonly demo: 'auto' | 'off';
  /** Cache metric results across requests (dropped per table when a load changes it). */
  readonly resultCache: boolean;
  /** How often files under inbox/<target>/ are picked up, in ms. */
  readonly inboxScanMs: number;
  /** Browser origins allowed to read the OData feed across origins (SEXTANT_CORS_ORIGINS, comma-separated). */
  readonly corsOrigins: readonly string[];
  /** The service's public base URL (SEXTANT_PUBLIC_URL), for absolute links behind a proxy: OData nextLink, connection files. */
  readonly publicUrl: string | undefined;
  /** How long a SIGTERM/SIGINT waits for in-flight requests and running jobs (SEXTANT_SHUTDOWN_TIMEOUT_MS). */
  readonly shutdownTimeoutMs: number;
  /** How long an API process answers /health/ready with 503 before it stops accepting (SEXTANT_SHUTDOWN_DELAY_MS). */
  readonly shutdownDelayMs: number;
  /** BullMQ's queue name, also naming the change feed's channel (SEXTANT_QUEUE_NAME, default `sextant`). */
  readonly queueName: string;
  /** A worker's own port for /metrics and /health/* (SEXTANT_METRICS_PORT); unset: a worker listens on nothing. */
  readonly metricsPort: number | undefined;
}

/** The repository root (two levels above this file in both src/ and dist/src/). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

/** The bundled example project, used when SEXTANT_PROJECT is unset. */
export const EXAMPLE_PROJECT = resolve(REPO_ROOT, 'examples', 'agency');

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: ProblemCollector, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    problems.add({ file: 'environment', path: name, message: `expected an integer ≥ ${min}, got "${raw}"` });
    return fallback;
  }
  return n;
}

/** Reads and validates the environment; throws CONFIG_INVALID listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const problems = new ProblemCollector();

  const whRaw = env.SEXTANT_WAREHOUSE || 'duckdb:data/warehouse.duckdb';
  let warehouse: WarehouseUrl = { kind: 'duckdb', path: resolve(cwd, 'data/warehouse.duckdb') };
  if (whRaw.startsWith('duckdb:')) {
    const p = whRaw.slice('duckdb:'.length);
    warehouse = { kind: 'duckdb', path: p === ':memory:' ? ':memory:' : resolve(cwd, p || 'data/warehouse.duckdb') };
  } else if (/^postgres(ql)?:\/\//.test(whRaw)) {
    warehouse = { kind: 'postgres', url: whRaw };
  } else if (whRaw.startsWith('redshift://')) {
    warehouse = { kind: 'redshift', url: whRaw.replace(/^redshift:/, 'postgres:') };
  } else {
    problems.add({ file: 'environment', path: 'SEXTANT_WAREHOUSE', message: `expected duckdb:<path>, postgres://… or redshift://…, got "${whRaw}"` });
  }

  const osRaw = env.SEXTANT_OBJECT_STORE || 'file:data/objects';
  let objectStore: ObjectStoreUrl = { kind: 'file', dir: resolve(cwd, 'data/objects') };
  if (osRaw.startsWith('file:')) {
    objectStore = { kind: 'file', dir: resolve(cwd, osRaw.slice('file:'.length) || 'data/objects') };
  } else if (osRaw.startsWith('s3://')) {
    const rest = osRaw.slice('s3://'.length);
    const [bucket, ...prefix] = rest.split('/');
    if (!bucket) problems.add({ file: 'environment', path: 'SEXTANT_OBJECT_STORE', message: 'expected s3://bucket/prefix, the bucket is missing' });
    objectStore = {
      kind: 's3',
      bucket: bucket ?? '',
      prefix: prefix.filter(Boolean).join('/'),
      endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    };
  } else {
    problems.add({ file: 'environment', path: 'SEXTANT_OBJECT_STORE', message: `expected file:<dir> or s3://bucket/prefix, got "${osRaw}"` });
  }

  // Redshift loads with COPY from S3: it needs the S3 object store (batches are staged there) and an
  // IAM role attached to the cluster or workgroup that can read the bucket.
  const redshiftIamRole = env.SEXTANT_REDSHIFT_IAM_ROLE || undefined;
  if (redshiftIamRole !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(redshiftIamRole)) {
    problems.add({ file: 'environment', path: 'SEXTANT_REDSHIFT_IAM_ROLE', message: `expected an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>, got "${redshiftIamRole}"` });
  }
  if (warehouse.kind === 'redshift') {
    if (objectStore.kind !== 's3') {
      problems.add({ file: 'environment', path: 'SEXTANT_OBJECT_STORE', message: `a Redshift warehouse loads from S3 (COPY … MANIFEST): expected s3://bucket/prefix, got "${osRaw}"` });
    }
    if (redshiftIamRole === undefined) {
      problems.add({ file: 'environment', path: 'SEXTANT_REDSHIFT_IAM_ROLE', message: 'a Redshift warehouse needs the IAM role its COPY reads the staged files with, e.g. arn:aws:iam::123456789012:role/sextant-copy' });
    }
  }

  const redisUrl = env.SEXTANT_REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    problems.add({ file: 'environment', path: 'SEXTANT_REDIS_URL', message: `expected redis://… or rediss://…, got "${redisUrl}"` });
  }

  const role = (env.SEXTANT_ROLE || 'all') as Role;
  if (!ROLES.includes(role)) problems.add({ file: 'environment', path: 'SEXTANT_ROLE', message: `expected one of ${ROLES.join(', ')}, got "${role}"` });
  if (role !== 'all' && !redisUrl) {
    problems.add({ file: 'environment', path: 'SEXTANT_ROLE', message: `"${role}" splits API and workers across processes, which needs SEXTANT_REDIS_URL (the in-process queue lives in one process)` });
  }
  // A split deployment is several processes: a URL one process signs is checked by another, so they need
  // one secret (a random per-process secret would make every other process refuse it).
  if (role !== 'all' && !env.SEXTANT_SIGNING_SECRET) {
    problems.add({ file: 'environment', path: 'SEXTANT_SIGNING_SECRET', message: `SEXTANT_ROLE=${role} runs one of several processes, which must share one signing secret: set SEXTANT_SIGNING_SECRET to the same random value (e.g. \`openssl rand -hex 32\`) in every process` });
  }

  const production = env.NODE_ENV === 'production';
  const port = int(env, 'PORT', 4000, problems, 0);
  if (port > 65535) problems.add({ file: 'environment', path: 'PORT', message: `expected a port number, got ${port}` });

  const limits = Object.freeze({
    defaultRows: int(env, 'SEXTANT_DEFAULT_ROWS', 1000, problems),
    maxRows: int(env, 'SEXTANT_MAX_ROWS', 50_000, problems),
    statementTimeoutMs: int(env, 'SEXTANT_STATEMENT_TIMEOUT_MS', 30_000, problems),
    maxUploadBytes: int(env, 'SEXTANT_MAX_UPLOAD_BYTES', 1024 * 1024 * 1024, problems),
    maxBodyBytes: int(env, 'SEXTANT_MAX_BODY_BYTES', 1024 * 1024, problems),
    rateLimitPerMinute: int(env, 'SEXTANT_RATE_LIMIT_PER_MINUTE', 600, problems),
  });

  const introspectionRaw = env.SEXTANT_INTROSPECTION;
  if (introspectionRaw !== undefined && !['true', 'false'].includes(introspectionRaw)) {
    problems.add({ file: 'environment', path: 'SEXTANT_INTROSPECTION', message: `expected true or false, got "${introspectionRaw}"` });
  }

  const onOff = (name: string, values: readonly string[], fallback: string): string => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!values.includes(raw)) problems.add({ file: 'environment', path: name, message: `expected one of ${values.join(', ')}, got "${raw}"` });
    return raw;
  };
  const demo = onOff('SEXTANT_DEMO', ['auto', 'off'], 'auto') as 'auto' | 'off';
  const resultCache = onOff('SEXTANT_RESULT_CACHE', ['on', 'off'], 'on') === 'on';
  const inboxScanMs = int(env, 'SEXTANT_INBOX_SCAN_MS', 60_000, problems);
  // DuckDB: 4, as many as libuv's threads that run its statements (more only queue there, and cost
  // throughput: bench/README.md, duck-select); PostgreSQL/Redshift: 10.
  const warehousePoolSize = int(env, 'SEXTANT_WAREHOUSE_POOL_SIZE', warehouse.kind === 'duckdb' ? 4 : 10, problems);
  const preparedStatements = int(env, 'SEXTANT_PREPARED_STATEMENTS', 100, problems, 0);
  const duckdbMemoryLimit = env.SEXTANT_DUCKDB_MEMORY_LIMIT?.trim() || undefined;
  if (duckdbMemoryLimit !== undefined && !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(duckdbMemoryLimit)) {
    problems.add({ file: 'environment', path: 'SEXTANT_DUCKDB_MEMORY_LIMIT', message: `expected a size such as 256MB or 2GB, got "${duckdbMemoryLimit}"` });
  }
  const reportLinkTtlSeconds = int(env, 'SEXTANT_REPORT_LINK_TTL', 7 * 24 * 3600, problems, 60);
  // S3 signs GET URLs for at most 7 days (SigV4); a longer lifetime would fail every report's link.
  if (objectStore.kind === 's3' && reportLinkTtlSeconds > 7 * 24 * 3600) {
    problems.add({ file: 'environment', path: 'SEXTANT_REPORT_LINK_TTL', message: `an S3 pre-signed URL lasts at most 604800 seconds (7 days), got ${reportLinkTtlSeconds}` });
  }
  const unloadMinRows = int(env, 'SEXTANT_UNLOAD_MIN_ROWS', 1_000_000, problems, 0);

  // An origin is scheme://host[:port], exactly as browsers send it in the Origin header.
  const corsOrigins = (env.SEXTANT_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.add({ file: 'environment', path: 'SEXTANT_CORS_ORIGINS', message: `expected origins such as https://addin.example.com (scheme, host and port, no path), got "${origin}"` });
    }
  }
  const publicUrl = env.SEXTANT_PUBLIC_URL ? env.SEXTANT_PUBLIC_URL.replace(/\/+$/, '') : undefined;
  if (publicUrl !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(publicUrl);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.search || parsed.hash || parsed.username || parsed.password) {
      problems.add({ file: 'environment', path: 'SEXTANT_PUBLIC_URL', message: `expected the service's public http(s) URL such as https://metrics.example.com, got "${env.SEXTANT_PUBLIC_URL}"` });
    }
  }

  // Read by the logger itself (src/log.ts, before any config exists); checked here so that a typo is said.
  onOff('SEXTANT_LOG_FORMAT', ['json', 'pretty'], 'json');
  const queueName = env.SEXTANT_QUEUE_NAME || 'sextant';
  // BullMQ separates key parts with ':' and the name is part of every key and of the change feed's channel.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(queueName)) problems.add({ file: 'environment', path: 'SEXTANT_QUEUE_NAME', message: `expected letters, digits, - and _ (at most 64), got "${queueName}"` });
  const shutdownTimeoutMs = int(env, 'SEXTANT_SHUTDOWN_TIMEOUT_MS', 25_000, problems);
  const shutdownDelayMs = int(env, 'SEXTANT_SHUTDOWN_DELAY_MS', 0, problems, 0);
  const metricsPort = env.SEXTANT_METRICS_PORT ? int(env, 'SEXTANT_METRICS_PORT', 0, problems, 0) : undefined;
  if (metricsPort !== undefined && metricsPort > 65535) problems.add({ file: 'environment', path: 'SEXTANT_METRICS_PORT', message: `expected a port from 0 to 65535, got "${env.SEXTANT_METRICS_PORT}"` });

  problems.throwIfAny('CONFIG_INVALID', 'The environment is invalid');
  return Object.freeze({
    warehouse,
    objectStore,
    redisUrl,
    projectDir: env.SEXTANT_PROJECT ? resolve(cwd, env.SEXTANT_PROJECT) : EXAMPLE_PROJECT,
    host: env.HOST || '127.0.0.1',
    port,
    role,
    slackWebhookUrl: env.SLACK_WEBHOOK_URL || undefined,
    reportLinkTtlSeconds,
    unloadMinRows,
    production,
    limits,
    introspection: introspectionRaw === undefined ? !production : introspectionRaw === 'true',
    workerConcurrency: int(env, 'SEXTANT_WORKER_CONCURRENCY', 2, problems),
    warehousePoolSize,
    preparedStatements,
    duckdbMemoryLimit,
    redshiftIamRole,
    signingSecret: env.SEXTANT_SIGNING_SECRET || undefined,
    demo,
    resultCache,
    inboxScanMs,
    corsOrigins: Object.freeze(corsOrigins),
    publicUrl,
    queueName,
    shutdownTimeoutMs,
    shutdownDelayMs,
    metricsPort,
  });
}
