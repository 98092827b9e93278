/**
 * Reports (docs/reports.md): `reports/<name>.yml` in the project folder, each a scheduled export — a question
 * to the semantic layer, a file format, a cron schedule, whom to notify and, optionally, a warehouse
 * table in the `analysis` schema that the result replaces at each run. Loading collects every problem
 * of every file, each with its file, path and line, like models and targets.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { isUserError, ProblemCollector, type Problem } from '../errors.js';
import { assertValidSchedule } from '../jobs/next-run-at.js';
import { FILTER_OPERATORS, TIME_GRAINS, type FilterNode, type FilterOperator, type OrderBy, type ResultColumn, type SemanticProject, type SemanticQuery, type TimeGrain } from '../semantic/types.js';
import { formatPath, lineOf, type YamlPath } from '../semantic/yaml-locator.js';
import { MAX_REPLACED_TABLE_NAME } from '../warehouse/port.js';
import { EXPORT_FILE_FORMATS, type ExportFileFormat } from './export-options.js';

/** Where reports may notify. */
export const REPORT_NOTIFY = ['slack'] as const;
export type ReportNotify = (typeof REPORT_NOTIFY)[number];

/** The schema write-back tables live in: kept apart from the teams' loaded tables. */
export const WRITE_BACK_SCHEMA = 'analysis';

/** A validated report. */
export interface Report {
  /** The file name without `.yml`. */
  name: string;
  /** `reports/<name>.yml`, relative to the project folder. */
  file: string;
  description: string | undefined;
  /** Cron pattern in UTC; null: runs only when asked (`runReport`). */
  schedule: string | null;
  /**
   * The question, checked against the models. `limit` 0 means every row (a report is not capped by the
   * API's row limit); relative date ranges are resolved when it runs.
   */
  query: SemanticQuery;
  format: ExportFileFormat;
  notify: ReportNotify | null;
  /** `analysis.<table>` the result replaces at each run, or null. */
  writeBack: string | null;
  /** The team of the report's model: who may see and run it. */
  team: string;
  /** The result's columns as planned when the project loaded (the write-back table's columns). */
  columns: ResultColumn[];
}

const TOP_KEYS = ['description', 'schedule', 'query', 'format', 'notify', 'write_back'] as const;
const QUERY_KEYS = ['model', 'measures', 'dimensions', 'filters', 'orderBy', 'order_by', 'limit'] as const;
const NAME = /^[a-z][a-z0-9_]{0,62}$/;

type Add = (path: YamlPath, message: string) => void;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function grainOf(value: unknown, path: YamlPath, add: Add): TimeGrain | undefined {
  if (value === undefined || value === null) return undefined;
  const g = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof g !== 'string' || !(TIME_GRAINS as readonly string[]).includes(g)) {
    add(path, `unknown grain ${JSON.stringify(value)}; expected one of ${TIME_GRAINS.join(', ')}`);
    return undefined;
  }
  return g as TimeGrain;
}

