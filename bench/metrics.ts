/**
 * Metrics over HTTP on PostgreSQL with the demo's post_daily table (10M rows by default), 16 concurrent
 * clients, three contenders side by side on two questions:
 *   - sextant:      our GraphQL over HTTP (`sextant serve`, result cache off so every request is computed);
 *   - pg floor:     the SQL our planner generates, run directly through a `pg` pool (no HTTP, no GraphQL);
 *   - postgraphile: PostGraphile 5 + @graphile/pg-aggregates on the same tables (the peer).
 * Questions: selective = one account, one month, by day; heavy = all rows by month and platform.
 * Before timing, the answers of the three are compared, so that they are known to compute the same thing.
 *
 *   npm run bench:metrics -- --rows 10000000 --seconds 20
 * SEXTANT_BENCH_PG_URL=postgres://… reuses a server (the data stays between runs); otherwise one is started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { benchPostgres } from './support/postgres.js';
import { runLoad, printTable, type LoadResult } from './support/load.js';
import { freePort } from '../test/support/services.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { generateDemo } from '../src/demo/generate.js';
import { loadSemanticProject } from '../src/semantic/load.js';
import { planQuery } from '../src/semantic/planner.js';
import { postgresDialect } from '../src/warehouse/postgres/dialect.js';
import { EXAMPLE_PROJECT } from '../src/config/env.js';
import type { SemanticQuery } from '../src/semantic/types.js';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '10000000' }, seconds: { type: 'string', default: '20' }, clients: { type: 'string', default: '16' } },
});
const ROWS = Number(args.rows);
const DURATION_MS = Number(args.seconds) * 1000;
const CLIENTS = Number(args.clients);

async function waitHttp(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer at ${url}`);
}

async function gql(url: string, query: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  if (!body.data) throw new Error(`no data (HTTP ${res.status})`);
  return body.data;
}

async function main(): Promise<void> {
  const database = 'sextant_bench';
  const { url, stop } = await benchPostgres(database);
  const children: ChildProcess[] = [];
  try {
    // 1. Data: the demo generator into PostgreSQL, unless the table already holds enough rows.
    const wh = await openWarehouse({ kind: 'postgres', url }, { statementTimeoutMs: 600_000 });
    const existing = await wh.query(`select count(*) as n from social.post_daily`).catch(() => [{ n: 0 }]);
    const have = Number(existing[0]?.n ?? 0);
    if (have < ROWS * 0.7) {
      console.log(`generating demo data (${ROWS.toLocaleString()} fact rows) into ${database} …`);
      const t0 = performance.now();
      const out = await generateDemo(wh, { rows: ROWS, seed: 1 });
      console.log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(out.tables)}`);
    }
    // What a PostGraphile user would add so that its aggregates can group by month and filter by
    // account (its `condition` is equality only; its time buckets stop at day): a stored month column,
    // indexes that serve the selective question for every contender, and groupBy behaviours.
    await wh.execute(`alter table social.post_daily add column if not exists metric_month date generated always as (date_trunc('month', metric_date::timestamp)::date) stored`);
    await wh.execute(`create index if not exists post_daily_account_date on social.post_daily (account_id, metric_date)`);
    await wh.execute(`create index if not exists post_daily_account_name_date on social.post_daily (account_name, metric_date)`);
    for (const col of ['platform', 'metric_date', 'metric_month', 'account_id', 'account_name']) {
      await wh.execute(`comment on column social.post_daily.${col} is E'@behavior +orderBy +attribute:groupBy +attribute:filterBy'`);
    }
    await wh.execute('analyze social.post_daily');
    const rows = Number((await wh.query('select count(*) as n from social.post_daily'))[0].n);
    const acct = (await wh.query(`select account_id, account_name from social.accounts where platform = 'instagram' order by account_id limit 1`))[0];
    await wh.close();
    console.log(`social.post_daily: ${rows.toLocaleString()} rows; selective question: account ${acct.account_name} (${acct.account_id}), 2026-03`);

    // 2. The questions, as each contender asks them.
    const selectiveGql = `{ social { postPerformance(where: { account: { equals: "${acct.account_name}" }, metricDate: { gte: "2026-03-01", lt: "2026-04-01" } }, limit: 50000) { metricDate(grain: DAY) impressions engagements engagementRate } } }`;
    const heavyGql = `{ social { postPerformance(limit: 50000) { metricDate(grain: MONTH) platform impressions engagements engagementRate } } }`;
    const selectiveQuery: SemanticQuery = {
      model: 'social.post_performance', measures: ['impressions', 'engagements', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'day' }],
      filters: [
        { member: 'account', operator: 'EQUALS', values: [String(acct.account_name)] },
        { member: 'metric_date', operator: 'GTE', values: ['2026-03-01'] },
        { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] },
      ],
      orderBy: [], limit: 50000, offset: 0,
    };
    const heavyQuery: SemanticQuery = {
      model: 'social.post_performance', measures: ['impressions', 'engagements', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }], filters: [], orderBy: [], limit: 50000, offset: 0,
    };
    const pgSelective = `{ allPostDailies(condition: { accountId: "${acct.account_id}", metricMonth: "2026-03-01" }) { groupedAggregates(groupBy: [METRIC_DATE]) { keys sum { impressions likes comments shares } } } }`;
    const pgHeavy = `{ allPostDailies { groupedAggregates(groupBy: [METRIC_MONTH, PLATFORM]) { keys sum { impressions likes comments shares } } } }`;

    const { project, problems } = await loadSemanticProject(EXAMPLE_PROJECT);
    if (!project) throw new Error(problems.map((p) => p.message).join('\n'));
    const planSelective = planQuery(project, selectiveQuery, postgresDialect);
    const planHeavy = planQuery(project, heavyQuery, postgresDialect);

    // 3. Start the two servers.
    const ourPort = await freePort();
    const ours = spawn(process.execPath, ['bin/sextant.js', 'serve'], {
      env: { ...process.env, SEXTANT_WAREHOUSE: url, PORT: String(ourPort), NODE_ENV: 'production', SEXTANT_RESULT_CACHE: 'off', SEXTANT_RATE_LIMIT_PER_MINUTE: '100000000', SEXTANT_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(ours);
    const ourUrl = `http://127.0.0.1:${ourPort}/graphql`;
    await waitHttp(`http://127.0.0.1:${ourPort}/health/live`, ours, 'sextant serve');

    const peerPort = await freePort();
    const peer = spawn(process.execPath, ['--import', './bench/support/polyfill.mjs', 'node_modules/postgraphile/dist/cli-run.js', '-C', 'bench/support/graphile.config.mjs'], {
      env: { ...process.env, BENCH_PG_URL: url, BENCH_PORT: String(peerPort), GRAPHILE_ENV: 'production', NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(peer);
    const peerUrl = `http://127.0.0.1:${peerPort}/graphql`;
    await waitHttp(peerUrl, peer, 'postgraphile');

    const pool = new pg.Pool({ connectionString: url, max: CLIENTS });

    // 4. Same answers from all three (sum of impressions and engagements over the question).
    const totals = async () => {
      const oursSel = (await gql(ourUrl, selectiveGql)) as { social: { postPerformance: Array<{ impressions: number; engagements: number }> } };
      const peerSel = (await gql(peerUrl, pgSelective)) as { allPostDailies: { groupedAggregates: Array<{ sum: Record<string, string> }> } };
      const floorSel = await pool.query(planSelective.sql, planSelective.params);
      const oursHeavy = (await gql(ourUrl, heavyGql)) as { social: { postPerformance: Array<{ impressions: number }> } };
      const peerHeavy = (await gql(peerUrl, pgHeavy)) as { allPostDailies: { groupedAggregates: Array<{ sum: Record<string, string> }> } };
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      return {
        selective: {
          sextant: [oursSel.social.postPerformance.length, sum(oursSel.social.postPerformance.map((r) => r.impressions)), sum(oursSel.social.postPerformance.map((r) => r.engagements))],
          floor: [floorSel.rowCount, sum(floorSel.rows.map((r) => Number(r.impressions))), sum(floorSel.rows.map((r) => Number(r.engagements)))],
          postgraphile: [peerSel.allPostDailies.groupedAggregates.length, sum(peerSel.allPostDailies.groupedAggregates.map((g) => Number(g.sum.impressions))), sum(peerSel.allPostDailies.groupedAggregates.map((g) => Number(g.sum.likes) + Number(g.sum.comments) + Number(g.sum.shares)))],
        },
        heavy: {
          sextant: [oursHeavy.social.postPerformance.length, sum(oursHeavy.social.postPerformance.map((r) => r.impressions))],
          floor: await pool.query(planHeavy.sql, planHeavy.params).then((r) => [r.rowCount, sum(r.rows.map((x) => Number(x.impressions)))]),
          postgraphile: [peerHeavy.allPostDailies.groupedAggregates.length, sum(peerHeavy.allPostDailies.groupedAggregates.map((g) => Number(g.sum.impressions)))],
        },
      };
    };
    const check = await totals();
    console.log('answers (groups, sum impressions[, sum engagements]):', JSON.stringify(check));
    for (const q of ['selective', 'heavy'] as const) {
      const a = JSON.stringify(check[q].sextant);
      if (a !== JSON.stringify(check[q].floor) || a !== JSON.stringify(check[q].postgraphile)) {
        throw new Error(`the contenders disagree on the ${q} question: ${JSON.stringify(check[q])}`);
      }
    }

    // 5. Load.
    const opts = { clients: CLIENTS, durationMs: DURATION_MS, warmupMs: 3000 };
    const post = (u: string, q: string) => async () => {
      const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    };
    for (const [name, plan, ourQ, peerQ] of [
      ['selective (1 account, 1 month, by day)', planSelective, selectiveGql, pgSelective],
      ['heavy (all rows by month and platform)', planHeavy, heavyGql, pgHeavy],
    ] as const) {
      const results: LoadResult[] = [];
      results.push(await runLoad('pg floor (generated SQL, no HTTP)', async () => void (await pool.query(plan.sql, plan.params)), opts));
      results.push(await runLoad('sextant GraphQL over HTTP (cache off)', post(ourUrl, ourQ), opts));
      results.push(await runLoad('postgraphile 5 + pg-aggregates', post(peerUrl, peerQ), opts));
      printTable(`${name} — ${rows.toLocaleString()} rows, ${CLIENTS} clients, ${DURATION_MS / 1000} s each`, results);
    }
    await pool.end();
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
