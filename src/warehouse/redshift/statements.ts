/**
 * Every statement the Redshift adapter sends, as pure text builders, so that each one is reviewed in a
 * golden file (test/golden/redshift/) and parsed by a Redshift grammar in a test. Identifiers come
 * from table specs (validated names); the only literals are the staged files' S3 URL and the IAM role
 * from configuration, quoted with {@link sqlString}.
 */
import { UserError } from '../../errors.js';
import type { TableColumn, TableSpec, UnloadColumn } from '../port.js';
import { STAGE_SEQ_COLUMN as SEQ, quoteIdent as q, quoteTable, splitTable } from '../sql.js';
import { redshiftDialect } from './dialect.js';

/** The session-local staging table a batch is copied into (typed as the target, plus the sequence). */
export const STAGE_TABLE = '__sextant_stage';
/** The staging table deduplicated on the key (MERGE needs a table as its source, not a subquery). */
export const LATEST_TABLE = '__sextant_latest';
const RANK = '__sextant_rank';

/** Which database runs the statements: Amazon Redshift, or PostgreSQL ≥ 15 standing in for it (tests, local runs). */
export type RedshiftEngine = 'redshift' | 'postgres';

/** A SQL string literal: single quotes doubled; backslashes doubled too, since Redshift reads `\` as an escape in literals. */
export function sqlString(value: string, engine: RedshiftEngine = 'redshift'): string {
  const escaped = value.replace(/'/g, "''");
  return `'${engine === 'redshift' ? escaped.replace(/\\/g, '\\\\') : escaped}'`;
}

/**
 * The sort key of a table: its first date or timestamp key column, else its first date or timestamp
 * column (loads and queries filter on time); undefined when it has none.
 */
export function sortKeyOf(spec: TableSpec): string | undefined {
  const isTime = (c: TableColumn): boolean => c.type === 'date' || c.type === 'timestamp';
  const byName = new Map(spec.columns.map((c) => [c.name, c] as const));
  const keyTime = spec.key.find((k) => {
    const c = byName.get(k);
    return c !== undefined && isTime(c);
  });
  return keyTime ?? spec.columns.find(isTime)?.name;
}

/**
 * DDL of a table: `CREATE SCHEMA IF NOT EXISTS`, then `CREATE TABLE IF NOT EXISTS` with NOT NULL for
 * required columns and the primary key (informational in Redshift: the merge deduplicates), no index,
 * `DISTKEY` on the first key column (rows of one key meet on one slice for the merge's join) and
 * `SORTKEY` on the time column. PostgreSQL has neither clause, so its engine leaves them out.
 */
export function createTableStatements(spec: TableSpec, engine: RedshiftEngine): string[] {
  const { schema } = splitTable(spec.table);
  const defs = spec.columns.map((c) => `${q(c.name)} ${redshiftDialect.columnType(c.type)}${c.required ? ' NOT NULL' : ''}`);
  let create = `CREATE TABLE IF NOT EXISTS ${quoteTable(spec.table)} (${defs.join(', ')}, PRIMARY KEY (${spec.key.map(q).join(', ')}))`;
  if (engine === 'redshift') {
    const sortKey = sortKeyOf(spec);
    create += ` DISTKEY (${q(spec.key[0])})${sortKey ? ` SORTKEY (${q(sortKey)})` : ''}`;
  }
  return [...(schema ? [`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`] : []), create];
}

/** Evolution: one nullable column per statement (Redshift adds one column per ALTER TABLE). */
export function addColumnStatement(table: string, column: TableColumn): string {
  return `ALTER TABLE ${quoteTable(table)} ADD COLUMN ${q(column.name)} ${redshiftDialect.columnType(column.type)}`;
}

/** The statements of one merge, in the order they run inside its transaction. */
export interface MergeStatements {
  /** Temp tables left by an earlier failure on this pooled session (Redshift keeps them until the session ends). */
  dropLeftovers: string[];
  createStage: string;
  /** Keeps the last row of each key (highest sequence) in a second temp table. */
  dedupe: string;
  /** Serialises merges into the target, so the counts below are exact and Redshift raises no serializable-isolation error. */
  lock: string;
  /** `staged` rows after dedupe, and how many of them already exist (`updated`); run after the lock. */
  count: string;
  /** One MERGE: existing keys get the batch's columns, the others are inserted. */
  merge: string;
  /** The deduplicated staging table, quoted (what `afterMerge` reads the batch from). */
  latest: string;
  drop: string[];
}

/** The merge of a batch of `columns` into `spec.table` on `spec.key`, from the staging tables. */
export function mergeStatements(spec: TableSpec, columns: readonly TableColumn[]): MergeStatements {
  const target = quoteTable(spec.table);
  const stage = q(STAGE_TABLE);
  const latest = q(LATEST_TABLE);
  const names = columns.map((c) => q(c.name));
  const keys = spec.key.map(q);
  const nonKey = columns.filter((c) => !spec.key.includes(c.name)).map((c) => c.name);
  // With only key columns supplied, a match "updates" the key to itself: MERGE needs a MATCHED clause.
  const sets = (nonKey.length > 0 ? nonKey : spec.key).map((n) => `${q(n)} = ${latest}.${q(n)}`);
  const on = keys.map((k) => `${target}.${k} = ${latest}.${k}`).join(' AND ');
  return {
    dropLeftovers: [`DROP TABLE IF EXISTS ${latest}`, `DROP TABLE IF EXISTS ${stage}`],
    createStage: `CREATE TEMP TABLE ${stage} (${columns.map((c) => `${q(c.name)} ${redshiftDialect.columnType(c.type)}`).join(', ')}, ${q(SEQ)} bigint)`,
    dedupe:
      `CREATE TEMP TABLE ${latest} AS SELECT ${names.join(', ')} FROM ` +
      `(SELECT ${names.join(', ')}, row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY ${q(SEQ)} DESC) AS ${q(RANK)} FROM ${stage}) AS ${q('ranked')} ` +
      `WHERE ${q(RANK)} = 1`,
    lock: `LOCK ${target}`,
    count: `SELECT count(*) AS ${q('staged')}, count(${target}.${keys[0]}) AS ${q('updated')} FROM ${latest} LEFT JOIN ${target} ON ${on}`,
    merge:
      `MERGE INTO ${target} USING ${latest} ON ${on} ` +
      `WHEN MATCHED THEN UPDATE SET ${sets.join(', ')} ` +
      `WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${names.map((n) => `${latest}.${n}`).join(', ')})`,
    latest,
    drop: [`DROP TABLE ${latest}`, `DROP TABLE ${stage}`],
  };
}

/** Where and how a COPY reads the staged files on Amazon Redshift. */
export interface S3CopySource {
  /** `s3://bucket/…/manifest.json`: the manifest listing every staged file as mandatory. */
  manifestUrl: string;
  /** `arn:aws:iam::<account>:role/<name>`, a role attached to the cluster or workgroup that can read the bucket. */
  iamRole: string;
  /** The bucket's region, when it differs from the cluster's. */
  region?: string;
}

/**
 * `COPY … FROM 's3://…manifest.json' MANIFEST` of the staged CSV files. Their format: every string
 * quoted, NULL as an unquoted `\N`, timestamps as `YYYY-MM-DD HH:MI:SS.sss` in UTC. MAXERROR 0: one bad
 * row fails the load (its details are read from the load-error system table).
 */
export function s3CopyStatement(columns: readonly TableColumn[], source: S3CopySource): string {
  const list = [...columns.map((c) => q(c.name)), q(SEQ)].join(', ');
  return [
    `COPY ${q(STAGE_TABLE)} (${list}) FROM ${sqlString(source.manifestUrl)}`,
    `IAM_ROLE ${sqlString(source.iamRole)}`,
    ...(source.region ? [`REGION ${sqlString(source.region)}`] : []),
    `FORMAT AS CSV NULL AS ${sqlString('\\N')} MANIFEST`,
    `DATEFORMAT 'YYYY-MM-DD' TIMEFORMAT 'auto'`,
    `MAXERROR 0 COMPUPDATE OFF STATUPDATE OFF`,
  ].join(' ');
}

/** PostgreSQL's equivalent where it cannot read S3: the same staged bytes, sent through COPY FROM STDIN. */
export function stdinCopyStatement(columns: readonly TableColumn[]): string {
  const list = [...columns.map((c) => q(c.name)), q(SEQ)].join(', ');
  return `COPY ${q(STAGE_TABLE)} (${list}) FROM STDIN WITH (FORMAT csv, NULL ${sqlString('\\N', 'postgres')})`;
}

/** Which system table holds load errors: `sys` (SYS_LOAD_ERROR_DETAIL: Serverless and provisioned) or `stl` (STL_LOAD_ERRORS: provisioned only). */
export type LoadErrorTable = 'sys' | 'stl';

/** Most load errors reported back per failed load. */
export const LOAD_ERROR_LIMIT = 20;

/**
 * The rows that failed the load of the files under a staging prefix (`$1`: `s3://…/<load id>/%`),
 * normalised to file, line, column, code, message. Run after the failed COPY's transaction rolled back:
 * the error rows are logged regardless.
 */
export function loadErrorsStatement(from: LoadErrorTable): string {
  return from === 'sys'
    ? `SELECT trim(file_name) AS ${q('file')}, line_number AS ${q('line')}, trim(column_name) AS ${q('column')}, error_code AS ${q('code')}, trim(error_message) AS ${q('message')} ` +
        `FROM sys_load_error_detail WHERE file_name LIKE $1 ORDER BY line_number LIMIT ${LOAD_ERROR_LIMIT}`
    : `SELECT trim(filename) AS ${q('file')}, line_number AS ${q('line')}, trim(colname) AS ${q('column')}, err_code AS ${q('code')}, trim(err_reason) AS ${q('message')} ` +
        `FROM stl_load_errors WHERE filename LIKE $1 ORDER BY line_number LIMIT ${LOAD_ERROR_LIMIT}`;
}

/** A staged file of a load, as the load-error mapping needs it. */
export interface StagedPart {
  url: string;
  /** 0-based position in the batch of the file's first row. */
  firstRow: number;
  rows: number;
}

/** One row of {@link loadErrorsStatement}. */
export interface LoadErrorRow {
  file: unknown;
  line: unknown;
  column: unknown;
  code: unknown;
  message: unknown;
}

/**
 * The load errors of a failed COPY as the job's located row errors: the file's line becomes the
 * batch's 1-based row (files hold one row per line unless a string spans lines, when the line is a
 * lower bound). ROW_INVALID, nothing written, like every failed merge.
 */
export function loadErrorsToUserError(table: string, rows: readonly LoadErrorRow[], parts: readonly StagedPart[], cause?: unknown): UserError {
  const problems = rows.map((r) => {
    const file = String(r.file ?? '').trim();
    const part = parts.find((p) => p.url === file);
    const line = Number(r.line);
    const column = String(r.column ?? '').trim() || undefined;
    const row = part && Number.isInteger(line) && line > 0 ? part.firstRow + line : undefined;
    return { line: row, column, message: `${String(r.message ?? '').trim()} (Redshift load error ${String(r.code ?? '').trim()}${part ? '' : ` in ${file}`})` };
  });
  const first = problems[0];
  const at = first ? [first.line !== undefined ? `row ${first.line}` : undefined, first.column ? `column ${first.column}` : undefined].filter(Boolean).join(', ') : '';
  return new UserError('ROW_INVALID', `The batch could not be merged into ${table} and nothing was written${at ? ` (${at})` : ''}: ${first?.message ?? 'the COPY failed'}`, {
    cause,
    problems,
  });
}

/**
 * A value as a SQL literal, chosen by its JavaScript type only: text is always a quoted string (quotes
 * and, on Redshift, backslashes doubled), numbers are finite decimals, booleans TRUE/FALSE, null NULL.
 * Anything else (an object, an array, NaN) is refused rather than turned into text. Used where a
 * statement takes no bind parameters (UNLOAD, COPY … TO): values reach the SQL only through here.
 */
export function sqlLiteral(value: unknown, engine: RedshiftEngine = 'redshift'): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return sqlString(value, engine);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value < 0n ? `(${value.toString()})` : value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UserError('BAD_USER_INPUT', `a query value must be a finite number to be written into an UNLOAD, got ${value}`);
    // Parenthesised when negative, so that `x - $1` never becomes a comment (`x --5`).
    return value < 0 || Object.is(value, -0) ? `(${String(value)})` : String(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UserError('BAD_USER_INPUT', 'a query value is an invalid date');
    return sqlString(value.toISOString(), engine);
  }
  throw new UserError('BAD_USER_INPUT', `a query value of type ${typeof value} cannot be written into an UNLOAD statement`);
}

