/**
 * `npm ci` on Node 20 installs nothing that asks for a newer Node (each such package is a screen of
 * EBADENGINE warnings, and some crash at run time): every package in the lock file that states
 * `engines.node` must accept Node 20. The bench's peer lives in bench/peer/ for that reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** True when a simple npm range (`>=x`, `^x`, `x || y`, `*`) admits 20.x. */
function admitsNode20(range: string): boolean {
  return range.split('||').some((part) => {
    const p = part.trim();
    if (p === '' || p === '*' || p === 'x') return true;
    const floors = [...p.matchAll(/>=?\s*v?(\d+)(?:\.(\d+))?/g)].map((m) => Number(m[1]) + Number(m[2] ?? 0) / 1000);
    const caret = /^\^?~?v?(\d+)/.exec(p);
    const ceilings = [...p.matchAll(/<\s*v?(\d+)/g)].map((m) => Number(m[1]));
    if (floors.length > 0) return floors.every((f) => f <= 20.999) && ceilings.every((c) => c > 20);
    if (caret) return Number(caret[1]) === 20 || (p.startsWith('^') === false && Number(caret[1]) <= 20);
    return true;
  });
}

describe('installing on Node 20', () => {
  it('locks no package whose engines exclude Node 20', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { engines?: { node?: string }; dev?: boolean }> };
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && typeof p.engines?.node === 'string' && !admitsNode20(p.engines.node))
      .map(([path, p]) => `${path} wants node ${p.engines!.node}`);
    expect(refused).toEqual([]);
    // The reading really sees engines (a wrong path would pass vacuously).
    expect(Object.values(lock.packages).filter((p) => p.engines?.node).length).toBeGreaterThan(20);
    expect(admitsNode20('>=22')).toBe(false);
    expect(admitsNode20('>=22.15.0')).toBe(false);
    expect(admitsNode20('^18.18.0 || ^20.9.0 || >=21.1.0')).toBe(true);
  });
});
