/**
 * `sextant serve` as a real child process (the CLI through tsx, or `bin/sextant.js` over a build), for
 * tests and benches of several processes: start one per role, wait until it serves, read its output
 * and its JSON log lines, signal it, wait for its exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ServeProcess {
  readonly name: string;
  readonly role: 'api' | 'worker' | 'all';
  readonly child: ChildProcess;
  /** The API's port (api and all roles). */
  readonly port: number | undefined;
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** stdout and stderr so far. */
  output(): string;
  /** The JSON log lines written to stderr so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

export interface StartServeOptions {
  /** Also the log lines' `proc` label in failures. */
  name: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** `bin`: `node bin/sextant.js serve` (the build); default `tsx`: the sources, through tsx's loader. */
  entry?: 'tsx' | 'bin';
  /** How long start-up may take (tsx compiles on the fly: several seconds each on a busy machine). */
  timeoutMs?: number;
}

/** Starts `sextant serve` with SEXTANT_ROLE from `env` and resolves once it serves (or rejects with its output). */
export async function startServe(options: StartServeOptions): Promise<ServeProcess> {
  const role = (options.env.SEXTANT_ROLE ?? 'all') as ServeProcess['role'];
  // tsx as a loader in the one process, not its CLI: the CLI is a parent process relaying signals, and it
  // SIGKILLs its child when the child does not acknowledge a signal within 30 ms (a busy event loop).
  // By path: the working directory may be anywhere.
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const args = options.entry === 'bin' ? [join(ROOT, 'bin', 'sextant.js'), 'serve'] : ['--import', tsx, join(ROOT, 'src', 'cli', 'index.ts'), 'serve'];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: { SEXTANT_LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
    err += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ready = role === 'worker' ? /Sextant worker running/ : /GraphQL:\s+http:\/\/[^\s]+:(\d+)\/graphql/;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const started = Date.now();
  let match: RegExpExecArray | null = null;
  while (!(match = ready.exec(out))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${options.name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${out}`);
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not start within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = role === 'worker' ? undefined : Number(match[1]);
  return {
    name: options.name,
    role,
    child,
    port,
    base: `http://127.0.0.1:${port ?? 0}`,
    output: () => out,
    logs: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { unparsed: l };
          }
        }),
    exited,
  };
}

/** Stops a process that a test started, at the end of a test whatever happened (SIGKILL after `graceMs`). */
export async function stopServe(p: ServeProcess | undefined, graceMs = 30_000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}
