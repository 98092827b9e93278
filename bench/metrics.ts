/**
 * Metrics over HTTP with the demo's post_daily table (10M rows by default), 16 concurrent clients, on
 * PostgreSQL and on DuckDB (`--warehouse postgres|duckdb|both`), contenders side by side:
 *   - sextant:      our GraphQL over HTTP (`sextant serve`, result cache off so every request is computed);
 *   - floor:        the SQL our planner generates, run directly (PostgreSQL: a `pg` pool; DuckDB: the DuckDB
 *                   node API on the same file), no HTTP, no GraphQL;
 *   - postgraphile: PostGraphile 5 + @graphile/pg-aggregates on the same tables (the peer; PostgreSQL only:
 *                   it has no DuckDB back end).
 * Questions: selective = one account, one month, by day; heavy = all rows by month and platform; and the
 * dashboard: the selective question repeated with the result cache on, against the floor, while a load
 * through the upload path changes the table — the first answer after the load must be the new one.
 * Before timing, the answers are compared group by group, so that they are known to compute the same thing.
 *
 *   npm run bench:metrics -- --rows 10000000 --seconds 20 [--clients 16] [--warehouse both] [--rollups on|off]
 *                            [--only selective,heavy,dashboard] [--prepare-only]
 * SEXTANT_BENCH_PG_URL=postgres://… reuses a server (the data stays between runs, one database per --rows);
 * otherwise one is started and thrown away. DuckDB's data is kept in --duckdb-dir (one file per --rows).
 * --prepare-only generates the data and indexes, then stops. --rollups off runs Sextant and the floor on a
 * copy of the example project with every model's `rollups:` declaration removed (answers from the base table).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { parseDocument } from 'yaml';
import { buildIfStale } from './support/build.js';
import { benchPostgres } from './support/postgres.js';
import { jsonPoster, runLoad, printTable, type LoadClient, type LoadResult } from './support/load.js';
import { freePort } from '../test/support/services.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { generateDemo, planDemo } from '../src/demo/generate.js';
import { DEMO_TABLES } from '../src/demo/tables.js';
import { loadSemanticProject } from '../src/semantic/load.js';
import { planQuery } from '../src/semantic/planner.js';
import { postgresDialect } from '../src/warehouse/postgres/dialect.js';
import { duckdbDialect } from '../src/warehouse/duckdb/dialect.js';
import type { SqlDialect, Warehouse } from '../src/warehouse/port.js';
import { EXAMPLE_PROJECT, loadConfig } from '../src/config/env.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from '../src/warehouse/duckdb/duckdb-warehouse.js';
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
    // Time only these questions (comma-separated; all are still checked): selective, heavy, dashboard.
    only: { type: 'string' },
    // postgres | duckdb | both.
    warehouse: { type: 'string', default: 'both' },
    // on: the example project as it is (its models' rollups, if any, answer what they can); off: a copy without them.
    rollups: { type: 'string', default: 'on' },
    // How the load generator sends requests to Sextant and the peer: http (node:http keep-alive) or fetch.
    client: { type: 'string', default: 'http' },
    // Where the DuckDB files are kept between runs (one per --rows).
    // Connections to DuckDB of each contender (the floor's pool, and SEXTANT_WAREHOUSE_POOL_SIZE of serve);
    // default: what `sextant serve` opens when SEXTANT_WAREHOUSE_POOL_SIZE is unset.
    'duckdb-pool': { type: 'string' },
    'duckdb-dir': { type: 'string', default: join(tmpdir(), 'sextant-bench-duckdb') },
  },
});
const WAREHOUSES = args.warehouse === 'both' ? (['postgres', 'duckdb'] as const) : ([args.warehouse] as Array<'postgres' | 'duckdb'>);
if (!WAREHOUSES.every((w) => w === 'postgres' || w === 'duckdb')) throw new Error(`--warehouse: expected postgres, duckdb or both, got ${args.warehouse}`);
if (!['on', 'off'].includes(String(args.rollups))) throw new Error(`--rollups: expected on or off, got ${args.rollups}`);
const ROLLUPS = args.rollups === 'on';
if (!['http', 'fetch'].includes(String(args.client))) throw new Error(`--client: expected http or fetch, got ${args.client}`);
const CLIENT = args.client as LoadClient;
const ROWS = Number(args.rows);
const DURATION_MS = Number(args.seconds) * 1000;
const CLIENTS = Number(args.clients);
/** Connections to PostgreSQL of each contender: our warehouse adapter's default pool. */
const POOL = 10;
/** Connections to DuckDB of each contender: --duckdb-pool, or what serve opens by default. */
const DUCK_POOL = args['duckdb-pool'] !== undefined ? Number(args['duckdb-pool']) : Number(process.env.SEXTANT_WAREHOUSE_POOL_SIZE ?? loadConfig({ SEXTANT_WAREHOUSE: 'duckdb::memory:' }).warehousePoolSize);
/** DuckDB's memory_limit of each contender: what serve applies (SEXTANT_DUCKDB_MEMORY_LIMIT, else the product's default). */
const DUCK_MEMORY_LIMIT = process.env.SEXTANT_DUCKDB_MEMORY_LIMIT?.trim() || DEFAULT_DUCKDB_MEMORY_LIMIT;
const only = (what: 'selective' | 'heavy' | 'dashboard'): boolean => !args.only || String(args.only).split(',').includes(what);