function filtersOf(value: unknown, path: YamlPath, add: Add): FilterNode[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    add(path, 'expected a list of { member, operator, values }');
    return [];
  }
  const out: FilterNode[] = [];
  value.forEach((f, i) => {
    const at = [...path, i];
    if (!isRecord(f) || typeof f.member !== 'string') {
      add(at, 'expected { member, operator, values }, e.g. { member: metric_date, operator: IN_DATE_RANGE, values: ["last 12 weeks"] }');
      return;
    }
    const op = typeof f.operator === 'string' ? f.operator.toUpperCase() : f.operator;
    if (typeof op !== 'string' || !(FILTER_OPERATORS as readonly string[]).includes(op)) {
      add([...at, 'operator'], `unknown operator ${JSON.stringify(f.operator)}; expected one of ${FILTER_OPERATORS.join(', ')}`);
      return;
    }
    const values = f.values === undefined || f.values === null ? [] : Array.isArray(f.values) ? f.values : [f.values];
    // YAML reads an unquoted 2026-01-01 as a date; the query wants its ISO text.
    const plain = values.map((v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : v));
    if (!plain.every((v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      add([...at, 'values'], 'expected a list of strings, numbers or booleans');
      return;
    }
    out.push({ member: f.member, operator: op as FilterOperator, values: plain as Array<string | number | boolean> });
  });
  return out;
}

function queryOf(value: unknown, addProblem: Add): SemanticQuery | undefined {
  let failed = false;
  const add: Add = (path, message) => {
    failed = true;
    addProblem(path, message);
  };
  if (!isRecord(value)) {
    add(['query'], 'expected a query: { model, measures, dimensions, filters, orderBy, limit }');
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (!(QUERY_KEYS as readonly string[]).includes(k)) add(['query', k], `unknown key "${k}"; expected one of model, measures, dimensions, filters, orderBy, limit`);
  }
  if (typeof value.model !== 'string') add(['query', 'model'], 'expected the model as "team.model", e.g. social.post_performance');
  const measures = value.measures ?? [];
  if (!Array.isArray(measures) || !measures.every((m) => typeof m === 'string')) add(['query', 'measures'], 'expected a list of measure names');
  const dimensions: SemanticQuery['dimensions'] = [];
  const rawDims = value.dimensions ?? [];
  if (!Array.isArray(rawDims)) add(['query', 'dimensions'], 'expected a list of { name, grain }');
  else {
    rawDims.forEach((d: unknown, i: number) => {
      if (typeof d === 'string') dimensions.push({ name: d });
      else if (isRecord(d) && typeof d.name === 'string') {
        const grain = grainOf(d.grain, ['query', 'dimensions', i, 'grain'], add);
        dimensions.push({ name: d.name, ...(grain ? { grain } : {}) });
      } else add(['query', 'dimensions', i], 'expected a dimension name or { name, grain }');
    });
  }
  const filters = filtersOf(value.filters, ['query', 'filters'], add);
  const orderBy: OrderBy[] = [];
  const orderKey = value.orderBy !== undefined ? 'orderBy' : 'order_by';
  const rawOrder = value[orderKey] ?? [];
  if (!Array.isArray(rawOrder)) add(['query', orderKey], 'expected a list of { member, direction }');
  else {
    rawOrder.forEach((o: unknown, i: number) => {
      const direction = isRecord(o) && typeof o.direction === 'string' ? o.direction.toUpperCase() : isRecord(o) && o.direction === undefined ? 'ASC' : undefined;
      if (!isRecord(o) || typeof o.member !== 'string' || (direction !== 'ASC' && direction !== 'DESC')) {
        add(['query', orderKey, i], 'expected { member, direction: ASC|DESC }');
        return;
      }
      const grain = grainOf(o.grain, ['query', orderKey, i, 'grain'], add);
      orderBy.push({ member: o.member, direction, ...(grain ? { grain } : {}) });
    });
  }
  const limit = value.limit ?? 0;
  if (!Number.isInteger(limit) || (limit as number) < 0) add(['query', 'limit'], `expected a whole number of rows (0 or omitted: every row), got ${JSON.stringify(value.limit)}`);
  if (failed) return undefined;
  return { model: value.model as string, measures: measures as string[], dimensions, filters, orderBy, limit: limit as number, offset: 0 };
}

/**
 * Checks a report's question against the models and answers its columns, or throws the UserError the
 * question would meet at run time (the project loader plans it: semantic/check-query.ts).
 */
export type QueryCheck = (query: SemanticQuery) => ResultColumn[];

/**
 * Validates one report document against the semantic project; problems go to `problems`, the report
 * is returned only when valid. `check` plans the query once, so that every member, operator and value
 * is checked now rather than at 7 am on Monday.
 */
export function parseReport(name: string, file: string, text: string, semantic: SemanticProject, check: QueryCheck, problems: ProblemCollector): Report | undefined {
  const before = problems.problems.length;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const add: Add = (path, message) => {
    problems.add({ file, ...(path.length ? { path: formatPath(path) } : {}), line: lineOf(doc, lineCounter, path), message });
  };
  for (const err of doc.errors) problems.add({ file, line: lineCounter.linePos(err.pos[0]).line, message: err.message.split('\n')[0] });
  if (doc.errors.length > 0) return undefined;
  if (!NAME.test(name)) add([], `report name "${name}" (the file name) must be a snake_case identifier: lower-case letters, digits and _`);

  const root: unknown = doc.toJS();
  if (!isRecord(root)) {
    add([], 'expected a mapping with query, format and schedule');
    return undefined;
  }
  for (const k of Object.keys(root)) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) add([k], `unknown key "${k}"; expected one of ${TOP_KEYS.join(', ')}`);
  }
  const description = root.description;
  if (description !== undefined && typeof description !== 'string') add(['description'], 'expected text');

  let schedule: string | null = null;
  if (root.schedule !== undefined && root.schedule !== null) {
    if (typeof root.schedule !== 'string') add(['schedule'], 'expected a cron pattern in UTC, e.g. "0 7 * * MON"');
    else {
      try {
        assertValidSchedule({ id: `report ${name}`, cron: root.schedule });
        schedule = root.schedule;
      } catch (err) {
        add(['schedule'], isUserError(err) ? err.message.replace(/^schedule "[^"]*": /, '') : String(err));
      }
    }
  }

  const format = root.format ?? 'xlsx';
  if (typeof format !== 'string' || !(EXPORT_FILE_FORMATS as readonly string[]).includes(format.toLowerCase())) {
    add(['format'], `expected ${EXPORT_FILE_FORMATS.join(' or ')}, got ${JSON.stringify(root.format)}`);
  }
  const notify = root.notify ?? null;
  if (notify !== null && !(REPORT_NOTIFY as readonly unknown[]).includes(notify)) add(['notify'], `expected ${REPORT_NOTIFY.join(' or ')} (or leave it out), got ${JSON.stringify(notify)}`);

  let writeBack: string | null = null;
  if (root.write_back !== undefined && root.write_back !== null) {
    const wb = root.write_back;
    const parts = typeof wb === 'string' ? wb.split('.') : [];
    if (parts.length !== 2 || parts[0] !== WRITE_BACK_SCHEMA || !NAME.test(parts[1]) || parts[1].length > MAX_REPLACED_TABLE_NAME || parts[1].includes('__')) {
      add(['write_back'], `expected "${WRITE_BACK_SCHEMA}.<table>" with a snake_case table name of at most ${MAX_REPLACED_TABLE_NAME} characters and no "__", got ${JSON.stringify(wb)}`);
    } else writeBack = wb as string;
  }

  const query = queryOf(root.query, add);
  let columns: ResultColumn[] = [];
  let team = '';
  if (query) {
    const model = semantic.models.get(query.model);
    if (!model) add(['query', 'model'], `unknown model "${query.model}"; models: ${[...semantic.models.keys()].join(', ') || '(none)'}`);
    else {
      team = model.team;
      try {
        // Checked with a limit so that "every row" (0) passes like any limit.
        columns = check({ ...query, limit: Math.max(query.limit, 1) });
      } catch (err) {
        if (!isUserError(err)) throw err;
        add(['query'], err.message);
      }
    }
  }
  if (problems.problems.length > before || !query) return undefined;
  return {
    name,
    file,
    description: description as string | undefined,
    schedule,
    query,
    format: (format as string).toLowerCase() as ExportFileFormat,
    notify: notify as ReportNotify | null,
    writeBack,
    team,
    columns,
  };
}

