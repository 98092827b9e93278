/**
 * The whole service as `sextant serve` assembles it — openApp → buildHttpDeps → buildHttpServer, with
 * the bundled agency project and a little demo data — listening on a free loopback port, over a fresh
 * warehouse (DuckDB file or a new PostgreSQL database) and a fresh object-store folder. The security
 * tests and the graphql-http audit run against it through real HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi, openApp, type App } from '../../src/main.js';
import { loadConfig } from '../../src/config/env.js';
import { generateDemo } from '../../src/demo/generate.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { freshWarehouse, type TestDialect } from '../support/warehouses.js';
import type { Warehouse } from '../../src/warehouse/port.js';

/** One GraphQL error as it reaches a client. */
export interface WireError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: Record<string, unknown> & { code?: string };
}

/** A response body: GraphQL (`data`, `errors`) or the server's own error shape (`error`). */
export interface WireBody {
  // Test-only and asserted field by field, so the data tree is left loosely typed.
  data?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  errors?: WireError[];
  error?: { code: string; message: string; errorId?: string };
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body; `text` holds the raw body either way. */
  body: WireBody;
  text: string;
}

export interface SecurityServer {
  app: App;
  server: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The PostgreSQL database's URL (postgres dialect only), for a second connection. */
  pgUrl: string | undefined;
  /** POSTs a GraphQL request (JSON) with an optional key as a Bearer token. */
  gql(query: string, options?: { key?: string; variables?: Record<string, unknown>; headers?: Record<string, string> }): Promise<HttpAnswer>;
  /** Any HTTP request to the server. */
  http(path: string, init?: RequestInit): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface SecurityServerOptions {
  dialect: TestDialect;
  /** More environment (SEXTANT_STATEMENT_TIMEOUT_MS, NODE_ENV, …). */
  env?: Record<string, string>;
  /** Demo rows (default 3,000: every team has data, and a start takes a second or two). */
  demoRows?: number;
  log?: Logger;
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: WireBody = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as WireBody;
  } catch {
    /* not JSON: the text is in `text` */
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Starts the service; `close()` stops it and drops its warehouse and folder. */
export async function startSecurityServer(options: SecurityServerOptions): Promise<SecurityServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sextant-sec-'));
  const pg = options.dialect === 'postgres' ? await freshWarehouse('postgres') : undefined;
  const config = loadConfig(
    {
      SEXTANT_WAREHOUSE: pg?.url ?? `duckdb:${join(dir, 'warehouse.duckdb')}`,
      SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
      SEXTANT_SIGNING_SECRET: 'security-test-secret',
      SEXTANT_DEMO: 'off',
      HOST: '127.0.0.1',
      PORT: '0',
      ...options.env,
    },
    dir,
  );
  const app = await openApp({
    config,
    log: options.log ?? silentLogger,
    checkColumns: true,
    beforeColumnCheck: async (warehouse: Warehouse) => {
      await generateDemo(warehouse, { rows: options.demoRows ?? 3_000 });
    },
  });
  let server: FastifyInstance | undefined;
  try {
    server = await buildApi(app);
    await server.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app.close();
    await pg?.close();
    throw err;
  }
  const address = server.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const s = server;
  return {
    app,
    server: s,
    base,
    pgUrl: pg?.url,
    gql: async (query, o = {}) =>
      answer(
        await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
            ...o.headers,
          },
          body: JSON.stringify({ query, ...(o.variables ? { variables: o.variables } : {}) }),
        }),
      ),
    http: async (path, init) => answer(await fetch(`${base}${path}`, init)),
    close: async () => {
      await s.close();
      await app.close();
      await pg?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
