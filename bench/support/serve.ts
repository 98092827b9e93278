/**
 * A `sextant serve` of the compiled product in a child process of its own (production mode), for benches that
 * talk to it over HTTP. Its peak RSS is the kernel's figure (ru_maxrss), reported at exit by report-rss.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/support/services.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Service {
  base: string;
  /** The process id of `sextant serve`, for its CPU time (/proc/<pid>/stat). */
  pid: number;
  /** Ends the process and answers its peak RSS in MB. */
  stop: () => Promise<number>;
}

/**
 * Starts `sextant serve` with `env` over the bench's own settings and waits until it answers /health/ready;
 * `nodeArgs` go to node before the script (`--cpu-prof`, which NODE_OPTIONS refuses).
 */
export async function startService(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Service> {
  const port = await freePort();
  let stderr = '';
  const server: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', join(ROOT, 'bench/support/report-rss.mjs'), join(ROOT, 'bin/sextant.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), NODE_ENV: 'production', SEXTANT_LOG_LEVEL: 'warn', SEXTANT_DEMO: 'off', SEXTANT_STATEMENT_TIMEOUT_MS: '3600000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) break;
    } catch {
      /* starting */
    }
    if (i > 600 || server.exitCode !== null) throw new Error(`sextant serve did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    pid: server.pid!,
    stop: async () => {
      server.kill('SIGTERM');
      if (server.exitCode === null) await once(server, 'exit');
      const kb = /SEXTANT_BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1];
      if (!kb) throw new Error(`no peak RSS reported by sextant serve: ${stderr.slice(-2000)}`);
      return Number(kb) / 1024;
    },
  };
}