/**
 * Reads every `reports/*.yml` of a project folder. A missing folder is no reports. Besides each file's
 * problems: two reports may not write back to one table, and a write-back table may not be a target's.
 */
export async function loadReports(
  projectDir: string,
  semantic: SemanticProject,
  check: QueryCheck,
  targetTables: ReadonlySet<string> = new Set(),
): Promise<{ reports: Map<string, Report>; problems: Problem[] }> {
  const problems = new ProblemCollector();
  const reports = new Map<string, Report>();
  let entries: string[];
  try {
    entries = await readdir(join(projectDir, 'reports'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { reports, problems: [] };
    throw err;
  }
  const writers = new Map<string, string>();
  for (const entry of entries.sort()) {
    const m = /^(.*)\.ya?ml$/.exec(entry);
    if (!m) continue;
    const file = `reports/${entry}`;
    if (reports.has(m[1])) {
      problems.add({ file, message: `report "${m[1]}" is defined twice (${reports.get(m[1])?.file} and ${file})` });
      continue;
    }
    const report = parseReport(m[1], file, await readFile(join(projectDir, 'reports', entry), 'utf8'), semantic, check, problems);
    if (!report) continue;
    if (report.writeBack) {
      const other = writers.get(report.writeBack);
      if (other !== undefined) {
        problems.add({ file, path: 'write_back', message: `${report.writeBack} is already written back by report "${other}"; each report needs its own table` });
        continue;
      }
      if (targetTables.has(report.writeBack)) {
        problems.add({ file, path: 'write_back', message: `${report.writeBack} is an ingestion target's table; a report may only write back to a table of its own` });
        continue;
      }
      writers.set(report.writeBack, report.name);
    }
    reports.set(report.name, report);
  }
  return { reports, problems: problems.problems };
}

/**
 * A model defined on a write-back table must belong to the report's team: otherwise a key of the
 * model's team would read another team's numbers through it (docs/http.md).
 */
export function reportModelProblems(semantic: SemanticProject, reports: ReadonlyMap<string, Report>): Problem[] {
  const writer = new Map<string, Report>();
  for (const r of reports.values()) if (r.writeBack) writer.set(r.writeBack, r);
  const problems: Problem[] = [];
  for (const model of semantic.models.values()) {
    const report = model.table === undefined ? undefined : writer.get(model.table);
    if (report && report.team !== model.team) {
      problems.push({
        file: model.file,
        path: 'table',
        message: `${model.table} is written back by report "${report.name}" of team "${report.team}"; only a model of that team may read it`,
      });
    }
  }
  return problems;
}
