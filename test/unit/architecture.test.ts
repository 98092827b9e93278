/**
 * The house rules that keep the layers apart (STYLE.md): no import cycles, and only adapters import
 * a driver or SDK — the core (semantic/, ingest/, resolvers/, http/, auth/) talks to ports.
 */
import { beforeAll, describe, it, expect } from 'vitest';
import madge, { type MadgeResult } from 'madge';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = join(process.cwd(), 'src');

/** Driver and SDK packages, and the only folders that may import them. */
const ADAPTER_ONLY: Record<string, RegExp> = {
  pg: /^warehouse\/postgres\//,
  'pg-copy-streams': /^warehouse\/postgres\//,
  '@duckdb/node-api': /^warehouse\/duckdb\//,
  '@aws-sdk/': /^storage\/s3\//,
  bullmq: /^jobs\/bullmq\//,
  ioredis: /^jobs\/bullmq\//,
};

describe('architecture', () => {
  let graph: MadgeResult;
  beforeAll(async () => {
    // Type-only imports vanish at run time, so they cannot make a cycle.
    graph = await madge(SRC, { fileExtensions: ['ts'], tsConfig: join(process.cwd(), 'tsconfig.json'), detectiveOptions: { ts: { skipTypeImports: true } } });
  });

  it('has no import cycles in src/', () => {
    expect(graph.circular()).toEqual([]);
    // The graph really was read (a wrong path would give an empty graph and a vacuous pass).
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(50);
  });

  it('lets only adapters import drivers and SDKs', () => {
    const offenders: string[] = [];
    for (const file of Object.keys(graph.obj())) {
      const text = readFileSync(join(SRC, file), 'utf8');
      for (const match of text.matchAll(/^\s*import\s+(?!type\b)[^'"]*from\s+'([^']+)'/gm)) {
        const spec = match[1];
        for (const [pkg, allowed] of Object.entries(ADAPTER_ONLY)) {
          const hit = pkg.endsWith('/') ? spec.startsWith(pkg) : spec === pkg || spec.startsWith(`${pkg}/`);
          if (hit && !allowed.test(file)) offenders.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
