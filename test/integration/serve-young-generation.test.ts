/**
 * `sextant serve` starts with V8's young generation at its initial size (src/cli/young-generation.ts): a
 * fresh service does not carry the ~30 MB that start-up's allocations would have grown it to, as its
 * /metrics shows; once released, V8 grows it again as work needs; `--semi-space-growth-factor` given to node
 * is left alone. The module is run in child processes: a test runner's own heap has grown long before.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, stopServe, type ServeProcess } from '../support/serve-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const MiB = 2 ** 20;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sextant-young-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The young generation's size (MiB) after allocating while held, then after allocating once released. */
async function probe(nodeFlags: string[]): Promise<{ held: number; released: number }> {
  const script = join(dir, 'probe.mts');
  await writeFile(
    script,
    `import { getHeapSpaceStatistics } from 'node:v8';
import { holdYoungGeneration, releaseYoungGeneration } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli', 'young-generation.ts')).href)};
const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / ${MiB};
// Objects that survive a scavenge or two, as start-up's and in-flight requests' do.
const allocate = () => { let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; } };
holdYoungGeneration(); allocate(); const held = size();
releaseYoungGeneration(); allocate(); const released = size();
console.log(JSON.stringify({ held, released }));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '--import', TSX, script]);
  return JSON.parse(stdout) as { held: number; released: number };
}

describe('the young generation of `sextant serve`', () => {
  it('is at its initial size once the service serves', async () => {
    let serve: ServeProcess | undefined;
    try {
      serve = await startServe({
        name: 'serve',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, SEXTANT_WAREHOUSE: `duckdb:${join(dir, 'warehouse.duckdb')}`, SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`, SEXTANT_DEMO: 'off', SEXTANT_LOG_LEVEL: 'error', PORT: '0' },
      });
      const metrics = await (await fetch(`${serve.base}/metrics`)).text();
      const newSpace = Number(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(metrics)?.[1]);
      // Two 1 MiB semi-spaces (V8's initial size); start-up used to leave two of 16 MiB.
      expect(newSpace).toBeGreaterThan(0);
      expect(newSpace).toBeLessThanOrEqual(4 * MiB);
    } finally {
      await stopServe(serve);
    }
  });

  it('grows again as V8 decides once released, and is left alone when node is given a growth factor', async () => {
    const ours = await probe([]);
    expect(ours.held).toBeLessThanOrEqual(4);
    expect(ours.released).toBeGreaterThanOrEqual(16);
    const theirs = await probe(['--semi-space-growth-factor=2']);
    expect(theirs.held).toBeGreaterThanOrEqual(16);
  });
});
