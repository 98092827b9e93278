/**
 * V8's young generation while `sextant serve` starts. Most of what start-up allocates survives (module code,
 * the GraphQL schema, the project), and V8 grows its young generation after scavenges that find that much
 * alive: a fresh service held two 16 MiB semi-spaces (~30 MB resident) that serve no purpose once start-up
 * is over. V8's memory reducer gives them back only after ~30 s of idleness, so a process that
 * takes work at once (an upload right after a deploy) carried them through its peak (bench/README.md,
 * "idle"). Held at V8's initial size during start-up, they are never grown; released, V8 grows them again
 * as requests need (a cap for good, `--max-semi-space-size=1`, cost ~60 % more main-thread CPU per request
 * at 16 concurrent requests, 1.38 → 2.27 ms, and 70 MB more memory, as requests' objects were promoted).
 *
 * `--semi-space-growth-factor` is read by V8 each time it grows the young generation, so setting it at run
 * time takes effect (a size limit such as `--max-semi-space-size` is fixed when the process starts). A factor
 * given on node's command line (`node --semi-space-growth-factor=2 bin/sextant.js serve`: V8's default all
 * along) is left alone; NODE_OPTIONS cannot carry it.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--semi-space-growth-factor';
/** V8's own default (`node --v8-options`), restored on release. */
const V8_DEFAULT_FACTOR = 2;

const setByUser = (): boolean => process.execArgv.some((a) => /^--semi[-_]space[-_]growth[-_]factor\b/.test(a));

let held = false;

/** Keeps the young generation at its initial size until {@link releaseYoungGeneration}. */
export function holdYoungGeneration(): void {
  if (held || setByUser()) return;
  setFlagsFromString(`${FLAG}=1`);
  held = true;
}

/** Lets V8 grow the young generation again, as it does by default. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`${FLAG}=${V8_DEFAULT_FACTOR}`);
  held = false;
}