function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} (1 / 5 / 15 min)`;
}

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

/**
 * The project Sextant and the floor plan with: the example project (with its rollups), or a copy of it
 * whose models have no `rollups:` declaration, so that every question reads the base table.
 */
function projectDir(work: string): string {
  if (ROLLUPS) return EXAMPLE_PROJECT;
  const dir = join(work, 'project-without-rollups');
  cpSync(EXAMPLE_PROJECT, dir, { recursive: true });
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name) && path.includes(`${join(dir, 'models')}`)) {
        const doc = parseDocument(readFileSync(path, 'utf8'));
        if (doc.has('rollups')) {
          doc.delete('rollups');
          writeFileSync(path, doc.toString());
        }
      }
    }
  };
  walk(join(dir, 'models'));
  return dir;
}

/** The demo data into `wh` unless it is already there (within 1 % of the planned rows); anything else is emptied first. */
async function ensureDemoData(wh: Warehouse, where: string): Promise<void> {
  const planned = planDemo(ROWS)['social.post_daily'];
  const existing = Number((await wh.query(`select count(*) as n from social.post_daily`).catch(() => [{ n: 0 }]))[0]?.n ?? 0);
  if (Math.abs(existing - planned) <= planned * 0.01) return;
  for (const spec of DEMO_TABLES) {
    if (await wh.describeTable(spec.table)) await wh.execute(`delete from ${wh.dialect.quoteTable(spec.table)}`);
  }
  console.log(`generating demo data (${ROWS.toLocaleString()} fact rows, ${planned.toLocaleString()} of them in social.post_daily) into ${where} … (${loadAverage()})`);
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
  console.log(`  done in ${seconds.toFixed(1)} s (${Math.round(written / seconds).toLocaleString()} rows/s, ${loadAverage()}): ${JSON.stringify(out.tables)}`);
}

interface Questions {
  acct: string;
  rows: number;
  selectiveGql: string;
  heavyGql: string;
  planSelective: { sql: string; params: unknown[] };
  planHeavy: { sql: string; params: unknown[] };
}

async function questions(wh: Warehouse, dialect: SqlDialect, project: string): Promise<Questions> {
  const rows = Number((await wh.query('select count(*) as n from social.post_daily'))[0].n);
  const acct = String((await wh.query(`select account_name from social.accounts order by account_id limit 1`))[0].account_name);
  const acctRows = Number((await wh.query(`select count(*) as n from social.post_daily where account_name = $1 and metric_date >= '2026-03-01' and metric_date < '2026-04-01'`, [acct]))[0].n);
  console.log(`social.post_daily: ${rows.toLocaleString()} rows; selective question: account "${acct}" (all its platforms), 2026-03: ${acctRows.toLocaleString()} rows`);
  // `limit` is a variable so that the load can send the same document with a different limit per request:
  // our query runner coalesces identical statements in flight (src/serving/query-runner.ts), so 16
  // clients asking exactly the same thing cost the warehouse one statement; a distinct limit (far above the
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
  const { project: loaded, problems } = await loadSemanticProject(project);
  if (!loaded) throw new Error(problems.map((p) => p.message).join('\n'));
  return { acct, rows, selectiveGql, heavyGql, planSelective: planQuery(loaded, selectiveQuery, dialect), planHeavy: planQuery(loaded, heavyQuery, dialect) };
}

/** `sextant serve` on `warehouse`, answering at the returned GraphQL URL. */
async function startSextant(warehouse: string, project: string, objects: string, cache: boolean, children: ChildProcess[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/sextant.js', 'serve'], {
    env: {
      ...process.env,
      SEXTANT_WAREHOUSE: warehouse,
      SEXTANT_PROJECT: project,
      SEXTANT_OBJECT_STORE: `file:${objects}`,
      SEXTANT_DEMO: 'off',
      PORT: String(port),
      NODE_ENV: 'production',
      SEXTANT_RESULT_CACHE: cache ? 'on' : 'off',
      SEXTANT_RATE_LIMIT_PER_MINUTE: '100000000',
      SEXTANT_STATEMENT_TIMEOUT_MS: '3600000',
      SEXTANT_LOG_LEVEL: 'warn',
      // The same connections (and, on DuckDB, the same memory_limit) as the floor's.
      SEXTANT_WAREHOUSE_POOL_SIZE: String(warehouse.startsWith('duckdb:') ? DUCK_POOL : POOL),
      ...(warehouse.startsWith('duckdb:') ? { SEXTANT_DUCKDB_MEMORY_LIMIT: DUCK_MEMORY_LIMIT } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitHttp(`http://127.0.0.1:${port}/health/ready`, child, 'sextant serve');
  return { url: `http://127.0.0.1:${port}/graphql`, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

type OurAnswer = { social: { postPerformance: Array<{ metricDate: string; platform?: string; impressions: number; engagements: number }> } };
const ourGroups = (a: OurAnswer): Group[] =>
  sortGroups(a.social.postPerformance.map((r) => [[r.metricDate, ...(r.platform === undefined ? [] : [r.platform])].join('|'), r.impressions, r.engagements]));
const floorGroups = (rows: Array<Record<string, unknown>>, dateKey: string, withPlatform: boolean): Group[] =>
  sortGroups(rows.map((r) => [[isoDate(r[dateKey]), ...(withPlatform ? [String(r.platform)] : [])].join('|'), Number(r.impressions), Number(r.engagements)]));

/** Compares answers group by group; throws when any contender differs from the first. */
function checkAnswers(question: string, answers: Record<string, Group[]>): void {
  const sum = (gs: Group[], i: 1 | 2) => gs.reduce((s, g) => s + g[i], 0);
  console.log(`answers, ${question}: ${Object.entries(answers).map(([c, gs]) => `${c} ${gs.length} groups, impressions ${sum(gs, 1)}, engagements ${sum(gs, 2)}`).join('; ')}`);
  const [first, ...rest] = Object.values(answers);
  if (first.length === 0) throw new Error(`the ${question} question has an empty answer`);
  for (const other of rest) {
    if (JSON.stringify(other) !== JSON.stringify(first)) throw new Error(`the contenders disagree on the ${question} question: ${JSON.stringify(answers)}`);
  }
}

const post = (u: string, q: string, variables?: (i: number) => Record<string, unknown>) => {
  const send = jsonPoster(u, CLIENT, CLIENTS);
  return async (i: number) => {
    const { status, text } = await send(JSON.stringify(variables ? { query: q, variables: variables(i) } : { query: q }));
    if (status !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${status}: ${text.slice(0, 200)}`);
  };
};

/** Which rollup answered a question (extensions.sextant), as Sextant reports it. */
async function rollupUsed(url: string, query: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { limit: 50000 } }) });
  const body = (await res.json()) as { extensions?: { sextant?: { queries?: Array<{ rollup?: string | null }> } } };
  const used = body.extensions?.sextant?.queries?.[0]?.rollup;
  return used ? `rollup ${used}` : 'base table';
}

const LOAD = () => ({ clients: CLIENTS, durationMs: DURATION_MS, warmupMs: 3000 });

/** CPU time (ms) a process has used so far: all its threads, and its main (JavaScript) thread alone; Linux /proc. */
function cpuMs(pid: number): { total: number; main: number } | undefined {
  const ms = (path: string): number => {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of proc(5)), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  try {
    return { total: ms(`/proc/${pid}/stat`), main: ms(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

/** CPU time per request (ms) of a run, warm-up included: of the process that answers, and of this one (the load generator). */
interface CpuPerRequest {
  answering?: { total: number; main: number };
  bench?: { total: number; main: number };
  requests: number;
}
const cpuOf = new WeakMap<LoadResult, CpuPerRequest>();

/**
 * runLoad, and the CPU time per request it cost: `answering` is the process that answers (a server's pid;
 * the floor answers in this process, so its figure is this process's, load loop included). CPU time moves
 * less with the machine's load than requests/s.
 */
async function measuredLoad(name: string, request: (i: number) => Promise<void>, answeringPid: number = process.pid): Promise<LoadResult> {
  let requests = 0;
  const counted = async (i: number) => {
    requests++;
    await request(i);
  };
  const before = { answering: cpuMs(answeringPid), bench: cpuMs(process.pid) };
  const result = await runLoad(name, counted, LOAD());
  const after = { answering: cpuMs(answeringPid), bench: cpuMs(process.pid) };
  const per = (a?: { total: number; main: number }, b?: { total: number; main: number }) =>
    a && b && requests > 0 ? { total: (b.total - a.total) / requests, main: (b.main - a.main) / requests } : undefined;
  const cpu: CpuPerRequest = { requests };
  const answering = per(before.answering, after.answering);
  if (answering) cpu.answering = answering;
  const bench = answeringPid === process.pid ? undefined : per(before.bench, after.bench);
  if (bench) cpu.bench = bench;
  cpuOf.set(result, cpu);
  return result;
}

/** printTable, then each run's CPU time per request. */
function printMeasured(title: string, rows: LoadResult[]): void {
  printTable(title, rows);
  for (const r of rows) {
    const cpu = cpuOf.get(r);
    if (!cpu?.answering) continue;
    const f = (c: { total: number; main: number }) => `${c.total.toFixed(2)} ms (main thread ${c.main.toFixed(2)} ms)`;
    console.log(`  CPU per request, ${r.name}: answering process ${f(cpu.answering)}${cpu.bench ? `; bench client ${f(cpu.bench)}` : ''} — over ${cpu.requests} requests, warm-up included`);
  }
}

/**
 * The dashboard: the selective question, asked again and again by every client (the result cache on),
 * against the floor's requests/s for the same question. A third of the way in, one row for the question's
 * account and a day of its month is loaded through the upload path (createUpload → PUT → completeUpload →
 * the job merges it and announces it on the change feed); the first answer after the job succeeded must
 * hold it: that day's impressions up by exactly the row's.
 */
async function dashboard(ourUrl: string, q: Questions, accountId: string, floor: LoadResult, label: string): Promise<{ result: LoadResult; fresh: string }> {
  const day = '2026-03-15';
  const before = ourGroups((await gql(ourUrl, q.selectiveGql, { limit: 50000 })) as OurAnswer).find((g) => g[0] === day);
  if (!before) throw new Error(`no ${day} group in the selective answer`);
  const added = 1_000 + Math.floor(Math.random() * 9_000_000);
  const postId = `bench-probe-${Date.now()}`;
  let fresh = 'not checked';
  const probe = (async () => {
    await new Promise((r) => setTimeout(r, 3000 + DURATION_MS / 3));
    const up = (await gql(ourUrl, `mutation($f: String!) { createUpload(target: "social_post_daily", filename: $f, contentType: "text/csv") { id uploadUrl } }`, { f: 'probe.csv' })) as { createUpload: { id: string; uploadUrl: string } };
    const csv = `platform,post_id,metric_date,account_id,account_name,impressions,likes,comments,shares\nfacebook,${postId},${day},${accountId},${JSON.stringify(q.acct)},${added},1,2,3\n`;
    const put = await fetch(up.createUpload.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: csv });
    if (!put.ok) throw new Error(`PUT ${put.status}`);
    let job = ((await gql(ourUrl, `mutation($id: ID!) { completeUpload(id: $id) { id status } }`, { id: up.createUpload.id })) as { completeUpload: { id: string; status: string } }).completeUpload;
    while (job.status === 'QUEUED' || job.status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 20));
      job = ((await gql(ourUrl, `query($id: ID!) { job(id: $id) { id status errors { line message } } }`, { id: job.id })) as { job: { id: string; status: string } }).job;
    }
    if (job.status !== 'SUCCEEDED') throw new Error(`probe load ${job.status}: ${JSON.stringify(job)}`);
    const t = performance.now();
    const after = ourGroups((await gql(ourUrl, q.selectiveGql, { limit: 50000 })) as OurAnswer).find((g) => g[0] === day);
    const ok = after !== undefined && after[1] === before[1] + added && after[2] === before[2] + 6;
    fresh = ok
      ? `yes — the first answer after the load's job succeeded had ${day}'s impressions ${before[1]} + ${added} = ${after[1]} (${(performance.now() - t).toFixed(0)} ms)`
      : `NO — expected ${before[1] + added} impressions on ${day}, got ${after?.[1]}`;
  })();
  probe.catch(() => undefined);
  const result = await runLoad(label, post(ourUrl, q.selectiveGql, () => ({ limit: 50000 })), LOAD());
  await probe;
  const repeat = await fetch(ourUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q.selectiveGql, variables: { limit: 50000 } }) });
  const hit = ((await repeat.json()) as { extensions?: { sextant?: { queries?: Array<{ cacheHit?: boolean }> } } }).extensions?.sextant?.queries?.[0]?.cacheHit;
  console.log(`the question asked again after the run: extensions.sextant cacheHit = ${String(hit)}`);
  printTable(`dashboard: the selective question repeated, result cache on — ${q.rows.toLocaleString()} rows, ${CLIENTS} clients, ${DURATION_MS / 1000} s each (${loadAverage()})`, [floor, result]);
  console.log(`first answer after a load that changed the table is the new one: ${fresh}`);
  return { result, fresh };
}

interface Figures {
  warehouse: string;
  selective?: { floor: LoadResult; sextant: LoadResult; peer?: LoadResult; source: string };
  dashboard?: { floor: LoadResult; sextant: LoadResult; fresh: string };
}

async function runPostgres(work: string, project: string, children: ChildProcess[]): Promise<Figures> {
  const database = `sextant_bench_${ROWS}`;
  const { url, stop } = await benchPostgres(database);
  const figures: Figures = { warehouse: 'PostgreSQL' };
  try {
    const wh = await openWarehouse({ kind: 'postgres', url }, { statementTimeoutMs: 3_600_000 });
    await ensureDemoData(wh, database);
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
    const q = await questions(wh, postgresDialect, project);
    const accountId = String((await wh.query(`select account_id from social.accounts where account_name = $1 and platform = 'facebook'`, [q.acct]))[0].account_id);
    await wh.close();
    if (args['prepare-only']) return figures;

    // The peer returns the sums; the engagement rate (engagements / impressions) is left to its client.
    const pgSelective = `{ allPostDailies(condition: { accountName: ${JSON.stringify(q.acct)}, metricMonth: "2026-03-01" }) { groupedAggregates(groupBy: [METRIC_DATE]) { keys sum { impressions likes comments shares } } } }`;
    const pgHeavy = `{ allPostDailies { groupedAggregates(groupBy: [METRIC_DATE_TRUNCATED_TO_MONTH, PLATFORM]) { keys sum { impressions likes comments shares } } } }`;

    const objects = mkdtempSync(join(work, 'objects-'));
    const ours = await startSextant(url, project, objects, false, children);
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
    const floorName = 'floor (planned SQL, pg pool, no HTTP)';

    checkAnswers('selective', {
      sextant: ourGroups((await gql(ours.url, q.selectiveGql, { limit: 50000 })) as OurAnswer),
      floor: floorGroups((await pool.query(q.planSelective.sql, q.planSelective.params)).rows, 'metric_date__day', false),
      postgraphile: peerGroups((await gql(peerUrl, pgSelective)) as unknown as PeerAnswer),
    });
    checkAnswers('heavy', {
      sextant: ourGroups((await gql(ours.url, q.heavyGql, { limit: 50000 })) as OurAnswer),
      floor: floorGroups((await pool.query(q.planHeavy.sql, q.planHeavy.params)).rows, 'metric_date__month', true),
      postgraphile: peerGroups((await gql(peerUrl, pgHeavy)) as unknown as PeerAnswer),
    });
    const source = await rollupUsed(ours.url, q.selectiveGql);
    console.log(`answers: all three agree group by group; Sextant answered the selective question from: ${source}; heavy: ${await rollupUsed(ours.url, q.heavyGql)}`);

    let selectiveFloor: LoadResult | undefined;
    for (const [name, plan, ourQ, peerQ] of [
      ['selective', q.planSelective, q.selectiveGql, pgSelective],
      ['heavy', q.planHeavy, q.heavyGql, pgHeavy],
    ] as const) {
      if (!only(name) && !(name === 'selective' && only('dashboard'))) continue;
      const results: LoadResult[] = [];
      results.push(await runLoad(floorName, async () => void (await pool.query(plan.sql, plan.params)), LOAD()));
      if (name === 'selective') selectiveFloor = results[0];
      if (!only(name)) continue;
      results.push(await measuredLoad('sextant GraphQL/HTTP, cache off, distinct', post(ours.url, ourQ, (i) => ({ limit: 50000 - (i % 10000) })), ours.child.pid));
      results.push(await measuredLoad('postgraphile 5 + pg-aggregates', post(peerUrl, peerQ), peer.pid));
      results.push(await measuredLoad('sextant, identical requests (coalesced)', post(ours.url, ourQ, () => ({ limit: 50000 })), ours.child.pid));
      printMeasured(`PostgreSQL, ${name} — ${q.rows.toLocaleString()} rows, ${CLIENTS} clients, ${DURATION_MS / 1000} s each, rollups ${ROLLUPS ? 'on' : 'off'} (${loadAverage()})`, results);
      if (name === 'selective') figures.selective = { floor: results[0], sextant: results[1], peer: results[2], source };
    }
    await stopChild(peer);
    await stopChild(ours.child);

    if (only('dashboard') && selectiveFloor) {
      const cached = await startSextant(url, project, objects, true, children);
      const d = await dashboard(cached.url, q, accountId, selectiveFloor, 'sextant, result cache on (same question)');
      figures.dashboard = { floor: selectiveFloor, sextant: d.result, fresh: d.fresh };
      await stopChild(cached.child);
    }
    await pool.end();
    return figures;
  } finally {
    await stop();
  }
}

/** memory_limit and threads of a DuckDB instance, as it reports them. */
async function duckSettings(query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<string> {
  const [row] = await query(`select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads`);
  return `memory_limit ${String(row.memory_limit)}, threads ${String(row.threads)}`;
}

/** A few DuckDB connections on one instance, each leased to one request at a time (as our adapter does). */
class DuckFloor {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: Array<(c: DuckDBConnection) => void> = [];
  private constructor(private readonly instance: DuckDBInstance) {}

  static async open(path: string): Promise<DuckFloor> {
    const floor = new DuckFloor(await DuckDBInstance.create(path, { memory_limit: DUCK_MEMORY_LIMIT }));
    for (let i = 0; i < DUCK_POOL; i++) floor.idle.push(await floor.instance.connect());
    return floor;
  }

  async query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
    const conn = this.idle.pop() ?? (await new Promise<DuckDBConnection>((r) => this.waiting.push(r)));
    try {
      const reader = await conn.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJS() as Array<Record<string, unknown>>;
    } finally {
      const next = this.waiting.shift();
      if (next) next(conn);
      else this.idle.push(conn);
    }
  }

  close(): void {
    for (const c of this.idle) c.closeSync();
    this.instance.closeSync();
  }
}

/**
 * DuckDB: one file, opened by one process at a time (DuckDB locks it), so the contenders take turns:
 * the floor in this process, then `sextant serve` with the result cache off, then with it on.
 */
async function runDuckdb(work: string, project: string, children: ChildProcess[]): Promise<Figures> {
  const figures: Figures = { warehouse: 'DuckDB' };
  const dir = resolve(String(args['duckdb-dir']));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sextant_bench_${ROWS}.duckdb`);
  const wh = await openWarehouse({ kind: 'duckdb', path: file }, { statementTimeoutMs: 3_600_000, memoryLimit: DUCK_MEMORY_LIMIT });
  let q: Questions;
  let accountId: string;
  try {
    await ensureDemoData(wh, file);
    console.log(`DuckDB settings of sextant serve (opened as serve opens it): ${await duckSettings((sql) => wh.query(sql))}, ${DUCK_POOL} connections`);
    q = await questions(wh, duckdbDialect, project);
    accountId = String((await wh.query(`select account_id from social.accounts where account_name = $1 and platform = 'facebook'`, [q.acct]))[0].account_id);
  } finally {
    await wh.close();
  }
  if (args['prepare-only']) return figures;

  const floorName = 'floor (planned SQL, DuckDB node API, no HTTP)';
  const floor = await DuckFloor.open(file);
  console.log(`DuckDB settings of the floor: ${await duckSettings((sql) => floor.query(sql, []))}, ${DUCK_POOL} connections`);
  const floorAnswers = {
    selective: floorGroups(await floor.query(q.planSelective.sql, q.planSelective.params), 'metric_date__day', false),
    heavy: floorGroups(await floor.query(q.planHeavy.sql, q.planHeavy.params), 'metric_date__month', true),
  };
  const floorRuns: Partial<Record<'selective' | 'heavy', LoadResult>> = {};
  for (const name of ['selective', 'heavy'] as const) {
    if (!only(name) && !(name === 'selective' && only('dashboard'))) continue;
    const plan = name === 'selective' ? q.planSelective : q.planHeavy;
    floorRuns[name] = await measuredLoad(floorName, async () => void (await floor.query(plan.sql, plan.params)));
  }
  floor.close();

  const objects = mkdtempSync(join(work, 'objects-'));
  const ours = await startSextant(`duckdb:${file}`, project, objects, false, children);
  checkAnswers('selective', { floor: floorAnswers.selective, sextant: ourGroups((await gql(ours.url, q.selectiveGql, { limit: 50000 })) as OurAnswer) });
  checkAnswers('heavy', { floor: floorAnswers.heavy, sextant: ourGroups((await gql(ours.url, q.heavyGql, { limit: 50000 })) as OurAnswer) });
  const source = await rollupUsed(ours.url, q.selectiveGql);
  console.log(`answers: floor and sextant agree group by group; Sextant answered the selective question from: ${source}; heavy: ${await rollupUsed(ours.url, q.heavyGql)}`);
  for (const name of ['selective', 'heavy'] as const) {
    const floorRun = floorRuns[name];
    if (!only(name) || !floorRun) continue;
    const ourQ = name === 'selective' ? q.selectiveGql : q.heavyGql;
    const results = [floorRun];
    results.push(await measuredLoad('sextant GraphQL/HTTP, cache off, distinct', post(ours.url, ourQ, (i) => ({ limit: 50000 - (i % 10000) })), ours.child.pid));
    results.push(await measuredLoad('sextant, identical requests (coalesced)', post(ours.url, ourQ, () => ({ limit: 50000 })), ours.child.pid));
    printMeasured(`DuckDB, ${name} — ${q.rows.toLocaleString()} rows, ${CLIENTS} clients, ${DURATION_MS / 1000} s each, rollups ${ROLLUPS ? 'on' : 'off'}; no PostGraphile (it has no DuckDB back end) (${loadAverage()})`, results);
    if (name === 'selective') figures.selective = { floor: floorRun, sextant: results[1], source };
  }
  await stopChild(ours.child);

  if (only('dashboard') && floorRuns.selective) {
    const cached = await startSextant(`duckdb:${file}`, project, objects, true, children);
    const d = await dashboard(cached.url, q, accountId, floorRuns.selective, 'sextant, result cache on (same question)');
    figures.dashboard = { floor: floorRuns.selective, sextant: d.result, fresh: d.fresh };
    await stopChild(cached.child);
  }
  return figures;
}

async function main(): Promise<void> {
  buildIfStale();
  const children: ChildProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-metrics-'));
  const all: Figures[] = [];
  try {
    console.log(`bench/metrics.ts: --rows ${ROWS} --seconds ${DURATION_MS / 1000} --clients ${CLIENTS} --warehouse ${WAREHOUSES.join(',')} --rollups ${ROLLUPS ? 'on' : 'off'}; ${loadAverage()}`);
    const project = projectDir(work);
    for (const w of WAREHOUSES) all.push(w === 'postgres' ? await runPostgres(work, project, children) : await runDuckdb(work, project, children));
    if (args['prepare-only']) return;
    console.log(`\nsummary (rollups ${ROLLUPS ? 'on' : 'off'}; ${loadAverage()})`);
    const x = (a: LoadResult, b: LoadResult) => `${(a.rps / b.rps).toFixed(2)}x (${a.rps.toFixed(1)} vs ${b.rps.toFixed(1)} req/s)`;
    for (const f of all) {
      if (f.selective) {
        console.log(`${f.warehouse}, selective, cache off (${f.selective.source}): sextant ${x(f.selective.sextant, f.selective.floor)} the floor (goal ≥ 0.9x without rollups)`);
        if (f.selective.peer) console.log(`${f.warehouse}, selective, cache off: sextant ${x(f.selective.sextant, f.selective.peer)} PostGraphile + pg-aggregates (goal ≥ 1.5x with rollups on)`);
      }
      if (f.dashboard) {
        console.log(`${f.warehouse}, dashboard, cache on: sextant ${x(f.dashboard.sextant, f.dashboard.floor)} the floor (goal ≥ 10x); first answer after a load is the new one: ${f.dashboard.fresh}`);
      }
    }
    console.log(
      '\n"distinct": each request to sextant carries its own limit (same work), so every request runs its own statement, as for the floor\n' +
        'and the peer (neither shares statements between requests). "identical (coalesced)": all clients send the same request and\n' +
        'sextant runs one statement for the requests that arrive while it is in flight (not a result cache: nothing outlives the statement).\n' +
        'The floor sends unnamed statements (planned per execution); Sextant keeps its statements prepared per connection.',
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
