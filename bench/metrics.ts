/**
 * Metrics over HTTP on PostgreSQL with the demo's post_daily table (10M rows by default), 16 concurrent
 * clients, three contenders side by side on two questions:
 *   - sextant:      our GraphQL over HTTP (`sextant serve`, result cache off so every request is computed);
 *   - pg floor:     the SQL our planner generates, run directly through a `pg` pool (no HTTP, no GraphQL);
 *   - postgraphile: PostGraphile 5 + @graphile/pg-aggregates on the same tables (the peer).
 * Questions: selective = one account, one month, by day; heavy = all rows by month and platform.
 * Before timing, the answers of the three are compared, so that they are known to compute the same thing.
 *
 *   npm run bench:metrics -- --rows 10000000 --seconds 20 [--clients 16] [--prepare-only]
 * SEXTANT_BENCH_PG_URL=postgres://… reuses a server (the data stays between runs, one database per --rows);
 * otherwise one is started and thrown away. --prepare-only generates the data and indexes, then stops.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { benchPostgres } from './support/postgres.js';
import { runLoad, printTable, type LoadResult } from './support/load.js';
import { freePort } from '../test/support/services.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { generateDemo, planDemo } from '../src/demo/generate.js';
import { DEMO_TABLES } from '../src/demo/tables.js';
import { loadSemanticProject } from '../src/semantic/load.js';
import { planQuery } from '../src/semantic/planner.js';
import { postgresDialect } from '../src/warehouse/postgres/dialect.js';
import { EXAMPLE_PROJECT } from '../src/config/env.js';
import type { SemanticQuery } from '../src/semantic/types.js';

/**
 * The peer lives in its own package (bench/peer/): its engines ask for Node 22, and the product's own
 * `npm ci` should neither install it nor warn about it. Installed here on first use.
 */
function ensurePeerInstalled(): void {
  if (existsSync('bench/peer/node_modules/postgraphile/dist/cli-run.js')) return;
  console.log('installing the peer (PostGraphile 5 + pg-aggregates) into bench/peer/ …');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: 'bench/peer', stdio: 'inherit' });
}

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '16' },
    // Generate (or check) the data and its indexes, then stop: to prepare a kept server ahead of timing.
    'prepare-only': { type: 'boolean', default: false },
    // Time one question only (both are still checked): selective | heavy.
    only: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const DURATION_MS = Number(args.seconds) * 1000;
const CLIENTS = Number(args.clients);
/** Connections to PostgreSQL of each contender: our warehouse adapter's pool is fixed at 10. */
const POOL = 10;

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

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  if (!body.data) throw new Error(`no data (HTTP ${res.status})`);
  return body.data;
}

/** One group of an answer: its key (day or month, and platform) and the two sums every contender returns. */
type Group = [key: string, impressions: number, engagements: number];

/** A date as `YYYY-MM-DD`: node-postgres parses a `date` column into a local-midnight Date. */
function isoDate(value: unknown): string {
  if (value instanceof Date) {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
  }
  return String(value).slice(0, 10);
}

