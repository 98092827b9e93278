/**
 * Every statement the Redshift adapter sends, (1) as golden text reviewed in diffs
 * (test/golden/redshift/statements.sql; `UPDATE_GOLDEN=1` rewrites it) and (2) parsed by a Redshift
 * grammar: sqlfluff's `redshift` dialect (Debian's `sqlfluff` package, installed when missing). The
 * golden metric queries planned for Redshift (test/golden/cases/*.redshift.sql) are parsed too. A
 * control file of PostgreSQL-only statements must fail the same parse, so the check can fail.
 *
 * This proves the text is Redshift syntax, not that Amazon Redshift runs it: nothing here talks to
 * Redshift (its load logic runs for real on PostgreSQL 15 in warehouse-conformance.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_WIRE_SQL } from '../../src/warehouse/pg-wire/pg-wire-warehouse.js';
import { statementName } from '../../src/warehouse/pg-wire/prepared.js';
import type { TableSpec } from '../../src/warehouse/port.js';
import { mergeColumns } from '../../src/warehouse/sql.js';
import { redshiftDialect } from '../../src/warehouse/redshift/dialect.js';
import { manifestOf, stagedField } from '../../src/warehouse/redshift/staging.js';
import {
  addColumnStatement,
  createTableStatements,
  loadErrorsStatement,
  loadErrorsToUserError,
  mergeStatements,
  copyOutStatement,
  inlineParams,
  s3CopyStatement,
  sortKeyOf,
  sqlLiteral,
  stdinCopyStatement,
  unloadSelect,
  unloadStatement,
} from '../../src/warehouse/redshift/statements.js';
import { aptInstall, which } from '../support/services.js';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { projectRollups } from '../../src/semantic/rollup-plan.js';
import { createRollupTable, refreshAll, refreshBuckets, touchedBuckets } from '../../src/rollups/refresh.js';
import type { Row, SqlRunner } from '../../src/warehouse/port.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(HERE, '..', 'golden', 'redshift', 'statements.sql');
const CASES = join(HERE, '..', 'golden', 'cases');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const POSTS: TableSpec = {
  table: 'social.post_daily',
  key: ['platform', 'post_id', 'metric_date'],
  columns: [
    { name: 'platform', type: 'string', required: true },
    { name: 'post_id', type: 'string', required: true },
    { name: 'metric_date', type: 'date', required: true },
    { name: 'impressions', type: 'integer' },
    { name: 'reach', type: 'bigint' },
    { name: 'spend', type: 'decimal' },
    { name: 'rate', type: 'double' },
    { name: 'is_paid', type: 'boolean' },
    { name: 'meta', type: 'json' },
    { name: '_loaded_at', type: 'timestamp' },
  ],
};
const KEY_ONLY: TableSpec = { table: 'ops.seen', key: ['id'], columns: [{ name: 'id', type: 'bigint', required: true }] };
const MANIFEST = 's3://sextant-prod/raw-bucket/_staging/social.post_daily/20260101T000000000Z-0a1b2c3d4e5f/manifest.json';
const ROLE = 'arn:aws:iam::123456789012:role/sextant-copy';

const UNLOAD_PREFIX = 's3://sextant-prod/raw-bucket/exports/social/0a1b2c3d-0000-4000-8000-000000000000/post_performance_';

/** The SELECT of an export's UNLOAD: a planned query with a text filter value that tries to break out. */
function unloaded(engine: 'redshift' | 'postgres'): string {
  const planned =
    `select "_d0" as "account_id", "_d1" as "is_paid", "_d2" as "posted_at__hour", "_m0" as "impressions" from (select "account_id" as "_d0", "is_paid" as "_d1", ` +
    `date_trunc('hour', ("posted_at")::timestamp) as "_d2", (sum("impressions"))::float8 as "_m0" from "social"."post_daily" ` +
    `where "account_id" in (${redshiftDialect.param(1, 'string')}, ${redshiftDialect.param(2, 'string')}) and "impressions" > ${redshiftDialect.param(3, 'number')} group by 1, 2, 3) "_agg" order by "_m0" DESC nulls last`;
  return unloadSelect(
    inlineParams(planned, ["o'brien\\'); DROP TABLE x; --", '=HYPERLINK("x")', -5], engine),
    [
      { name: 'account_id', header: 'account_id', kind: 'text' },
      { name: 'is_paid', header: 'is_paid', kind: 'boolean' },
      { name: 'posted_at__hour', header: 'posted_at (hour)', kind: 'timestamp' },
      { name: 'impressions', header: 'impressions', kind: 'plain' },
    ],
    [{ key: 'impressions', direction: 'DESC' }],
  );
}

