/**
 * One 10,000-row page of the same question through the OData feed and through GraphQL's generic
 * `metrics` query, side by side, over the assembled service (`main.ts`: openApp → buildApi) listening
 * on loopback, with the demo data in a DuckDB file:
 *
 *   social.post_performance by metric_date, platform, account, post_type:
 *     impressions, engagements, engagement_rate — 10,000 rows
 *
 * Twice: with the result cache on (what a refresh that repeats a question costs: the face's own work,
 * serialising 10k rows) and off (every request computed by the warehouse). The answers are compared
 * before timing. The goal: OData at least 0.8× GraphQL's requests/s.
 *
 *   npm run bench:odata -- [--rows 200000] [--seconds 10] [--clients 4]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/env.js';
import { generateDemo } from '../src/demo/generate.js';
import { silentLogger } from '../src/log.js';
import { buildApi, openApp } from '../src/main.js';
import { printTable, runLoad, type LoadResult } from './support/load.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '4' },
  },
});
const DURATION_MS = Number(args.seconds) * 1000;
const CLIENTS = Number(args.clients);
const PAGE = 10_000;

const ODATA_PATH = `/odata/social/PostPerformance?$select=metricDate,platform,account,postType,impressions,engagements,engagementRate&$top=${PAGE}`;
const GRAPHQL_BODY = JSON.stringify({
  query: `{ metrics(query: {
    model: "social.post_performance",
    measures: ["impressions", "engagements", "engagement_rate"],
    dimensions: [{ name: "metric_date" }, { name: "platform" }, { name: "account" }, { name: "post_type" }],
    orderBy: [{ member: "metric_date", direction: ASC }, { member: "platform", direction: ASC }, { member: "account", direction: ASC }, { member: "post_type", direction: ASC }],
    limit: ${PAGE} }) { rows } }`,
});

async function run(dir: string, cache: boolean): Promise<LoadResult[]> {
  const config = loadConfig(
    {
      SEXTANT_WAREHOUSE: `duckdb:${join(dir, 'warehouse.duckdb')}`,
      SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
      SEXTANT_DEMO: 'off',
      SEXTANT_RESULT_CACHE: cache ? 'on' : 'off',
      SEXTANT_RATE_LIMIT_PER_MINUTE: '100000000',
      HOST: '127.0.0.1',
      PORT: '0',
    },
    dir,
  );
  const app = await openApp({
    config,
    log: silentLogger,
    beforeColumnCheck: async (warehouse) => {
      const [{ n }] = await warehouse.query('select count(*) as n from social.post_daily');
      if (Number(n) === 0) await generateDemo(warehouse, { rows: Number(args.rows) });
    },
  });
  const server = await buildApi(app);
  try {
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const odata = async () => {
      const res = await fetch(`${base}${ODATA_PATH}`, { headers: { accept: 'application/json', 'accept-encoding': 'identity' } });
      if (res.status !== 200) throw new Error(`OData ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return (await res.json()) as { value: Array<Record<string, unknown>> };
    };
    const graphql = async () => {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' }, body: GRAPHQL_BODY });
      const body = (await res.json()) as { data?: { metrics: { rows: unknown[][] } }; errors?: unknown[] };
      if (res.status !== 200 || body.errors) throw new Error(`GraphQL ${res.status}: ${JSON.stringify(body.errors).slice(0, 200)}`);
      return body;
    };

    // The same rows, in the same order, before any timing.
    const [o, g] = await Promise.all([odata(), graphql()]);
    const gRows = g.data?.metrics.rows ?? [];
    if (o.value.length !== PAGE || gRows.length !== PAGE) throw new Error(`expected ${PAGE} rows each, got OData ${o.value.length}, GraphQL ${gRows.length} (raise --rows)`);
    o.value.forEach((r, i) => {
      const same = JSON.stringify([r.metricDate, r.platform, r.account, r.postType, r.impressions, r.engagements, r.engagementRate]) === JSON.stringify(gRows[i]);
      if (!same) throw new Error(`row ${i} differs: OData ${JSON.stringify(r)} vs GraphQL ${JSON.stringify(gRows[i])}`);
    });

    const options = { clients: CLIENTS, durationMs: DURATION_MS, warmupMs: Math.min(2000, DURATION_MS / 5) };
    const g1 = await runLoad('GraphQL metrics (10k rows)', async () => void (await graphql()), options);
    const o1 = await runLoad('OData $select + $top (10k rows)', async () => void (await odata()), options);
    return [g1, o1];
  } finally {
    await server.close();
    await app.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sextant-bench-odata-'));
try {
  for (const cache of [true, false]) {
    const results = await run(dir, cache);
    printTable(`10k-row page, ${CLIENTS} clients, ${args.seconds} s, result cache ${cache ? 'on' : 'off'}, demo rows ${args.rows}`, results);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
