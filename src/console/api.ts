/**
 * The one way the console and the add-in talk to the service: GraphQL over `POST /graphql` with the
 * user's key as a Bearer token. `X-Requested-With` tells the service that a script is asking, so a
 * 401 comes back without the `WWW-Authenticate: Basic` challenge that would make the browser open its
 * own sign-in box: the page asks for the key itself.
 */

/** What went wrong, with the API's error code (`UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface GqlAnswer<T> {
  data: T;
  /** `extensions.sextant` of the response: freshness and cache hits of the statements. */
  extensions?: Record<string, unknown>;
  /** Milliseconds from sending the request to having parsed the answer. */
  ms: number;
}

export interface Api {
  gql<T>(query: string, variables?: Record<string, unknown>): Promise<GqlAnswer<T>>;
  /** Headers for the service's other routes (downloads): the key and X-Requested-With. */
  headers(): Record<string, string>;
}

/** An Api over `fetch`, reading the key at each call (it changes when the user signs in). */
export function createApi(getKey: () => string | null, base = '', doFetch: typeof fetch = (...a) => fetch(...a)): Api {
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest' };
    const key = getKey();
    if (key) h.authorization = `Bearer ${key}`;
    return h;
  };
  return {
    headers,
    async gql<T>(query: string, variables?: Record<string, unknown>): Promise<GqlAnswer<T>> {
      const started = performance.now();
      let res: Response;
      try {
        res = await doFetch(`${base}/graphql`, {
          method: 'POST',
          headers: { ...headers(), 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ query, variables }),
        });
      } catch (err) {
        throw new ApiError(`the service did not answer: ${(err as Error).message}`, 'NETWORK', 0);
      }
      const text = await res.text();
      let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }>; error?: { code: string; message: string }; extensions?: Record<string, unknown> };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new ApiError(`the service answered ${res.status} with something that is not JSON`, 'BAD_RESPONSE', res.status);
      }
      if (body.error) throw new ApiError(body.error.message, body.error.code, res.status);
      if (body.errors?.length) {
        const first = body.errors[0];
        throw new ApiError(body.errors.map((e) => e.message).join('; '), first.extensions?.code ?? 'GRAPHQL_ERROR', res.status);
      }
      if (!res.ok || body.data === undefined) throw new ApiError(`the service answered ${res.status}`, 'HTTP_ERROR', res.status);
      const sextant = body.extensions?.sextant as Record<string, unknown> | undefined;
      return { data: body.data, ...(sextant ? { extensions: sextant } : {}), ms: performance.now() - started };
    },
  };
}

/** The catalog as the console and the add-in ask for it. */
export const CATALOG_QUERY = `{
  catalog {
    teams {
      name
      models {
        id team name description table grain lastLoadedAt
        dimensions { name type description }
        measures { name type format description }
        joins { name model relationship }
      }
    }
  }
}`;

export interface CatalogModel {
  id: string;
  team: string;
  name: string;
  description: string | null;
  table: string | null;
  grain: string[];
  lastLoadedAt: string | null;
  dimensions: Array<{ name: string; type: string; description: string | null }>;
  measures: Array<{ name: string; type: string; format: string | null; description: string | null }>;
  joins: Array<{ name: string; model: string; relationship: string }>;
}

export interface Catalog {
  teams: Array<{ name: string; models: CatalogModel[] }>;
}

export const METRICS_QUERY = `query Metrics($query: SemanticQueryInput!) {
  metrics(query: $query) { columns { name key kind type grain format description } rows hasMore lastLoadedAt }
}`;

export interface MetricsResult {
  columns: Array<{ name: string; key: string; kind: string; type: string; grain: string | null; format: string | null; description?: string | null }>;
  rows: unknown[][];
  /** True when the limit cut the answer. */
  hasMore?: boolean;
  /** The latest load of the model's table. */
  lastLoadedAt?: string | null;
}

/** Whether the server's FilterOperator has IN_DATE_RANGE (introspection may be off: then no). */
export async function serverHasInDateRange(api: Api): Promise<boolean> {
  try {
    const res = await api.gql<{ __type: { enumValues: Array<{ name: string }> } | null }>('{ __type(name: "FilterOperator") { enumValues { name } } }');
    return res.data.__type?.enumValues.some((v) => v.name === 'IN_DATE_RANGE') ?? false;
  } catch {
    return false;
  }
}
