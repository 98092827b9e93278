#!/usr/bin/env node
// The `sextant` command: runs the compiled CLI, building first when a checkout has no dist/ yet.
// `sextant export` runs in a child process with a small V8 old space (EXPORT_OLD_SPACE_MB) unless
// NODE_OPTIONS or node's own flags already set one: an export streams every row through V8, and with
// Node's default heap limit dead rows and the zip's buffers pile up to ~100 MB between full collections
// (bench/README.md, "Exports, memory settings"); the export's own memory is flat, so a small old space
// only makes V8 collect sooner. A server keeps Node's default: it may answer large results.
import { existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const EXPORT_OLD_SPACE_MB = 128;
const HEAP_FLAG = '--max-old-space-size';

const args = process.argv.slice(2);
const heapSet = process.execArgv.some((a) => a.startsWith(HEAP_FLAG)) || (process.env.NODE_OPTIONS ?? '').includes(HEAP_FLAG);
if (args[0] === 'export' && !heapSet) {
  const child = spawn(process.execPath, [`${HEAP_FLAG}=${EXPORT_OLD_SPACE_MB}`, ...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal itself; a signal sent to this process only is passed on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const entry = join(root, 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(entry)) {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  }
  const { runCli } = await import(pathToFileURL(entry).href);
  await runCli(process.argv.slice(2));
}