function sortGroups(groups: Group[]): Group[] {
  return groups.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

interface PeerAnswer {
  allPostDailies: { groupedAggregates: Array<{ keys: string[]; sum: Record<string, string | null> }> };
}

/** PostGraphile answers sums of the columns; engagements = likes + comments + shares is added up client-side. */
function peerGroups(answer: PeerAnswer): Group[] {
  return sortGroups(
    answer.allPostDailies.groupedAggregates.map((g) => [
      g.keys.map(isoDateOrKey).join('|'),
      Number(g.sum.impressions),
      Number(g.sum.likes) + Number(g.sum.comments) + Number(g.sum.shares),
    ]),
  );
}

function isoDateOrKey(key: string): string {
  return /^\d{4}-\d{2}-\d{2}/.test(key) ? key.slice(0, 10) : key;
}

async function main(): Promise<void> {
  // One database per size: the 10M rows are generated once and kept while the server is (SEXTANT_BENCH_PG_URL).
  const database = `sextant_bench_${ROWS}`;
  const { url, stop } = await benchPostgres(database);
  const children: ChildProcess[] = [];
  const objects = mkdtempSync(join(tmpdir(), 'sextant-bench-metrics-'));
  try {
    // 1. Data: the demo generator into PostgreSQL through the warehouse port, unless it is already there
    // (within 1 % of the planned rows: the generator may be tuned between runs). Anything else (an
    // interrupted run, another size) is emptied first, so that two generations never mix.
    const wh = await openWarehouse({ kind: 'postgres', url }, { statementTimeoutMs: 3_600_000 });
    const planned = planDemo(ROWS)['social.post_daily'];
    const existing = Number((await wh.query(`select count(*) as n from social.post_daily`).catch(() => [{ n: 0 }]))[0]?.n ?? 0);
    if (Math.abs(existing - planned) > planned * 0.01) {
      for (const spec of DEMO_TABLES) {
        if (await wh.describeTable(spec.table)) await wh.execute(`truncate table ${postgresDialect.quoteTable(spec.table)}`);
      }
      for (const index of ['post_daily_account_name_date', 'post_daily_account_name_month']) await wh.execute(`drop index if exists social.${index}`);
      console.log(`generating demo data (${ROWS.toLocaleString()} fact rows, ${planned.toLocaleString()} of them in social.post_daily) into ${database} …`);
      const t0 = performance.now();
      let lastLog = t0;
      const out = await generateDemo(wh, {
        rows: ROWS,
        seed: 1,
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - lastLog > 60_000) {
            lastLog = now;
            console.log(`  ${done.toLocaleString()} / ${total.toLocaleString()} rows after ${((now - t0) / 1000).toFixed(0)} s (${Math.round(done / ((now - t0) / 1000)).toLocaleString()} rows/s)`);
          }
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      const written = Object.values(out.tables).reduce((a, b) => a + b, 0);
      console.log(`  done in ${seconds.toFixed(1)} s (${Math.round(written / seconds).toLocaleString()} rows/s): ${JSON.stringify(out.tables)}`);
    }
    // What a PostGraphile user would add so that its aggregates can answer the selective question: its
    // `condition` is equality only (range filters need postgraphile-plugin-connection-filter, not installed),
    // so a stored month column to filter on, with an index that serves it as (account_name, metric_date)
    // serves our range filter; and groupBy/filterBy behaviours (Amber drops them for unindexed columns).
    // For the heavy question the peer truncates metric_date to the month per row, like our SQL does
    // (a group-by spec in graphile.config.mjs), rather than reading the stored column.
    await wh.execute(`alter table social.post_daily add column if not exists metric_month date generated always as (date_trunc('month', metric_date::timestamp)::date) stored`);
    await wh.execute(`create index if not exists post_daily_account_name_date on social.post_daily (account_name, metric_date)`);
    await wh.execute(`create index if not exists post_daily_account_name_month on social.post_daily (account_name, metric_month)`);
    for (const col of ['platform', 'metric_date', 'metric_month', 'account_id', 'account_name']) {
      await wh.execute(`comment on column social.post_daily.${col} is E'@behavior +orderBy +attribute:groupBy +attribute:filterBy'`);
    }
    await wh.execute('vacuum analyze social.post_daily');
    const rows = Number((await wh.query('select count(*) as n from social.post_daily'))[0].n);
    const acct = String((await wh.query(`select account_name from social.accounts order by account_id limit 1`))[0].account_name);
    const acctRows = Number((await wh.query(`select count(*) as n from social.post_daily where account_name = $1 and metric_date >= '2026-03-01' and metric_date < '2026-04-01'`, [acct]))[0].n);
    await wh.close();
    console.log(`social.post_daily: ${rows.toLocaleString()} rows; selective question: account "${acct}" (all its platforms), 2026-03: ${acctRows.toLocaleString()} rows`);
    if (args['prepare-only']) return;

    // 2. The questions, as each contender asks them.
    // `limit` is a variable so that the load can send the same document with a different limit per request:
    // our query runner coalesces identical statements in flight (src/resolvers/query-runner.ts), so 16
    // clients asking exactly the same thing cost PostgreSQL one statement; a distinct limit (far above the
    // groups there are) gives every request its own statement, with the same work, to compare per request.
    const selectiveGql = `query Selective($limit: Int) { social { postPerformance(where: { account: { equals: ${JSON.stringify(acct)} }, metricDate: { gte: "2026-03-01", lt: "2026-04-01" } }, limit: $limit) { metricDate(grain: DAY) impressions engagements engagementRate } } }`;
    const heavyGql = `query Heavy($limit: Int) { social { postPerformance(limit: $limit) { metricDate(grain: MONTH) platform impressions engagements engagementRate } } }`;
    const selectiveQuery: SemanticQuery = {
      model: 'social.post_performance', measures: ['impressions', 'engagements', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'day' }],
      filters: [
        { member: 'account', operator: 'EQUALS', values: [acct] },
        { member: 'metric_date', operator: 'GTE', values: ['2026-03-01'] },
        { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] },
      ],
      orderBy: [], limit: 50000, offset: 0,
    };
    const heavyQuery: SemanticQuery = {
      model: 'social.post_performance', measures: ['impressions', 'engagements', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }], filters: [], orderBy: [], limit: 50000, offset: 0,
    };
    // The peer returns the sums; the engagement rate (engagements / impressions) is left to its client.
    const pgSelective = `{ allPostDailies(condition: { accountName: ${JSON.stringify(acct)}, metricMonth: "2026-03-01" }) { groupedAggregates(groupBy: [METRIC_DATE]) { keys sum { impressions likes comments shares } } } }`;
    const pgHeavy = `{ allPostDailies { groupedAggregates(groupBy: [METRIC_DATE_TRUNCATED_TO_MONTH, PLATFORM]) { keys sum { impressions likes comments shares } } } }`;

    const { project, problems } = await loadSemanticProject(EXAMPLE_PROJECT);
    if (!project) throw new Error(problems.map((p) => p.message).join('\n'));
    const planSelective = planQuery(project, selectiveQuery, postgresDialect);
    const planHeavy = planQuery(project, heavyQuery, postgresDialect);

    // 3. Start the two servers. Every contender gets a pool of POOL connections (ours is fixed at 10) and no
    // statement timeout that the others do not have.
    const ourPort = await freePort();
    const ours = spawn(process.execPath, ['bin/sextant.js', 'serve'], {
      env: {
        ...process.env,
        SEXTANT_WAREHOUSE: url,
        SEXTANT_OBJECT_STORE: `file:${objects}`,
        SEXTANT_DEMO: 'off',
        PORT: String(ourPort),
        NODE_ENV: 'production',
        SEXTANT_RESULT_CACHE: 'off',
        SEXTANT_RATE_LIMIT_PER_MINUTE: '100000000',
        SEXTANT_STATEMENT_TIMEOUT_MS: '3600000',
        SEXTANT_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(ours);
    const ourUrl = `http://127.0.0.1:${ourPort}/graphql`;
    await waitHttp(`http://127.0.0.1:${ourPort}/health/ready`, ours, 'sextant serve');

    const peerPort = await freePort();
    ensurePeerInstalled();
    const peer = spawn(process.execPath, ['--import', './bench/peer/polyfill.mjs', 'bench/peer/node_modules/postgraphile/dist/cli-run.js', '-C', 'bench/peer/graphile.config.mjs'], {
      env: { ...process.env, BENCH_PG_URL: url, BENCH_PORT: String(peerPort), BENCH_POOL: String(POOL), GRAPHILE_ENV: 'production', NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(peer);
    const peerUrl = `http://127.0.0.1:${peerPort}/graphql`;
    await waitHttp(peerUrl, peer, 'postgraphile');

    const pool = new pg.Pool({ connectionString: url, max: POOL });

    // 4. Same answers from all three: every group's key, sum of impressions and sum of engagements.
    type OurAnswer = { social: { postPerformance: Array<{ metricDate: string; platform?: string; impressions: number; engagements: number }> } };
    const ourGroups = (a: OurAnswer): Group[] =>
      sortGroups(a.social.postPerformance.map((r) => [[r.metricDate, ...(r.platform === undefined ? [] : [r.platform])].join('|'), r.impressions, r.engagements]));
    const floorGroups = (rows: Array<Record<string, unknown>>, dateKey: string, withPlatform: boolean): Group[] =>
      sortGroups(rows.map((r) => [[isoDate(r[dateKey]), ...(withPlatform ? [String(r.platform)] : [])].join('|'), Number(r.impressions), Number(r.engagements)]));
    const answers = {
      selective: {
        sextant: ourGroups((await gql(ourUrl, selectiveGql, { limit: 50000 })) as OurAnswer),
        floor: floorGroups((await pool.query(planSelective.sql, planSelective.params)).rows, 'metric_date__day', false),
        postgraphile: peerGroups((await gql(peerUrl, pgSelective)) as unknown as PeerAnswer),
      },
      heavy: {
        sextant: ourGroups((await gql(ourUrl, heavyGql, { limit: 50000 })) as OurAnswer),
        floor: floorGroups((await pool.query(planHeavy.sql, planHeavy.params)).rows, 'metric_date__month', true),
        postgraphile: peerGroups((await gql(peerUrl, pgHeavy)) as unknown as PeerAnswer),
      },
    };
    for (const q of ['selective', 'heavy'] as const) {
      const a = JSON.stringify(answers[q].sextant);
      const sum = (gs: Group[], i: 1 | 2) => gs.reduce((s, g) => s + g[i], 0);
      const line = (['sextant', 'floor', 'postgraphile'] as const)
        .map((c) => `${c} ${answers[q][c].length} groups, impressions ${sum(answers[q][c], 1)}, engagements ${sum(answers[q][c], 2)}`)
        .join('; ');
      console.log(`answers, ${q}: ${line}`);
      if (answers[q].sextant.length === 0) throw new Error(`the ${q} question has an empty answer`);
      if (a !== JSON.stringify(answers[q].floor) || a !== JSON.stringify(answers[q].postgraphile)) {
        throw new Error(`the contenders disagree on the ${q} question: ${JSON.stringify(answers[q])}`);
      }
    }
    console.log('answers: all three agree group by group');

    // 5. Load.
    const opts = { clients: CLIENTS, durationMs: DURATION_MS, warmupMs: 3000 };
    const post = (u: string, q: string, variables?: (i: number) => Record<string, unknown>) => async (i: number) => {
      const body = JSON.stringify(variables ? { query: q, variables: variables(i) } : { query: q });
      const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    };
    for (const [name, plan, ourQ, peerQ] of [
      ['selective (1 account, 1 month, by day)', planSelective, selectiveGql, pgSelective],
      ['heavy (all rows by month and platform)', planHeavy, heavyGql, pgHeavy],
    ] as const) {
      if (args.only && !name.startsWith(args.only)) continue;
      const results: LoadResult[] = [];
      results.push(await runLoad('pg floor (generated SQL, no HTTP)', async () => void (await pool.query(plan.sql, plan.params)), opts));
      results.push(await runLoad('sextant GraphQL/HTTP, cache off, distinct', post(ourUrl, ourQ, (i) => ({ limit: 50000 - (i % 10000) })), opts));
      results.push(await runLoad('postgraphile 5 + pg-aggregates', post(peerUrl, peerQ), opts));
      results.push(await runLoad('sextant, identical requests (coalesced)', post(ourUrl, ourQ, () => ({ limit: 50000 })), opts));
      printTable(`${name} — ${rows.toLocaleString()} rows, ${CLIENTS} clients, ${DURATION_MS / 1000} s each`, results);
    }
    console.log(
      '\n"distinct": each request to sextant carries its own limit (same work), so every request runs its own statement, as for the floor\n' +
        'and the peer (neither shares statements between requests). "identical (coalesced)": all clients send the same request and\n' +
        'sextant runs one statement for the requests that arrive while it is in flight (not a result cache: nothing outlives the statement).',
    );
    await pool.end();
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await stop();
    rmSync(objects, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
