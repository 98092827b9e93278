/**
 * The OData feed in-process over the GraphQL harness (real DuckDB, demo data), with Power Query's
 * request headers and helpers that follow `@odata.nextLink` to the end.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { KeyStore } from '../../src/auth/key-store.js';
import { createAuthenticator } from '../../src/auth/authenticate.js';
import { odataPlugin } from '../../src/http/odata/plugin.js';
import type { SemanticProject } from '../../src/semantic/types.js';
import { ServingLayer } from '../../src/serving/serving.js';
import type { Serving } from '../../src/serving/types.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { exampleProject, startHarness, type Harness } from './graphql-harness.js';

/** What Power Query (Power BI Desktop/Service, Excel) sends with every OData request (research §1.1). */
export const POWER_QUERY_HEADERS = {
  'accept-encoding': 'gzip, deflate',
  'user-agent': 'Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)',
  maxdataserviceversion: '3.0',
  'odata-maxversion': '4.0',
  accept:
    'application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7',
} as const;

/** A Serving that forwards to one made after the server (the harness builds the server first). */
function lateServing(current: () => Serving): Serving {
  return new Proxy({} as Serving, {
    get: (_target, name: keyof Serving) => (...args: unknown[]) => (current()[name] as (...a: unknown[]) => unknown)(...args),
  });
}

export interface ODataHarness extends Harness {
  keys: { socialReader: string; admin: string };
}

/** The harness with the OData plugin registered and keys required (a social reader and an admin). */
export async function startODataHarness(
  options: { env?: NodeJS.ProcessEnv; pageSize?: number; project?: SemanticProject; seed?: (warehouse: Warehouse) => Promise<void> } = {},
): Promise<ODataHarness> {
  const project = options.project ?? (await exampleProject());
  let store: KeyStore | undefined;
  const authenticate = createAuthenticator({ keys: { verify: (k) => (store as KeyStore).verify(k) }, allowKeyless: async () => false });
  let serving: Serving | undefined;
  const h = await startHarness('duckdb', {
    authenticate: (request) => authenticate(request),
    env: options.env,
    ...(options.seed ? { seed: options.seed } : {}),
    deps: {
      project,
      plugins: [
        async (app: FastifyInstance) =>
          odataPlugin({
            serving: lateServing(() => serving as Serving),
            authenticate: (request) => authenticate(request),
            maxRows: 50_000,
            ...(options.pageSize ? { pageSize: options.pageSize } : {}),
            corsOrigins: ['https://addin.example.com'],
          })(app),
      ],
    },
  });
  // The example project is served by the harness's own serving layer (the one GraphQL asks); another
  // project gets one of its own over the same warehouse.
  serving = options.project
    ? new ServingLayer({ project, warehouse: h.warehouse, limits: { defaultRows: 1000, maxRows: 50_000 } })
    : h.serving;
  store = new KeyStore(h.raw, { knownTeams: project.teams });
  await store.init();
  const socialReader = project.teams.includes('social') ? (await store.create({ role: 'reader', teams: ['social'] })).key : '';
  const admin = (await store.create({ role: 'admin', name: 'ops' })).key;
  return Object.assign(h, { keys: { socialReader, admin } });
}

export interface ODataResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // Asserted field by field in the tests.
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One GET with Power Query's headers plus `headers`, authorised as `key` (Bearer) unless headers say otherwise. */
export async function get(app: FastifyInstance, url: string, key: string | undefined, headers: Record<string, string> = {}): Promise<ODataResponse> {
  const res = await app.inject({
    method: 'GET',
    url,
    headers: { ...POWER_QUERY_HEADERS, 'accept-encoding': 'identity', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
  });
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers as ODataResponse['headers'], text: res.body, json };
}

/** Follows `@odata.nextLink` from `url` to the last page; returns every row and every page's body. */
export async function readAll(app: FastifyInstance, url: string, key: string, headers: Record<string, string> = {}) {
  const rows: Array<Record<string, unknown>> = [];
  const pages: ODataResponse[] = [];
  let next: string | undefined = url;
  while (next) {
    const target = next.startsWith('http') ? new URL(next) : undefined;
    const res = await get(app, target ? `${target.pathname}${target.search}` : next, key, headers);
    expect(res.status, res.text.slice(0, 500)).toBe(200);
    pages.push(res);
    rows.push(...(res.json.value as Array<Record<string, unknown>>));
    next = res.json['@odata.nextLink'] as string | undefined;
    if (next) expect(next).toMatch(/^http:\/\/localhost(:\d+)?\/odata\//);
    expect(pages.length).toBeLessThan(500);
  }
  return { rows, pages };
}
