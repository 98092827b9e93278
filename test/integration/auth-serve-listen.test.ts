/**
 * docs/http.md at the command line: with no key, `sextant serve` refuses to listen beyond loopback and says
 * why; `sextant keys create` prints a key once; then the service listens on every interface and asks
 * for that key. Runs the real CLI (src/cli/index.ts through tsx) as child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sextant-serve-'));
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SEXTANT_WAREHOUSE: `duckdb:${join(dir, 'warehouse.duckdb')}`,
    SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
    SEXTANT_DEMO: 'off',
    SEXTANT_LOG_LEVEL: 'error',
    PORT: '0',
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [TSX, join(ROOT, 'src', 'cli', 'index.ts'), ...args], { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const p = start(args, extraEnv);
  const code = await p.exit;
  return { code, output: p.output() };
}

// Each CLI run starts tsx and opens the project: seconds each, more on a busy machine.
describe('sextant serve and keys', () => {
  it('refuses to listen beyond loopback while no key exists, says why, and writes nothing first (not even demo data)', async () => {
    const { code, output } = await run(['serve'], { HOST: '0.0.0.0', SEXTANT_DEMO: 'auto' });
    expect(code).toBe(1);
    expect(output).toMatch(/no API key exists: Sextant only serves loopback until you create one with `sextant keys create/);
    expect(output).not.toMatch(/generating demo data/);
    const instance = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
    try {
      const connection = await instance.connect();
      const tables = (await connection.runAndReadAll(`select table_schema || '.' || table_name as t from information_schema.tables`)).getRowObjects();
      expect(tables).toEqual([]);
      connection.closeSync();
    } finally {
      instance.closeSync();
    }
  }, 120_000);

  it('says in one line which port is taken and how to choose another', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const { code, output } = await run(['serve'], { PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`sextant serve: port ${port} on 127.0.0.1 is already in use`);
      expect(output).toMatch(/PORT=\d+ npm start/);
      expect(output).not.toMatch(/^\s+at /m);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('creates a key once, lists it without the secret, then serves every interface and wants the key', async () => {
    const created = await run(['keys', 'create', '--role', 'reader', '--team', 'social', '--name', 'excel']);
    expect(created.code).toBe(0);
    const key = /sx_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(created.output)?.[0];
    expect(key).toBeDefined();
    expect(created.output).toMatch(/cannot be shown again/);

    const listed = await run(['keys', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(/reader\s+social\s+active/);
    expect(listed.output).not.toContain(key!.slice(16));

    const bad = await run(['keys', 'create', '--role', 'reader', '--team', 'finance']);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/unknown team "finance"/);

    const serve = start(['serve'], { HOST: '0.0.0.0', SEXTANT_INBOX_SCAN_MS: '500' });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /GraphQL:\s+(http:\/\/\S+\/graphql)/.exec(serve.output());
          if (m) {
            clearInterval(timer);
            resolve(m[1]);
          }
        }, 50);
        void serve.exit.then((code) => {
          clearInterval(timer);
          reject(new Error(`serve exited with ${code}: ${serve.output()}`));
        });
      });
      expect(serve.output()).toMatch(/every request needs an API key/);
      const port = new URL(url).port;
      const ask = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ catalog { teams { name } } }' }) });
      expect((await ask({})).status).toBe(401);
      const ok = await ask({ authorization: `Bearer ${key}` });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ data: { catalog: { teams: [{ name: 'social' }] } } });

      // Beside the running service (which holds the DuckDB file): check validates, ingest goes through
      // the service's inbox, keys says exactly what to do.
      const check = await run(['check']);
      expect(check.code).toBe(0);
      expect(check.output).toMatch(/is valid\.\nThe warehouse is open in the running service/);
      expect(check.output).toMatch(/post_performance/);
      const ingest = await run(['ingest', join(ROOT, 'examples', 'agency', 'samples', 'social_manual_posts.csv'), '--target', 'social_manual_posts']);
      expect(ingest.code).toBe(0);
      expect(ingest.output).toMatch(/→ inbox\/social_manual_posts\/social_manual_posts\.csv in the object store/);
      // …and the running service loads it.
      let job: { status: string; rowsLoaded: number } | undefined;
      for (let i = 0; i < 600 && job?.status !== 'SUCCEEDED'; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: '{ jobs(type: INGEST_FILE) { status rowsLoaded } }' }),
        });
        job = ((await res.json()) as { data: { jobs: Array<{ status: string; rowsLoaded: number }> } }).data.jobs[0];
        if (job?.status === 'FAILED') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(job).toMatchObject({ status: 'SUCCEEDED' });
      expect(job!.rowsLoaded).toBeGreaterThan(0);
      const keys = await run(['keys', 'list']);
      expect(keys.code).toBe(1);
      expect(keys.output).toMatch(/stop the service \(Ctrl-C\), run `npx sextant keys list` again, then `npm start`/);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exit;
    }
  }, 300_000);
});
