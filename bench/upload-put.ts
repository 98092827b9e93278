/**
 * The upload PUT in embedded mode against a bare Node floor, side by side in one run:
 *
 * - ours: `createUpload` (GraphQL) then `PUT /uploads/:id?sig&exp` of the file to a `sextant serve` of the compiled
 *   product on a DuckDB file and the folder store — the signature and expiry checks, the byte limit, the SHA-256
 *   etag, fsync of the file, the sidecar, the rename and the folder's fsync;
 * - two floors: the same file PUT to a bare `node:http` server in a process of its own that hashes it (SHA-256),
 *   writes it to a file and fsyncs it (support/put-floor.mjs) — each chunk written as it arrives, or gathered into
 *   1 MB writes as the folder store does.
 *
 * All are sent as bench/ingest.ts sends them (node:http, the file read in 1 MB chunks). Each of `--starts` rounds
 * starts the three server processes afresh and times their first PUT (what bench/ingest.ts measures: one upload per
 * fresh `sextant serve`), then `--runs` more PUTs each, interleaved (the order rotating). It prints the wall time
 * (client included) and the server process's CPU time (user + system of all its threads, /proc/<pid>/stat, 10 ms
 * ticks), for ours split into createUpload and PUT; then the medians, the ratios of the floors' times to ours, and the
 * load average before and after.
 *
 *   npx tsx bench/upload-put.ts [--rows 1000000] [--starts 3] [--runs 4] [--malloc-mmap-threshold off|65536]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIfStale } from './support/build.js';
import { putFile } from './support/put-file.js';
import { writePostsCsv } from './support/posts-csv.js';
import { startService } from './support/serve.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    starts: { type: 'string', default: '3' },
    runs: { type: 'string', default: '4' },
    'malloc-mmap-threshold': { type: 'string', default: 'off' },
  },
});
const ROWS = Number(args.rows);
const STARTS = Number(args.starts);
const RUNS = Number(args.runs);
const MALLOC_MMAP_THRESHOLD = args['malloc-mmap-threshold'] === 'off' ? undefined : args['malloc-mmap-threshold'];
const ROOT = resolve(import.meta.dirname, '..');
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/** User and system CPU ms of a process, all its threads (fields 14 and 15 of /proc/<pid>/stat). */
function cpuMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * TICK_MS, sys: Number(fields[12]) * TICK_MS };
}

function cpuSince(pid: number, before: { user: number; sys: number }): { user: number; sys: number } {
  const now = cpuMs(pid);
  return { user: now.user - before.user, sys: now.sys - before.sys };
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data!;
}

