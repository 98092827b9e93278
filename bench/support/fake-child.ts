/**
 * A connector bench's fake API in a process of its own, so that the fake's CPU is not spent in the
 * process measured: ours (the run) and the floor (fetch and discard) send the same requests to this
 * one child. Started by {@link startFakeChild}; prints one JSON line `{url, baseUrl, token}` when it
 * listens, and answers until its stdin closes (the parent ended, whatever way).
 *
 *   tsx bench/support/fake-child.ts facebook '{"pages":[…],"today":"2026-12-01"}'
 *   tsx bench/support/fake-child.ts ga4 '{"propertyData":{…},"demo":{"rows":2000000}}'
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What the parent learns of a fake running in a child. */
export interface FakeChild {
  /** `http://127.0.0.1:<port>` (control endpoints under `/__fake/`). */
  url: string;
  /** The API root a source's `base_url` takes. */
  baseUrl: string;
  token: string;
  /** CPU seconds (user + system) the fake's process has used so far (Linux: /proc/<pid>/stat). */
  cpuSeconds(): number;
  /** Every request the fake answered, as `GET /__fake/requests` lists them (bodies included). */
  requests(): Promise<Array<{ method: string; path: string; query: string; body: string; status?: number }>>;
  close(): Promise<void>;
}

/** Starts fake `name` ('facebook' or 'ga4') with `options` in a child process. */
export async function startFakeChild(name: 'facebook' | 'ga4', options: unknown): Promise<FakeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the ${name} fake exited (code ${code}) before it listened`)));
  });
  const { url, baseUrl, token } = JSON.parse(line) as { url: string; baseUrl: string; token: string };
  return {
    url,
    baseUrl,
    token,
    cpuSeconds: () => {
      // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name's closing parenthesis.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    requests: async () => (await (await fetch(`${url}/__fake/requests`)).json()) as Awaited<ReturnType<FakeChild['requests']>>,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, json] = process.argv.slice(2);
  const options = JSON.parse(json ?? '{}') as Record<string, unknown>;
  let fake: { url: string; baseUrl: string; token: string; close(): Promise<void> };
  if (name === 'facebook') {
    const { startFacebookFake } = await import('../../test/fakes/facebook/facebook-fake.js');
    fake = await startFacebookFake(options);
  } else if (name === 'ga4') {
    const { startGa4Fake } = await import('../../test/fakes/ga4/ga4-fake.js');
    const { demoRows } = await import('../../test/fakes/demo-data.js');
    fake = await startGa4Fake(options);
    // Build the fake's data before the parent times anything.
    const demo = options.demo as { rows?: number } | undefined;
    demoRows('web.ga4_daily', demo);
    demoRows('web.page_daily', demo);
  } else throw new Error(`no fake named ${name}; expected facebook or ga4`);
  process.stdout.write(`${JSON.stringify({ url: fake.url, baseUrl: fake.baseUrl, token: fake.token })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void fake.close().then(() => process.exit(0)));
}