/**
 * The statements that build and refresh a rollup (src/rollups/refresh.ts) for the Redshift dialect, recorded
 * from a runner that answers nothing: the fixture's daily rollup (every measure type, a joined dimension).
 */
async function rollupStatements(): Promise<Array<[string, string]>> {
  const { project } = await loadSemanticProject(join(HERE, '..', 'fixtures', 'rollups'));
  const layout = projectRollups(project as NonNullable<typeof project>).find((l) => l.id === 'social.posts.daily');
  if (!layout) throw new Error('the fixture has no daily rollup');
  const seen: string[] = [];
  const tx: SqlRunner = {
    query: async (sql: string): Promise<Row[]> => {
      seen.push(sql);
      return [];
    },
    execute: async (sql: string): Promise<void> => {
      seen.push(sql);
    },
  };
  const d = redshiftDialect;
  await createRollupTable(tx, layout, d);
  await touchedBuckets(tx, layout, d, '"stage_latest"', 'metric_date');
  await refreshBuckets(tx, layout, d, { ranges: [{ from: new Date('2026-02-10T00:00:00Z'), to: new Date('2026-02-12T00:00:00Z') }], nullBucket: true });
  await refreshAll(tx, layout, d);
  const names = ['rollup: drop', 'rollup: create as', 'rollup: buckets a batch touched', 'rollup: delete buckets', 'rollup: insert buckets', 'rollup: delete all', 'rollup: insert all'];
  return seen.map((sql, i) => [names[i] ?? `rollup ${i}`, sql]);
}
const ROLLUP_STATEMENTS = await rollupStatements();

/**
 * Every statement the adapter can send, named; `redshift: false` marks what the sqlfluff parse below
 * skips: the PostgreSQL engine's stand-in for COPY from S3, and `DEALLOCATE name`, which Redshift
 * documents (https://docs.aws.amazon.com/redshift/latest/dg/r_DEALLOCATE.html) but sqlfluff's redshift
 * grammar has no rule for (nor for PREPARE), so it is reviewed as golden text only.
 */
