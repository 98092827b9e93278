/**
 * Ingestion targets (docs/targets.md): `targets/<name>.yml` in the project folder, each the contract of one
 * warehouse table that loads write to. Loading collects every problem of every file, each with its
 * file, path and line, so that a broken project is fixed in one round.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ProblemCollector, type Problem } from '../errors.js';
import { COLUMN_TYPES, type ColumnTypeName, type SqlValue, type TableSpec } from '../warehouse/port.js';
import { convertValue, normaliseField } from './convert-value.js';

/** Values of a target's `on_error`. */
export const ON_ERROR_MODES = ['reject', 'skip'] as const;
/** What a bad row does: `reject` fails the whole file, `skip` loads the good rows and lists the bad. */
export type OnErrorMode = (typeof ON_ERROR_MODES)[number];

/** One column of a target's contract. */
export interface TargetColumn {
  name: string;
  type: ColumnTypeName;
  /** A missing or blank value is an error (key columns are always required). */
  required: boolean;
  /** The input field (CSV header or JSON field) this column reads; defaults to the column name. */
  from: string | undefined;
  /** The value used when the input has none, already converted to the column type. */
  default: SqlValue | undefined;
}

/** A validated ingestion target. */
export interface Target {
  /** The file name without `.yml`: what uploads, `inbox/<target>/` and the CLI refer to. */
  name: string;
  /** `schema.table`; the schema is the team. */
  table: string;
  key: string[];
  columns: TargetColumn[];
  onError: OnErrorMode;
  evolve: boolean;
  /** XLSX uploads: the sheet to read, by name; undefined: the workbook's first sheet. */
  sheet: string | undefined;
  /** The file, relative to the project folder: `targets/social_manual_posts.yml`. */
  file: string;
}

/** Lineage columns every loaded row carries (docs/targets.md). */
export const LINEAGE_COLUMNS = [
  { name: '_run_id', type: 'string' },
  { name: '_loaded_at', type: 'timestamp' },
  { name: '_source_object', type: 'string' },
] as const satisfies ReadonlyArray<{ name: string; type: ColumnTypeName }>;

/** Names that become SQL identifiers: snake_case, starting with a letter, at most 63 characters (PostgreSQL's limit). */
const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const TOP_KEYS = ['table', 'key', 'columns', 'on_error', 'evolve', 'sheet', 'description'] as const;
const COLUMN_KEYS = ['type', 'required', 'from', 'default', 'description'] as const;

/** The table spec a target loads into: its columns plus the lineage columns, keyed on its key. */
export function tableSpecOf(target: Target): TableSpec {
  return {
    table: target.table,
    key: [...target.key],
    columns: [
      ...target.columns.map((c) => ({ name: c.name, type: c.type, required: c.required || target.key.includes(c.name) })),
      ...LINEAGE_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    ],
  };
}

/** The team a target belongs to: the schema of its table (`social.manual_posts` → `social`). */
export function teamOfTarget(target: Pick<Target, 'table'>): string {
  return target.table.split('.')[0];
}

