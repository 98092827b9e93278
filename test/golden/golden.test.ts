/**
 * Golden tests (after grafast/PostGraphile): each `cases/<name>.graphql` sits beside the SQL it
 * compiles to on each dialect (`<name>.duckdb.sql`, `<name>.postgres.sql`, `<name>.redshift.sql`: run on
 * PostgreSQL 15 by the Redshift adapter's PostgreSQL engine) and the rows it returns on
 * the fixed dataset (`<name>.json`, the same on both dialects). A change to planning or resolving
 * shows up as a reviewable diff. `UPDATE_GOLDEN=1 npx vitest run test/golden` rewrites the files.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAREHOUSE_DIALECTS } from '../support/warehouses.js';
import { gql, startHarness, type Harness } from '../integration/graphql-harness.js';
import { loadGoldenFixture } from './fixture.js';

const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => f.slice(0, -'.graphql'.length))
  .sort();

/**
 * The statement laid out one clause per line, for reviewable diffs. Display only: the file is compared,
 * never run, and a change anywhere in the statement still changes the text.
 */
function layout(sql: string): string {
  return sql
    .replace(/\), ("_\w+" as \()/g, '),\n$1')
    .replace(/\) select /g, ')\nselect ')
    .replace(/ (from|where|group by|order by|limit|left join) /g, '\n  $1 ');
}

/** The SQL file: the statement, then its parameters as a comment, so both are reviewed together. */
function sqlFile(calls: Harness['calls']): string {
  return `${calls.map((c) => `${layout(c.sql)}\n-- params: ${JSON.stringify(c.params)}`).join('\n\n')}\n`;
}

function check(path: string, actual: string): void {
  if (UPDATE || !existsSync(path)) {
    writeFileSync(path, actual);
    if (!UPDATE) throw new Error(`${path} did not exist; it was written, review it and run again`);
    return;
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe.each(WAREHOUSE_DIALECTS)('golden queries on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { seed: loadGoldenFixture });
  });
  afterAll(async () => h?.close());

  it.each(cases)('%s', async (name) => {
    h.serving.clearCaches();
    h.calls.length = 0;
    const res = await gql(h.app, readFileSync(join(CASES_DIR, `${name}.graphql`), 'utf8'));
    expect(res.body.errors).toBeUndefined();
    expect(h.calls.length).toBeGreaterThan(0);
    check(join(CASES_DIR, `${name}.${dialect}.sql`), sqlFile(h.calls));
    check(join(CASES_DIR, `${name}.json`), `${JSON.stringify(res.body.data, null, 2)}\n`);
  });
});
