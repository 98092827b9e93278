/**
 * The benches that start the product as `sextant serve` or `sextant export` run `bin/sextant.js`, which runs dist/
 * whenever it exists, even when it is older than src/. Each calls {@link buildIfStale} first, so that it measures
 * the code of this checkout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The newest modification time of a file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Compiles the product into dist/ when it is missing or older than src/. */
export function buildIfStale(): void {
  const entry = join(ROOT, 'dist', 'src', 'cli', 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newest(join(ROOT, 'src'))) return;
  console.log('building dist/ (tsc -p tsconfig.build.json) …');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}
