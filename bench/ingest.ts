/**
 * Ingest a 1M-row CSV through the upload path (createUpload → PUT → completeUpload → the job runs:
 * raw file kept in the object store, parsed, converted, staged with COPY and merged on the key) and load
 * the same file with `psql -c "\copy …"` into the same PostgreSQL table, side by side; prints rows/s of
 * both and the ratio. The table is emptied before each contender.
 *
 *   npm run bench:ingest -- --rows 1000000
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import pg from 'pg';
import { benchPostgres } from './support/postgres.js';
import { freePort } from '../test/support/services.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '2' } } });
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('platform,Post ID,Date,impressions,likes\n');
  const platforms = ['facebook', 'instagram', 'x'];
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const d = new Date(Date.UTC(2025, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10);
    buf += `${platforms[i % 3]},p${i},${d},${(i * 7919) % 100000},${(i * 31) % 5000}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data!;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-ingest-'));
  const { url, stop } = await benchPostgres('sextant_bench_ingest');
  let server: ChildProcess | undefined;
  try {
    const csv = join(work, 'posts.csv');
    await writeCsv(csv, ROWS);
    const size = statSync(csv).size;
    console.log(`file: ${ROWS.toLocaleString()} rows, ${(size / 1e6).toFixed(1)} MB`);

    const port = await freePort();
    server = spawn(process.execPath, ['bin/sextant.js', 'serve'], {
      env: {
        ...process.env,
        SEXTANT_WAREHOUSE: url,
        SEXTANT_OBJECT_STORE: `file:${join(work, 'objects')}`,
        PORT: String(port),
        NODE_ENV: 'production',
        SEXTANT_LOG_LEVEL: 'warn',
        SEXTANT_DEMO: 'off',
        // psql has no statement timeout; the merge's upsert runs under ours (default 30 s).
        SEXTANT_STATEMENT_TIMEOUT_MS: '3600000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/health/ready`)).ok) break;
      } catch {
        /* starting */
      }
      if (i > 600 || server.exitCode !== null) throw new Error('sextant serve did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
    const client = new pg.Client(url);
    await client.connect();
    const count = async () => Number((await client.query('select count(*) as n from social.manual_posts')).rows[0].n);
    // What both loads must leave in the table: the same rows, compared by a few aggregates.
    const contents = async () =>
      JSON.stringify(
        (
          await client.query(
            `select count(*)::text as n, count(distinct platform)::text as platforms, sum(impressions)::text as impressions, sum(likes)::text as likes,
                    min(metric_date)::text as first, max(metric_date)::text as last, md5(string_agg(post_id, ',' order by post_id)) as posts
               from social.manual_posts`,
          )
        ).rows[0],
      );

    const ours: number[] = [];
    const theirs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await client.query('truncate social.manual_posts');
      const t0 = performance.now();
      const up = await gql(`${base}/graphql`, `mutation($f: String!) { createUpload(target: "social_manual_posts", filename: $f, contentType: "text/csv") { id uploadUrl } }`, { f: 'posts.csv' });
      const put = await fetch(up.createUpload.uploadUrl, {
        method: 'PUT',
        body: createReadStream(csv) as unknown as ReadableStream,
        headers: { 'content-type': 'text/csv', 'content-length': String(size) },
        duplex: 'half',
      } as RequestInit);
      if (!put.ok) throw new Error(`PUT failed: ${put.status} ${await put.text()}`);
      const tPut = performance.now();
      const done = await gql(`${base}/graphql`, `mutation($id: ID!) { completeUpload(id: $id) { id status } }`, { id: up.createUpload.id });
      let job = done.completeUpload;
      while (job.status === 'QUEUED' || job.status === 'RUNNING') {
        await new Promise((r) => setTimeout(r, 50));
        job = (await gql(`${base}/graphql`, `query($id: ID!) { job(id: $id) { id status createdAt startedAt finishedAt rowsLoaded errors { line message } } }`, { id: job.id })).job;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (job.status !== 'SUCCEEDED') throw new Error(`job ${job.id} ${job.status}: ${JSON.stringify(job.errors)}`);
      const n = await count();
      if (n !== ROWS) throw new Error(`expected ${ROWS} rows after our load, found ${n}`);
      const ourContents = await contents();
      ours.push(seconds);
      const at = (t: string) => new Date(t).getTime() / 1000;
      console.log(
        `run ${run + 1}: sextant ${seconds.toFixed(2)} s = createUpload + PUT ${((tPut - t0) / 1000).toFixed(2)} s, ` +
          `job queued ${(at(job.startedAt) - at(job.createdAt)).toFixed(2)} s, job running ${(at(job.finishedAt) - at(job.startedAt)).toFixed(2)} s (rowsLoaded ${job.rowsLoaded})`,
      );

      await client.query('truncate social.manual_posts');
      const t1 = performance.now();
      execFileSync('psql', [url, '-q', '-c', `\\copy social.manual_posts(platform, post_id, metric_date, impressions, likes) from '${csv}' with (format csv, header true)`]);
      theirs.push((performance.now() - t1) / 1000);
      const m = await count();
      if (m !== ROWS) throw new Error(`expected ${ROWS} rows after psql \\copy, found ${m}`);
      const theirContents = await contents();
      if (theirContents !== ourContents) throw new Error(`the two loads left different tables: sextant ${ourContents}; psql ${theirContents}`);
      console.log(`run ${run + 1}: psql \\copy ${theirs[theirs.length - 1].toFixed(2)} s; both loads left the same table: ${theirContents}`);
    }
    await client.end();
    const best = (xs: number[]) => Math.min(...xs);
    const oursRps = ROWS / best(ours);
    const psqlRps = ROWS / best(theirs);
    console.log(`\n${ROWS.toLocaleString()}-row CSV into social.manual_posts (best of ${RUNS})`);
    console.log(`${'psql \\copy (baseline)'.padEnd(48)} ${best(theirs).toFixed(2).padStart(7)} s ${Math.round(psqlRps).toLocaleString().padStart(10)} rows/s 1.00x`);
    console.log(`${'sextant upload path (PUT + job: parse, merge)'.padEnd(48)} ${best(ours).toFixed(2).padStart(7)} s ${Math.round(oursRps).toLocaleString().padStart(10)} rows/s ${(oursRps / psqlRps).toFixed(2)}x`);
    console.log(`all runs — sextant: ${ours.map((s) => s.toFixed(2)).join(', ')} s; psql: ${theirs.map((s) => s.toFixed(2)).join(', ')} s`);
  } finally {
    server?.kill('SIGTERM');
    await stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