function statements(): Array<{ name: string; sql: string; redshift: boolean }> {
  const cols = mergeColumns(POSTS, POSTS.columns.map((c) => c.name));
  const m = mergeStatements(POSTS, cols);
  const k = mergeStatements(KEY_ONLY, mergeColumns(KEY_ONLY, ['id']));
  const planned = `select date_trunc('week', ("metric_date")::timestamp)::date as "_d0", (sum("impressions"))::float8 as "_m0" from "social"."post_daily" where strpos("post_id", ${redshiftDialect.param(1, 'string')}) = 1 group by 1`;
  const list: Array<[string, string, boolean?]> = [
    ['session: time zone', PG_WIRE_SQL.setUtc],
    ['session: statement timeout', PG_WIRE_SQL.setTimeout(30_000, false)],
    ['transaction: statement timeout', PG_WIRE_SQL.setTimeout(0, true)],
    ['session: backend pid', PG_WIRE_SQL.backendPid],
    ['cancel from another connection', PG_WIRE_SQL.cancel],
    ['ping', PG_WIRE_SQL.ping],
    ['prepared statements: deallocate the least recently used (not in sqlfluff\'s grammar)', PG_WIRE_SQL.deallocate(statementName(planned)), false],
    ['begin', PG_WIRE_SQL.begin],
    ['commit', PG_WIRE_SQL.commit],
    ['rollback', PG_WIRE_SQL.rollback],
    ['stream: declare cursor', PG_WIRE_SQL.declareCursor(planned)],
    ['stream: fetch', PG_WIRE_SQL.fetch(5000)],
    ['describeTable', PG_WIRE_SQL.describe],
    ...createTableStatements(POSTS, 'redshift').map((sql, i) => [`ensureTable ${i + 1}`, sql] as [string, string]),
    ['ensureTable: key-only table', createTableStatements(KEY_ONLY, 'redshift').at(-1) ?? ''],
    ['evolve: add column', addColumnStatement(POSTS.table, { name: 'shares', type: 'bigint' })],
    ...m.dropLeftovers.map((sql, i) => [`merge: drop leftovers ${i + 1}`, sql] as [string, string]),
    ['merge: create stage', m.createStage],
    ['merge: COPY from S3 manifest', s3CopyStatement(cols, { manifestUrl: MANIFEST, iamRole: ROLE, region: 'eu-west-1' })],
    ['merge: COPY (PostgreSQL engine stand-in, not Redshift)', stdinCopyStatement(cols), false],
    ['merge: dedupe', m.dedupe],
    ['merge: lock', m.lock],
    ['merge: count', m.count],
    ['merge: MERGE', m.merge],
    ['merge: MERGE, key columns only', k.merge],
    ...m.drop.map((sql, i) => [`merge: drop ${i + 1}`, sql] as [string, string]),
    ['export: UNLOAD to S3 (values as literals, formula-like text inert, the order given again)', unloadStatement(unloaded('redshift'), { prefixUrl: UNLOAD_PREFIX, iamRole: ROLE, region: 'eu-west-1' })],
    ['export: COPY … TO STDOUT (PostgreSQL engine stand-in for UNLOAD, not Redshift)', copyOutStatement(unloaded('postgres')), false],
    ['load errors: SYS_LOAD_ERROR_DETAIL', loadErrorsStatement('sys')],
    ['load errors: STL_LOAD_ERRORS', loadErrorsStatement('stl')],
    ...ROLLUP_STATEMENTS,
  ];
  return list.map(([name, sql, redshift]) => ({ name, sql, redshift: redshift !== false }));
}

function goldenText(): string {
  return `${statements()
    .map((s) => `-- ${s.name}\n${s.sql};`)
    .join('\n\n')}\n`;
}