interface Run {
  /** createUpload: wall ms and the server's CPU ms (ours only). */
  createMs?: number;
  createCpu?: number;
  /** The PUT: wall ms (client included) and the server's CPU ms. */
  putMs: number;
  user: number;
  sys: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const CONTENDERS = ['ours', 'chunks', 'gathered'] as const;
type Contender = (typeof CONTENDERS)[number];
const NAMES: Record<Contender, string> = {
  chunks: 'floor: node:http, write per chunk',
  gathered: 'floor: node:http, 1 MB writes',
  ours: 'sextant PUT /uploads/:id',
};

/** A floor server process (support/put-floor.mjs) writing into `dir`, and its URL for `mode`. */
async function startFloor(dir: string, mode: 'chunks' | 'gathered'): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench/support/put-floor.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${(JSON.parse(String(line)) as { port: number }).port}/${mode}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

function describe(r: Run): string {
  const put = `PUT ${r.putMs.toFixed(0)} ms (CPU ${r.user}u+${r.sys}s)`;
  return r.createMs === undefined ? put : `createUpload ${r.createMs.toFixed(0)} ms (CPU ${r.createCpu}) + ${put}`;
}

async function main(): Promise<void> {
  buildIfStale();
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-put-'));
  try {
    const csv = join(work, 'posts.csv');
    await writePostsCsv(csv, ROWS);
    const size = statSync(csv).size;
    console.log(`file: ${ROWS.toLocaleString()} rows, ${(size / 1e6).toFixed(1)} MB; MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD ?? '(unset)'}; load average before: ${load()}`);
    const first: Record<Contender, Run[]> = { ours: [], chunks: [], gathered: [] };
    const later: Record<Contender, Run[]> = { ours: [], chunks: [], gathered: [] };
    const rss: number[] = [];
    for (let start = 0; start < STARTS; start++) {
      const dir = join(work, `start-${start}`);
      const floorDir = join(dir, 'floor');
      mkdirSync(floorDir, { recursive: true });
      const service = await startService({
        SEXTANT_WAREHOUSE: `duckdb:${join(dir, 'ours.duckdb')}`,
        SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
        ...(MALLOC_MMAP_THRESHOLD ? { MALLOC_MMAP_THRESHOLD_: MALLOC_MMAP_THRESHOLD } : {}),
      });
      const floors = { chunks: await startFloor(floorDir, 'chunks'), gathered: await startFloor(floorDir, 'gathered') };
      try {
        const put: Record<Contender, () => Promise<Run>> = {
          ours: async () => {
            const c0 = cpuMs(service.pid);
            const t0 = performance.now();
            const up = await gql(`${service.base}/graphql`, `mutation($f: String!) { createUpload(target: "social_manual_posts", filename: $f, contentType: "text/csv") { id uploadUrl } }`, { f: 'posts.csv' });
            const t1 = performance.now();
            const c1 = cpuMs(service.pid);
            await putFile(up.createUpload.uploadUrl, csv, size);
            const t2 = performance.now();
            return { createMs: t1 - t0, createCpu: c1.user + c1.sys - c0.user - c0.sys, putMs: t2 - t1, ...cpuSince(service.pid, c1) };
          },
          chunks: () => floorPut(floors.chunks),
          gathered: () => floorPut(floors.gathered),
        };
        const floorPut = async (floor: { url: string; pid: number }): Promise<Run> => {
          for (const f of readdirSync(floorDir)) rmSync(join(floorDir, f));
          const c0 = cpuMs(floor.pid);
          const t0 = performance.now();
          await putFile(floor.url, csv, size);
          return { putMs: performance.now() - t0, ...cpuSince(floor.pid, c0) };
        };
        for (let run = 0; run <= RUNS; run++) {
          const order = CONTENDERS.map((_, i) => CONTENDERS[(i + run + start) % CONTENDERS.length]);
          const runs = run === 0 ? first : later;
          for (const c of order) runs[c].push(await put[c]());
          console.log(`start ${start + 1} ${run === 0 ? 'first PUT' : `PUT ${run + 1}`}: ${CONTENDERS.map((c) => `${c} ${describe(runs[c].at(-1)!)}`).join('; ')}; load ${load()}`);
        }
      } finally {
        floors.chunks.stop();
        floors.gathered.stop();
        rss.push(await service.stop());
        rmSync(dir, { recursive: true, force: true });
      }
    }

    console.log(`\n${(size / 1e6).toFixed(1)} MB PUT: medians of ${STARTS} fresh starts (first PUT) and of ${STARTS * RUNS} later PUTs; load average after: ${load()}`);
    console.log(`${'contender'.padEnd(40)} ${'first: wall ms'.padStart(14)} ${'CPU ms'.padStart(7)} ${'later: wall ms'.padStart(15)} ${'CPU ms'.padStart(7)}`);
    const m = (rs: Run[], f: (r: Run) => number): number => median(rs.map(f));
    const wall = (r: Run): number => (r.createMs ?? 0) + r.putMs;
    const cpu = (r: Run): number => (r.createCpu ?? 0) + r.user + r.sys;
    const row = (name: string, a: Run[], b: Run[], w: (r: Run) => number, c: (r: Run) => number) =>
      console.log(`${name.padEnd(40)} ${m(a, w).toFixed(0).padStart(14)} ${m(a, c).toFixed(0).padStart(7)} ${m(b, w).toFixed(0).padStart(15)} ${m(b, c).toFixed(0).padStart(7)}`);
    row(NAMES.chunks, first.chunks, later.chunks, wall, cpu);
    row(NAMES.gathered, first.gathered, later.gathered, wall, cpu);
    row('sextant createUpload (GraphQL)', first.ours, later.ours, (r) => r.createMs!, (r) => r.createCpu!);
    row(NAMES.ours, first.ours, later.ours, (r) => r.putMs, (r) => r.user + r.sys);
    row('sextant createUpload + PUT', first.ours, later.ours, wall, cpu);
    for (const [label, runs] of [['first', first], ['later', later]] as const) {
      const ours = m(runs.ours, wall);
      console.log(
        `ratio, ${label}: createUpload + PUT ${(m(runs.chunks, wall) / ours).toFixed(2)}x the per-chunk floor, ${(m(runs.gathered, wall) / ours).toFixed(2)}x the 1 MB floor` +
          ` (time); server CPU ${(m(runs.ours, cpu) / m(runs.chunks, cpu)).toFixed(2)}x / ${(m(runs.ours, cpu) / m(runs.gathered, cpu)).toFixed(2)}x theirs`,
      );
    }
    console.log(`sextant serve peak RSS ${rss.map((r) => r.toFixed(0)).join(', ')} MB`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
