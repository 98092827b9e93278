/**
 * The house rules that keep the layers apart: no import cycles, only adapters import a driver or SDK,
 * and every folder of src/ imports only what its README's "May import:" line names — type imports
 * included, since a type import still ties one folder's design to another's. The faces (GraphQL, HTTP,
 * the CLI) name `serving` and never `warehouse/` or `semantic/` planning, so serving stays the only path
 * from a face to the warehouse.
 */
import { beforeAll, describe, it, expect } from 'vitest';
import madge, { type MadgeResult } from 'madge';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SRC = join(process.cwd(), 'src');

/** Driver and SDK packages, and the only folders that may import them. */
const ADAPTER_ONLY: Record<string, RegExp> = {
  // pg-wire/ is the pg-protocol half the PostgreSQL and Redshift adapters share.
  pg: /^warehouse\/(postgres|pg-wire)\//,
  'pg-copy-streams': /^warehouse\/(postgres|pg-wire)\//,
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

  it('lets every folder import only what its README says it may', () => {
    const offenders: string[] = [];
    for (const folder of topFolders()) {
      const allowed = mayImport(folder);
      for (const file of tsFiles(join(SRC, folder))) {
        for (const target of relativeImports(file)) {
          if (target === folder || target.startsWith(`${folder}/`)) continue;
          if (!allowed.some((a) => target === a || target.startsWith(`${a}/`))) offenders.push(`${relative(SRC, file)} imports ${target} (README allows: ${allowed.join(', ')})`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('keeps faces off the warehouse and the planner: they ask through serving', () => {
    for (const face of FACES) {
      const allowed = mayImport(face);
      expect(allowed).toContain('serving');
      expect(allowed.filter((a) => a === 'warehouse' || a.startsWith('warehouse/') || a === 'semantic' || /^semantic\/(planner|load|check-)/.test(a))).toEqual([]);
    }
  });

  it('keeps the warehouse adapters apart: each imports only the shared pieces, never another adapter', () => {
    const adapters = ['duckdb', 'postgres', 'redshift'];
    const offenders: string[] = [];
    for (const [file, deps] of Object.entries(graph.obj())) {
      const own = adapters.find((a) => file.startsWith(`warehouse/${a}/`));
      if (!own) continue;
      for (const dep of deps) {
        const other = adapters.find((a) => a !== own && dep.startsWith(`warehouse/${a}/`));
        if (other) offenders.push(`${file} imports ${dep}`);
      }
    }
    expect(offenders).toEqual([]);
    // The graph holds the adapters (a renamed folder would make this pass vacuously).
    expect(Object.keys(graph.obj()).filter((f) => f.startsWith('warehouse/redshift/')).length).toBeGreaterThan(2);
  });
});

/** Folders that answer users' questions: each must go through serving/. */
const FACES = ['http', 'resolvers', 'cli'];

function topFolders(): string[] {
  const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
  // A folder without a README has no stated rule: that itself is a failure.
  for (const f of folders) expect(existsSync(join(SRC, f, 'README.md')), `src/${f}/README.md`).toBe(true);
  return folders;
}

/** The targets named in backticks on the README's "May import:" sentence (`warehouse/port`, `errors`, …). */
function mayImport(folder: string): string[] {
  const text = readFileSync(join(SRC, folder, 'README.md'), 'utf8');
  const start = text.indexOf('May import:');
  expect(start, `src/${folder}/README.md has a "May import:" line`).toBeGreaterThanOrEqual(0);
  const sentence = text.slice(start).split(/\.(\s|$)/)[0];
  return [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/^(\.\.\/)+|^\.\//, '').replace(/\.(js|ts)$/, '').replace(/\/$/, ''));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return f.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import or re-export of a file (type-only ones included), as a path under src/ without extension. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
    out.push(relative(SRC, join(dirname(file), m[1])).replace(/\.(js|ts)$/, ''));
  }
  return out;
}