/** Validates one target document; problems go to `problems`, the target is returned only when valid. */
export function parseTarget(name: string, file: string, text: string, problems: ProblemCollector): Target | undefined {
  const before = problems.problems.length;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  const lineOf = (path: (string | number)[]): number | undefined => nodeLine(doc, path, lineAt);
  const add = (path: string, message: string, line?: number) => problems.add({ file, path: path || undefined, line, message });

  for (const err of doc.errors) add('', err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), lineAt(err.pos[0]));
  if (doc.errors.length > 0) return undefined;

  if (!IDENTIFIER.test(name)) add('', `target name "${name}" (the file name) must be a snake_case identifier: lower-case letters, digits and _`);

  const root: unknown = doc.toJS();
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    add('', 'expected a mapping with table, key and columns', 1);
    return undefined;
  }
  const data = root as Record<string, unknown>;
  for (const k of Object.keys(data)) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) add(k, `unknown key "${k}"; expected one of ${TOP_KEYS.join(', ')}`, lineOf([k]));
  }

  const table = data.table;
  if (typeof table !== 'string') add('table', 'expected "schema.table" (the schema is the team), e.g. social.manual_posts', lineOf(['table']));
  else {
    const parts = table.split('.');
    if (parts.length !== 2 || !parts.every((p) => IDENTIFIER.test(p))) {
      add('table', `expected "schema.table" with snake_case names (the schema is the team), got "${table}"`, lineOf(['table']));
    }
  }

  const columns: TargetColumn[] = [];
  const rawColumns = data.columns;
  if (rawColumns === null || typeof rawColumns !== 'object' || Array.isArray(rawColumns) || Object.keys(rawColumns).length === 0) {
    add('columns', 'expected a mapping of column name to { type, required, from, default } with at least one column', lineOf(['columns']));
  } else {
    const seenFields = new Map<string, string>();
    for (const [colName, spec] of Object.entries(rawColumns as Record<string, unknown>)) {
      const path = `columns.${colName}`;
      const line = lineOf(['columns', colName]);
      if (!IDENTIFIER.test(colName)) {
        add(path, `column name "${colName}" must be a snake_case identifier (lower-case letters, digits and _, starting with a letter; at most 63 characters)`, line);
      }
      if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
        add(path, `expected { type: ${COLUMN_TYPES.join('|')}, required, from, default }`, line);
        continue;
      }
      const s = spec as Record<string, unknown>;
      for (const k of Object.keys(s)) {
        if (!(COLUMN_KEYS as readonly string[]).includes(k)) add(`${path}.${k}`, `unknown key "${k}"; expected one of ${COLUMN_KEYS.join(', ')}`, lineOf(['columns', colName, k]));
      }
      const from = s.from;
      if (from !== undefined && (typeof from !== 'string' || from.trim() === '')) {
        add(`${path}.from`, 'expected the name of the input field (CSV header or JSON field) as text', lineOf(['columns', colName, 'from']));
      }
      const field = normaliseField(typeof from === 'string' ? from : colName);
      const clash = seenFields.get(field);
      if (clash !== undefined) {
        add(path, `reads the same input field "${typeof from === 'string' ? from : colName}" as column "${clash}" (fields match case-insensitively)`, line);
      } else seenFields.set(field, colName);
      const type = s.type;
      if (typeof type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(type)) {
        add(`${path}.type`, `unknown type ${type === undefined ? '(missing)' : `"${String(type)}"`}; expected one of ${COLUMN_TYPES.join(', ')}`, lineOf(['columns', colName, 'type']) ?? line);
        continue;
      }
      const required = s.required ?? false;
      if (typeof required !== 'boolean') add(`${path}.required`, `expected true or false, got "${String(required)}"`, lineOf(['columns', colName, 'required']));
      let dflt: SqlValue | undefined;
      if (s.default !== undefined && s.default !== null) {
        const result = convertValue(type as ColumnTypeName, typeof s.default === 'object' ? JSON.stringify(s.default) : s.default);
        if (result.ok) dflt = result.value;
        else add(`${path}.default`, `default: ${result.message}`, lineOf(['columns', colName, 'default']));
      }
      columns.push({ name: colName, type: type as ColumnTypeName, required: required === true, from: typeof from === 'string' ? from : undefined, default: dflt });
    }
  }

  const key = data.key;
  const keyNames: string[] = [];
  if (!Array.isArray(key) || key.length === 0 || !key.every((k) => typeof k === 'string')) {
    add('key', 'expected a non-empty list of column names, the natural key loads upsert on (e.g. [platform, post_id, metric_date])', lineOf(['key']));
  } else {
    key.forEach((k: string, i) => {
      if (keyNames.includes(k)) add(`key[${i}]`, `column "${k}" is listed twice in the key`, lineOf(['key', i]));
      else if (!columns.some((c) => c.name === k) && rawColumns && typeof rawColumns === 'object' && !Object.hasOwn(rawColumns, k)) {
        add(`key[${i}]`, `key column "${k}" is not one of the columns${columns.length ? ` (${columns.map((c) => c.name).join(', ')})` : ''}`, lineOf(['key', i]));
      }
      keyNames.push(k);
    });
  }

  const onError = data.on_error ?? 'reject';
  if (typeof onError !== 'string' || !(ON_ERROR_MODES as readonly string[]).includes(onError)) {
    add('on_error', `expected ${ON_ERROR_MODES.join(' or ')}, got "${String(onError)}"`, lineOf(['on_error']));
  }
  const evolve = data.evolve ?? false;
  if (typeof evolve !== 'boolean') add('evolve', `expected true or false, got "${String(evolve)}"`, lineOf(['evolve']));
  const sheet = data.sheet;
  if (sheet !== undefined && (typeof sheet !== 'string' || sheet.trim() === '')) add('sheet', 'expected the name of the sheet XLSX uploads are read from, as text', lineOf(['sheet']));

  if (problems.problems.length > before) return undefined;
  return {
    name,
    table: table as string,
    key: keyNames,
    columns: columns.map((c) => (keyNames.includes(c.name) ? { ...c, required: true } : c)),
    onError: onError as OnErrorMode,
    evolve: evolve as boolean,
    sheet: typeof sheet === 'string' ? sheet : undefined,
    file,
  };
}

function nodeLine(doc: Document, path: (string | number)[], lineAt: (offset: number | undefined) => number | undefined): number | undefined {
  // The key's own line is what an editor should jump to; fall back to the value's node.
  let node: unknown = doc.contents;
  let keyOffset: number | undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === step);
      if (!pair) return keyOffset === undefined ? undefined : lineAt(keyOffset);
      keyOffset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step];
      keyOffset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
    } else return keyOffset === undefined ? undefined : lineAt(keyOffset);
  }
  return lineAt(keyOffset ?? (node as { range?: [number, number, number] } | undefined)?.range?.[0]);
}

/**
 * Reads every `targets/*.yml` of a project folder. A missing folder is no targets; every problem of
 * every file is returned (none means every file gave a target).
 */
export async function loadTargets(projectDir: string): Promise<{ targets: Map<string, Target>; problems: Problem[] }> {
  const problems = new ProblemCollector();
  const targets = new Map<string, Target>();
  let entries: string[];
  try {
    entries = await readdir(join(projectDir, 'targets'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { targets, problems: [] };
    throw err;
  }
  const tables = new Map<string, string>();
  for (const entry of entries.sort()) {
    const m = /^(.*)\.ya?ml$/.exec(entry);
    if (!m) continue;
    const file = `targets/${entry}`;
    const name = m[1];
    if (targets.has(name)) {
      problems.add({ file, message: `target "${name}" is defined twice (${targets.get(name)?.file} and ${file})` });
      continue;
    }
    const text = await readFile(join(projectDir, 'targets', entry), 'utf8');
    const target = parseTarget(name, file, text, problems);
    if (!target) continue;
    const other = tables.get(target.table);
    if (other !== undefined) {
      problems.add({ file, path: 'table', message: `table ${target.table} is already the table of target "${other}"; two contracts for one table would fight over its columns` });
      continue;
    }
    tables.set(target.table, name);
    targets.set(name, target);
  }
  return { targets, problems: problems.problems };
}