/**
 * The statement with its `$n` placeholders replaced by literals of `params` ({@link sqlLiteral}). Only
 * placeholders in the SQL itself are replaced: text inside string literals, quoted identifiers and
 * comments is copied as it is, so a `$1` in a model's string constant stays text. Every parameter must
 * be used and every placeholder must have a value.
 */
export function inlineParams(sql: string, params: readonly unknown[], engine: RedshiftEngine = 'redshift'): string {
  let out = '';
  const used = new Set<number>();
  let i = 0;
  const copyUntil = (end: number) => {
    out += sql.slice(i, end);
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (engine === 'redshift' && sql[j] === '\\') j++;
        else if (sql[j] === "'") {
          if (sql[j + 1] === "'") j++;
          else break;
        }
      }
      copyUntil(Math.min(sql.length, j + 1));
    } else if (c === '"') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') j++;
          else break;
        }
      }
      copyUntil(Math.min(sql.length, j + 1));
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      copyUntil(nl === -1 ? sql.length : nl);
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      copyUntil(end === -1 ? sql.length : end + 2);
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '') && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const m = /^\$(\d+)/.exec(sql.slice(i));
      const n = Number(m![1]);
      if (n < 1 || n > params.length) throw new UserError('BAD_USER_INPUT', `the statement refers to parameter $${n} but has ${params.length}`);
      used.add(n);
      out += sqlLiteral(params[n - 1], engine);
      i += m![0].length;
    } else {
      out += c;
      i++;
    }
  }
  if (used.size !== params.length) throw new UserError('BAD_USER_INPUT', `the statement uses ${used.size} of its ${params.length} parameters`);
  return out;
}

