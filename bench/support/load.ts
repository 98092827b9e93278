/**
 * Closed-loop load: `clients` concurrent loops each send a request, wait for the answer, send the next,
 * for `durationMs` after a warm-up. Latencies of every request are kept to report exact percentiles.
 * {@link jsonPoster} sends the requests: node:http with a keep-alive agent (one connection per client),
 * or `fetch` (undici) — the former costs the load process about half as much per request, which matters
 * past ~1,000 req/s when the load generator shares 2 cores with the server it measures.
 */
import { Agent, request as httpRequest } from 'node:http';

/** How the load generator sends its requests: `http` (node:http, keep-alive agent) or `fetch`. */
export type LoadClient = 'http' | 'fetch';

/** A POST of a JSON body to one URL, answering the status and the body's text. */
export type JsonPoster = (body: string) => Promise<{ status: number; text: string }>;

/** A poster for `url` through `client`; `http` keeps up to `connections` connections open. */
export function jsonPoster(url: string, client: LoadClient, connections = 64): JsonPoster {
  if (client === 'fetch') {
    return async (body) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, text: await res.text() };
    };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  return (body) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        { agent, method: 'POST', hostname: target.hostname, port: target.port, path: target.pathname + target.search, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

export interface LoadResult {
  name: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  firstError?: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export async function runLoad(
  name: string,
  request: (i: number) => Promise<void>,
  options: { clients: number; durationMs: number; warmupMs: number },
): Promise<LoadResult> {
  const loop = async (until: number, record: boolean, latencies: number[], state: { errors: number; firstError?: string; n: number }) => {
    while (performance.now() < until) {
      const i = state.n++;
      const t0 = performance.now();
      try {
        await request(i);
        if (record) latencies.push(performance.now() - t0);
      } catch (err) {
        state.errors++;
        state.firstError ??= (err as Error).message;
      }
    }
  };
  const warm = { errors: 0, n: 0 } as { errors: number; firstError?: string; n: number };
  const warmUntil = performance.now() + options.warmupMs;
  await Promise.all(Array.from({ length: options.clients }, () => loop(warmUntil, false, [], warm)));
  const latencies: number[] = [];
  const state = { errors: 0, n: 0 } as { errors: number; firstError?: string; n: number };
  const start = performance.now();
  await Promise.all(Array.from({ length: options.clients }, () => loop(start + options.durationMs, true, latencies, state)));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    errors: state.errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    firstError: state.firstError ?? warm.firstError,
  };
}

/** Prints contenders side by side with their ratio to the baseline (the first row). */
export function printTable(title: string, rows: LoadResult[]): void {
  const base = rows[0];
  console.log(`\n${title}`);
  console.log(`${'contender'.padEnd(44)} ${'requests'.padStart(8)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'errors'.padStart(6)}  ${'req/s vs ' + base.name}`);
  for (const r of rows) {
    const ratio = base.rps > 0 ? r.rps / base.rps : NaN;
    console.log(
      `${r.name.padEnd(44)} ${String(r.requests).padStart(8)} ${r.rps.toFixed(1).padStart(9)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(9)} ${String(r.errors).padStart(6)}  ${ratio.toFixed(2)}x`,
    );
    if (r.firstError) console.log(`${''.padEnd(44)} first error: ${r.firstError.slice(0, 200)}`);
  }
}