/** sqlfluff's parse of every file in `sub` (one folder: this sqlfluff takes one path): per file, its statements and the unparsable ones. */
function badStatements(dir: string, sub: string): Map<string, { total: number; bad: string[] }> {
  const out = execFileSync('sqlfluff', ['parse', '--format', 'json', sub], { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const parsed = JSON.parse(out) as Array<{ filepath: string; segments: { file: unknown } | null }>;
  const result = new Map<string, { total: number; bad: string[] }>();
  for (const f of parsed) {
    const items = f.segments ? (Array.isArray(f.segments.file) ? f.segments.file : [f.segments.file]) : [];
    const stmts = (items as Array<Record<string, unknown>>).filter((s) => 'statement' in s || 'unparsable' in s);
    const bad = stmts.map((s) => JSON.stringify(s)).filter((s) => s.includes('"unparsable"') || s.includes('"unlexable"'));
    result.set(f.filepath.split('/').pop() ?? f.filepath, { total: stmts.length, bad: bad.map((b) => b.slice(0, 300)) });
  }
  return result;
}

/** The statements of a golden `.sql` file of metric queries (each followed by its `-- params:` line). */
function goldenQueries(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/\n-- params: .*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

describe('Redshift statements', () => {
  it('match the golden file', () => {
    const text = goldenText();
    if (UPDATE || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, text);
      if (!UPDATE) throw new Error(`${GOLDEN} did not exist; it was written, review it and run again`);
      return;
    }
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('stage values the way the COPY options read them', () => {
    expect(stagedField(null, 'string')).toBe('\\N');
    expect(stagedField('\\N', 'string')).toBe('"\\N"');
    expect(stagedField('', 'string')).toBe('""');
    expect(stagedField('a"b', 'string')).toBe('"a""b"');
    expect(stagedField('2026-03-01T23:59:58.123Z', 'timestamp')).toBe('"2026-03-01 23:59:58.123"');
    expect(stagedField(1.5, 'double')).toBe('1.5');
    expect(stagedField(false, 'boolean')).toBe('false');
    expect(JSON.parse(manifestOf([{ url: 's3://b/p/_staging/t/1/part-00000.csv', firstRow: 0, rows: 3 }]))).toEqual({
      entries: [{ url: 's3://b/p/_staging/t/1/part-00000.csv', mandatory: true }],
    });
    expect(sortKeyOf(POSTS)).toBe('metric_date');
    expect(sortKeyOf(KEY_ONLY)).toBeUndefined();
  });

  it('write client values into UNLOAD only as literals that read back unchanged through both levels of quoting', () => {
    /** Reads the Redshift string literal starting at `at` (a quote): backslash escapes the next character, '' is a quote. */
    const readLiteral = (text: string, at: number): { value: string; end: number } => {
      expect(text[at]).toBe("'");
      let value = '';
      for (let i = at + 1; i < text.length; i++) {
        if (text[i] === '\\') value += text[++i];
        else if (text[i] === "'") {
          if (text[i + 1] !== "'") return { value, end: i + 1 };
          value += "'";
          i++;
        } else value += text[i];
      }
      throw new Error(`unterminated literal in ${text}`);
    };
    const attempts = ["'", "\\'", "'); DROP TABLE social.post_daily; --", "\\\\'')--", "a''b", '$1', '\n\r\t', 'Zürich', "'' OR ''1''=''1"];
    for (const value of attempts) {
      const select = inlineParams('SELECT $1::varchar(65535) AS "v", 1 AS "n"', [value]);
      const statement = unloadStatement(select, { prefixUrl: UNLOAD_PREFIX, iamRole: ROLE });
      expect(statement.startsWith("UNLOAD ('")).toBe(true);
      const outer = readLiteral(statement, 'UNLOAD ('.length);
      // The query literal ends where the statement's own text resumes: nothing leaked out of it.
      expect(statement.slice(outer.end)).toBe(`) TO '${UNLOAD_PREFIX}' IAM_ROLE '${ROLE}' FORMAT AS CSV HEADER PARALLEL OFF MAXFILESIZE 6200 MB MANIFEST VERBOSE ALLOWOVERWRITE EXTENSION 'csv'`);
      expect(outer.value).toBe(select);
      const inner = readLiteral(outer.value, 'SELECT '.length);
      expect(inner.value, JSON.stringify(value)).toBe(value);
      expect(outer.value.slice(inner.end)).toBe('::varchar(65535) AS "v", 1 AS "n"');
    }
    expect(sqlLiteral(-5)).toBe('(-5)');
    expect(inlineParams('SELECT 1 - $1', [-5])).toBe('SELECT 1 - (-5)');
    expect(sqlLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(sqlLiteral(true)).toBe('TRUE');
    expect(sqlLiteral(null)).toBe('NULL');
    // Only typed values: anything that is not a string, number, bigint, boolean, date or null is refused.
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { toString: () => "1'; DROP TABLE x" }, ['a'], Symbol('s')]) {
      expect(() => sqlLiteral(bad), String(typeof bad)).toThrow(/cannot be written|finite number/);
    }
    // Placeholders inside literals, quoted names and comments are text; the numbers must match the values.
    expect(inlineParams(`SELECT '$1', "$1", $1 -- $1\n/* $1 */`, ['v'])).toBe(`SELECT '$1', "$1", 'v' -- $1\n/* $1 */`);
    expect(() => inlineParams('SELECT $2', ['a'])).toThrow(/parameter \$2/);
    expect(() => inlineParams('SELECT $1', ['a', 'b'])).toThrow(/uses 1 of its 2/);
  });

  it('turn load-error rows into located row errors', () => {
    const parts = [
      { url: 's3://b/p/_staging/t/1/part-00000.csv', firstRow: 0, rows: 500_000 },
      { url: 's3://b/p/_staging/t/1/part-00001.csv', firstRow: 500_000, rows: 10 },
    ];
    const err = loadErrorsToUserError(
      'social.post_daily',
      [{ file: 's3://b/p/_staging/t/1/part-00001.csv   ', line: 3, column: 'impressions   ', code: 1207, message: 'Invalid digit, Value \'a\', Pos 0, Type: Integer ' }],
      parts,
    );
    expect(err.code).toBe('ROW_INVALID');
    expect(err.problems).toEqual([{ line: 500_003, column: 'impressions', message: "Invalid digit, Value 'a', Pos 0, Type: Integer (Redshift load error 1207)" }]);
    expect(err.message).toContain('row 500003, column impressions');
  });

  describe('parsed by sqlfluff (dialect redshift)', () => {
    let dir: string;
    beforeAll(() => {
      if (!which('sqlfluff')) aptInstall('sqlfluff');
      dir = mkdtempSync(join(tmpdir(), 'sextant-redshift-sql-'));
      mkdirSync(join(dir, 'ok'));
      mkdirSync(join(dir, 'pg-only'));
      // `$n` placeholders become literals for the parse (sqlfluff's placeholder templater, dollar style).
      const params = Array.from({ length: 60 }, (_, i) => `${i + 1} = 1`).join('\n');
      writeFileSync(join(dir, '.sqlfluff'), `[sqlfluff]\ndialect = redshift\ntemplater = placeholder\n\n[sqlfluff:templater:placeholder]\nparam_style = dollar\n${params}\n`);
    }, 600_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('every adapter statement and every golden metric query parses', () => {
      const adapter = statements().filter((s) => s.redshift);
      // UNLOAD's EXTENSION option (AWS documents it; it names the file `…000.csv`) is missing from the
      // grammar of Debian 12's sqlfluff: that one clause is left out of the parse, nothing else.
      const parseable = (sql: string) => (sql.startsWith('UNLOAD (') ? sql.replace(/ EXTENSION 'csv'$/, '') : sql);
      expect(adapter.filter((s) => s.sql.startsWith('UNLOAD (') && s.sql.endsWith(" EXTENSION 'csv'"))).toHaveLength(1);
      writeFileSync(join(dir, 'ok', 'adapter.sql'), `${adapter.map((s) => `${parseable(s.sql)};`).join('\n')}\n`);
      const queryFiles = readdirSync(CASES).filter((f) => f.endsWith('.redshift.sql'));
      expect(queryFiles.length).toBeGreaterThan(5);
      const expected = new Map<string, number>([['adapter.sql', adapter.length]]);
      for (const f of queryFiles) {
        const qs = goldenQueries(join(CASES, f));
        writeFileSync(join(dir, 'ok', f), `${qs.map((q) => `${q};`).join('\n')}\n`);
        expected.set(f, qs.length);
      }
      const result = badStatements(dir, 'ok');
      for (const [file, total] of expected) {
        expect(result.get(file), file).toEqual({ total, bad: [] });
      }
      // sqlfluff is slow (about 40 s for these files on an idle 2-core machine, minutes when it is busy).
    }, 900_000);

    it('rejects the PostgreSQL-only statements the Redshift adapter replaced (the check can fail)', () => {
      const pgOnly = [
        `INSERT INTO "s"."t" ("a") SELECT "a" FROM "x" ON CONFLICT ("a") DO UPDATE SET "a" = excluded."a"`,
        stdinCopyStatement(mergeColumns(KEY_ONLY, ['id'])),
        `CREATE TEMP TABLE "x" ("a" integer) ON COMMIT DROP`,
      ];
      writeFileSync(join(dir, 'pg-only', 'pg-only.sql'), `${pgOnly.map((s) => `${s};`).join('\n')}\n`);
      const result = badStatements(dir, 'pg-only').get('pg-only.sql');
      expect(result?.total).toBe(3);
      expect(result?.bad).toHaveLength(3);
    }, 300_000);
  });
});
