/**
 * Runs the `sextant` CLI from source (tsx) in a child process, as a user would run the command, and
 * collects its output (stdout and stderr interleaved) and exit code.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const CLI = join(ROOT, 'src', 'cli', 'index.ts');

export interface CliRun {
  code: number | null;
  output: string;
}

/** `sextant <args>` in `cwd` with exactly `env` (nothing of this process's environment is passed unless given). */
export function runSextant(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliRun> {
  const child = spawn(process.execPath, [TSX, CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
