/**
 * bin/sextant.js, the `sextant` command's launcher: `sextant export` runs in a child node with a 128 MB
 * V8 old space unless NODE_OPTIONS or node's own flags set one; other commands run in the launcher's own
 * process; the child's exit code (and a signal sent to the launcher) come back to whoever ran it.
 * The real launcher is copied beside a stand-in for the compiled CLI (dist/src/cli/index.js) that reports
 * its process's heap limit, flags and pid, so the launcher is tested without building the project.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;

/** The stand-in CLI: prints what the process runs with, then exits with the code given as its second argument. */
const STAND_IN = `
import { getHeapStatistics } from 'node:v8';
export async function runCli(argv) {
  process.stdout.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, heapLimitMb: getHeapStatistics().heap_size_limit / 2 ** 20, argv }) + '\\n');
  if (argv[1] === 'wait') await new Promise((resolve) => setTimeout(resolve, 60_000));
  process.exitCode = Number(argv[1] ?? 0);
}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-launcher-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  copyFileSync(join(ROOT, 'bin', 'sextant.js'), join(dir, 'bin', 'sextant.js'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'index.js'), STAND_IN);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Reported {
  pid: number;
  execArgv: string[];
  heapLimitMb: number;
  argv: string[];
}

function launch(args: string[], env: NodeJS.ProcessEnv = {}, onStart?: (pid: number, reported: Reported) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; pid: number; reported: Reported }> {
  const child = spawn(process.execPath, [join(dir, 'bin', 'sextant.js'), ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    if (onStart && out.endsWith('\n')) onStart(child.pid!, JSON.parse(out) as Reported);
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, pid: child.pid!, reported: JSON.parse(out) as Reported })));
}

describe('bin/sextant.js', () => {
  it('runs `sextant export` in a child with a 128 MB old space and passes its exit code on', async () => {
    const ok = await launch(['export', '0']);
    expect(ok.code).toBe(0);
    expect(ok.reported.pid).not.toBe(ok.pid);
    expect(ok.reported.execArgv).toContain('--max-old-space-size=128');
    // The heap limit is the old space plus the young generation: far below Node's default (≥ 2 GB on 64-bit, 4 GB here).
    expect(ok.reported.heapLimitMb).toBeGreaterThan(128);
    expect(ok.reported.heapLimitMb).toBeLessThan(256);
    expect(ok.reported.argv).toEqual(['export', '0']);

    const failed = await launch(['export', '3']);
    expect(failed.code).toBe(3);
    expect(failed.reported.pid).not.toBe(failed.pid);
  }, 60_000);

  it('respects an old space set in NODE_OPTIONS or on node\'s command line, and runs other commands in place', async () => {
    const viaEnv = await launch(['export', '4'], { NODE_OPTIONS: '--max-old-space-size=300' });
    expect(viaEnv.code).toBe(4);
    expect(viaEnv.reported.pid).toBe(viaEnv.pid);
    expect(viaEnv.reported.heapLimitMb).toBeGreaterThan(300);
    expect(viaEnv.reported.heapLimitMb).toBeLessThan(400);

    const viaFlag = await new Promise<Reported>((resolve, reject) => {
      const child = spawn(process.execPath, ['--max-old-space-size=200', join(dir, 'bin', 'sextant.js'), 'export', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Reported) : reject(new Error(`exit ${code}`))));
    });
    expect(viaFlag.execArgv).toEqual(['--max-old-space-size=200']);
    expect(viaFlag.heapLimitMb).toBeGreaterThan(200);
    expect(viaFlag.heapLimitMb).toBeLessThan(300);

    const other = await launch(['check', '5']);
    expect(other.code).toBe(5);
    expect(other.reported.pid).toBe(other.pid);
    expect(other.reported.execArgv).toEqual([]);
    expect(other.reported.heapLimitMb).toBeGreaterThan(1024);
  }, 60_000);

  it('passes a SIGTERM sent to the launcher on to the export and ends by it', async () => {
    const ended = await launch(['export', 'wait'], {}, (launcher) => process.kill(launcher, 'SIGTERM'));
    expect(ended.reported.pid).not.toBe(ended.pid);
    expect(ended.signal).toBe('SIGTERM');
    expect(() => process.kill(ended.reported.pid, 0)).toThrow();
  }, 60_000);
});
