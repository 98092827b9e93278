/**
 * A Sextant HTTP server in-process (no port) over a fresh warehouse with demo data, for the GraphQL
 * and HTTP tests. The warehouse is wrapped so tests can count the statements the API sent.
 */
import type { FastifyInstance } from 'fastify';
import { LOOPBACK_PRINCIPAL, type Principal } from '../../src/auth/principal.js';
import { loadConfig, EXAMPLE_PROJECT, type Config } from '../../src/config/env.js';
import { generateDemo } from '../../src/demo/generate.js';
import { UserError } from '../../src/errors.js';
import { buildHttpServer, type HttpParts } from '../../src/http/server.js';
import type { Authenticate, HttpDeps } from '../../src/http/http-deps.js';
import type { Logger } from '../../src/log.js';
import type { OperationsServices } from '../../src/resolvers/operations.js';
import { assertValidProject } from '../../src/semantic/load.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import type { Row, Warehouse } from '../../src/warehouse/port.js';
import type { Planner } from '../../src/serving/query-runner.js';
import { ResultCache } from '../../src/serving/result-cache.js';
import { ServingLayer } from '../../src/serving/serving.js';
import { PrometheusRegistry } from '../../src/http/prometheus.js';
import { freshWarehouse, type TestDialect } from '../support/warehouses.js';

/** Demo rows of every harness: small, fixed, so numbers are the same on every run. */
export const DEMO_ROWS = 20_000;
export const DEMO_SEED = 7;

export interface Harness {
  app: FastifyInstance & { sextant: HttpParts };
  /** The serving layer the server asks through (its result cache: `serving.cache`). */
  serving: ServingLayer;
  /** The warehouse as the API sees it (statements counted in `statements`). */
  warehouse: Warehouse;
  /** The raw warehouse, for the tests' own independent queries (not counted). */
  raw: Warehouse;
  project: SemanticProject;
  /** SQL of every statement the API sent through `warehouse.query`. */
  statements: string[];
  /** The same statements with their parameters. */
  calls: Array<{ sql: string; params: readonly unknown[] }>;
  /** Everything the server logged at error level (masked errors are logged here in full). */
  errors: Array<{ msg: string; fields: Record<string, unknown> | undefined }>;
  close(): Promise<void>;
}

/** Counts `query` calls; everything else goes straight through. */
function counting(warehouse: Warehouse, statements: string[], calls: Harness['calls']): Warehouse {
  return new Proxy(warehouse, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (sql: string, params?: readonly unknown[], options?: Parameters<Warehouse['query']>[2]): Promise<Row[]> => {
          statements.push(sql);
          calls.push({ sql, params: params ?? [] });
          return target.query(sql, params, options);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Operations services that answer nothing: for tests that do not exercise operations. */
export const NO_OPERATIONS: OperationsServices = {
  jobs: { get: async () => undefined, list: async () => [] },
  targets: { get: () => undefined, list: () => [] },
  ingest: {
    createUpload: async () => {
      throw new Error('not in this test');
    },
    uploadTarget: async () => undefined,
    completeUpload: async () => {
      throw new Error('not in this test');
    },
    ingestObject: async () => {
      throw new Error('not in this test');
    },
  },
  control: {
    retry: async () => {
      throw new Error('not in this test');
    },
    cancel: async () => {
      throw new Error('not in this test');
    },
  },
};

let projectPromise: Promise<SemanticProject> | undefined;
/** The example project's models (loaded once per test file). */
export function exampleProject(): Promise<SemanticProject> {
  projectPromise ??= assertValidProject(EXAMPLE_PROJECT);
  return projectPromise;
}

export interface HarnessOptions {
  authenticate?: Authenticate;
  operations?: OperationsServices;
  env?: NodeJS.ProcessEnv;
  deps?: Partial<HttpDeps>;
  /** Skips the demo data (tests that need an empty warehouse). */
  empty?: boolean;
  /** Replaces the semantic planner inside serving (tests of unexpected errors). */
  plan?: Planner;
  /** Fills the warehouse instead of the demo generator (golden tests' fixed dataset). */
  seed?: (warehouse: Warehouse) => Promise<void>;
}

export async function startHarness(dialect: TestDialect, options: HarnessOptions = {}): Promise<Harness> {
  const raw = await freshWarehouse(dialect);
  if (options.seed) await options.seed(raw);
  else if (!options.empty) await generateDemo(raw, { rows: DEMO_ROWS, seed: DEMO_SEED });
  const statements: string[] = [];
  const calls: Harness['calls'] = [];
  const errors: Harness['errors'] = [];
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (msg, fields) => {
      errors.push({ msg, fields });
      if (process.env.SEXTANT_TEST_VERBOSE) console.error(msg, fields);
    },
    child: () => log,
  };
  const warehouse = counting(raw, statements, calls);
  const project = await exampleProject();
  const config: Config = loadConfig({ SEXTANT_WAREHOUSE: 'duckdb::memory:', ...options.env });
  const metrics = new PrometheusRegistry();
  const serving = new ServingLayer({
    project,
    warehouse,
    limits: { defaultRows: config.limits.defaultRows, maxRows: config.limits.maxRows },
    cache: new ResultCache(config.resultCache ? {} : { ttlMs: 0 }),
    timeoutMs: config.limits.statementTimeoutMs,
    ...(options.plan ? { plan: options.plan } : {}),
    onQuery: (e) => metrics.warehouseDuration.observe({ model: e.model, outcome: e.ok ? 'ok' : 'error' }, e.durationMs / 1000),
  });
  const app = await buildHttpServer({
    config,
    project,
    serving,
    metrics,
    checks: { warehouse: () => raw.ping(), objectStore: async () => undefined, queue: async () => undefined },
    operations: options.operations ?? NO_OPERATIONS,
    log,
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...options.deps,
  });
  return {
    app,
    serving,
    warehouse,
    raw,
    project,
    statements,
    calls,
    errors,
    close: async () => {
      await app.close();
      await raw.close();
    },
  };
}

/** A GraphQL response as JSON. */
export interface GqlResponse {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
    extensions?: Record<string, unknown>;
  };
}

/** POSTs one GraphQL operation. */
export async function gql(app: FastifyInstance, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GqlResponse> {
  const res = await app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  return { status: res.statusCode, body: res.json() };
}

/** Principals chosen by a test header, standing in for API keys. */
export const TEST_PRINCIPALS: Record<string, Principal> = {
  social: { keyId: 'k-social', role: 'reader', teams: ['social'] },
  email: { keyId: 'k-email', role: 'reader', teams: ['email'] },
};

/** Authenticates by `x-test-principal` (one of {@link TEST_PRINCIPALS}); without it, the loopback principal. */
export const authenticateByHeader = async (request: { headers: Record<string, unknown> }): Promise<Principal> => {
  const who = request.headers['x-test-principal'];
  if (who === undefined) return LOOPBACK_PRINCIPAL;
  const p = TEST_PRINCIPALS[String(who)];
  if (!p) throw new UserError('UNAUTHENTICATED', 'unknown test principal');
  return p;
};