/** Characters that make a spreadsheet run a cell (exports' formula neutralisation): = + - @ tab CR. */
const FORMULA_TRIGGERS = `'=', '+', '-', '@', chr(9), chr(13)`;

/**
 * The SELECT an UNLOAD writes: the query as a subquery, each column written as the streamed CSV writes it
 * — text that a spreadsheet would run prefixed with `'`, booleans `true`/`false`, timestamps ISO in UTC to the second, as serving shows a time dimension —
 * under its header, and the query's order given again outside (a subquery's ORDER BY orders nothing).
 */
export function unloadSelect(sql: string, columns: readonly UnloadColumn[], order: ReadonlyArray<{ key: string; direction: 'ASC' | 'DESC' }>): string {
  const u = q('_unloaded');
  const items = columns.map((c) => {
    const ref = `${u}.${q(c.name)}`;
    const value =
      c.kind === 'text'
        ? `CASE WHEN substring(${ref}, 1, 1) IN (${FORMULA_TRIGGERS}) THEN '''' || ${ref} ELSE ${ref} END`
        : c.kind === 'boolean'
          ? `CASE WHEN ${ref} THEN 'true' WHEN NOT ${ref} THEN 'false' END`
          : c.kind === 'timestamp'
            ? `to_char(${ref}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
            : ref;
    return `${value} AS ${q(c.header)}`;
  });
  const orderBy = order.length > 0 ? ` ORDER BY ${order.map((o) => `${u}.${q(o.key)} ${o.direction} NULLS LAST`).join(', ')}` : '';
  return `SELECT ${items.join(', ')} FROM (${sql}) AS ${u}${orderBy}`;
}

/** Where an UNLOAD writes, and with what. */
export interface UnloadTarget {
  /** `s3://bucket/prefix/exports/…/<name>_`: the files are `<prefix>000.csv`, …, and `<prefix>manifest`. */
  prefixUrl: string;
  iamRole: string;
  region?: string;
}

/**
 * `UNLOAD ('<select>') TO 's3://…' …` as one CSV file with a header (PARALLEL OFF: one file, in the
 * query's order, a new one only past 6.2 GB), a manifest listing the files with their row counts
 * (MANIFEST VERBOSE), replacing the files of an earlier attempt of the same job (ALLOWOVERWRITE).
 * UNLOAD takes no bind parameters: `select` must already hold its values as literals ({@link inlineParams}),
 * and is itself quoted as a literal here.
 */
export function unloadStatement(select: string, target: UnloadTarget): string {
  return [
    `UNLOAD (${sqlString(select)})`,
    `TO ${sqlString(target.prefixUrl)}`,
    `IAM_ROLE ${sqlString(target.iamRole)}`,
    ...(target.region ? [`REGION ${sqlString(target.region)}`] : []),
    `FORMAT AS CSV HEADER PARALLEL OFF MAXFILESIZE 6200 MB MANIFEST VERBOSE ALLOWOVERWRITE EXTENSION 'csv'`,
  ].join(' ');
}

/** PostgreSQL's stand-in for UNLOAD (which it lacks): the same SELECT as CSV with a header, to the client. */
export function copyOutStatement(select: string): string {
  return `COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER)`;
}
