/**
 * One model file → one {@link Model}, with every problem the file has on its own (syntax, keys, names,
 * types, references between its own members). Checks that need other models (joins) live in load.ts,
 * and checks that need the warehouse in check-columns.ts.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Problem } from '../errors.js';
import {
  DIMENSION_TYPES,
  FORMATS,
  MEASURE_TYPES,
  type Dimension,
  type DimensionType,
  type Format,
  type Join,
  type Measure,
  type MeasureType,
  type Model,
  type Rollup,
  TIME_GRAINS,
  type TimeGrain,
} from './types.js';
import { camelCase, isValidName, NAME_PATTERN } from './names.js';
import { formatPath, lineOf, type YamlPath } from './yaml-locator.js';
import { aggregateCall, embeddingProblem, isSelect } from './sql-tokens.js';
import { analyseDerived } from './derived-expr.js';

const MODEL_KEYS = ['name', 'description', 'table', 'sql', 'grain', 'dimensions', 'measures', 'joins', 'rollups'] as const;
const ROLLUP_KEYS = ['measures', 'dimensions', 'time_dimension', 'grain', 'description'] as const;
const DIMENSION_KEYS = ['type', 'sql', 'description'] as const;
const MEASURE_KEYS = ['type', 'sql', 'numerator', 'denominator', 'time_dimension', 'format', 'description'] as const;
const JOIN_KEYS = ['model', 'relationship', 'on', 'description'] as const;
const RELATIONSHIPS = ['many_to_one'] as const;

/** Measure types whose `sql` defaults to a column named like the measure. */
const COLUMN_DEFAULT_TYPES: ReadonlySet<MeasureType> = new Set(['count_distinct', 'sum', 'avg', 'min', 'max', 'last']);

const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const MODEL_REF_PATTERN = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Problems of one file, located by path and line. */
class FileReport {
  readonly problems: Problem[] = [];
  constructor(
    readonly file: string,
    private readonly locate: (path: YamlPath, at: 'key' | 'value') => number | undefined,
  ) {}

  add(path: YamlPath, message: string, at: 'key' | 'value' = 'value'): void {
    const problem: Problem = { file: this.file, message };
    if (path.length > 0) problem.path = formatPath(path);
    const line = this.locate(path, at);
    if (line !== undefined) problem.line = line;
    this.problems.push(problem);
  }
}

/** What parsing one model file produced. */
export interface ParsedModelFile {
  /** The model, built from whatever was valid; absent when the file is not a model at all. */
  model: Model | undefined;
  problems: Problem[];
  /** Line of a path in the file, for problems found later (joins checked against other models). */
  lineAt(path: YamlPath, at?: 'key' | 'value'): number | undefined;
}

/**
 * Parses and validates one model file. Never throws for bad content: every problem is returned.
 * @param text the file's content
 * @param file project-relative path, e.g. `models/social/post_performance.yml`
 * @param team the folder name the file lives in
 * @param defaultName the file's base name, used when the model has no `name`
 */
export function parseModelFile(text: string, file: string, team: string, defaultName: string): ParsedModelFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  const lineAt = (path: YamlPath, at: 'key' | 'value' = 'value'): number | undefined => lineOf(doc, counter, path, at);
  const report = new FileReport(file, lineAt);

  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      const problem: Problem = { file, message: `YAML syntax error: ${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}` };
      if (pos) {
        problem.line = pos.line;
        problem.column = pos.col;
      }
      report.problems.push(problem);
    }
    return { model: undefined, problems: report.problems, lineAt };
  }

  const raw: unknown = doc.toJS();
  if (!isRecord(raw)) {
    report.add([], 'a model file must be a YAML mapping with at least `name`, `table` or `sql`, `grain` and `measures`');
    return { model: undefined, problems: report.problems, lineAt };
  }
  const model = buildModel(raw, report, team, defaultName);
  return { model, problems: report.problems, lineAt };
}

function checkKeys(obj: Raw, allowed: readonly string[], path: YamlPath, report: FileReport): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) report.add([...path, key], `unknown key "${key}"; expected one of: ${allowed.join(', ')}`, 'key');
  }
}

function optionalString(obj: Raw, key: string, path: YamlPath, report: FileReport): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    report.add([...path, key], `must be a string, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return Object.keys(v).length === 0 ? 'an empty mapping' : 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * What a `sql:` is: a model's query, a per-row expression (dimensions and the inputs of aggregating
 * measures, which the planner aggregates itself) or a derived expression over measures.
 */
type SqlRole = 'query' | 'dimension' | 'row' | 'derived';

function checkSqlText(sql: string, path: YamlPath, report: FileReport, role: SqlRole): boolean {
  if (sql.trim() === '') {
    report.add(path, 'must not be empty');
    return false;
  }
  const problem = embeddingProblem(sql);
  if (problem) {
    report.add(path, problem);
    return false;
  }
  if (role === 'query' && !isSelect(sql)) {
    report.add(path, 'must be a query starting with SELECT or WITH');
    return false;
  }
  const agg = role === 'query' ? undefined : aggregateCall(sql);
  if (agg !== undefined) {
    report.add(
      path,
      role === 'dimension'
        ? `a dimension is a per-row expression that results are grouped by; ${agg}(…) belongs in a measure`
        : role === 'row'
          ? `must be a per-row expression; the measure type does the aggregation, so ${agg}(…) does not belong here`
          : `refers to measures by name; ${agg}(…) would aggregate an aggregate — define a measure of that type instead`,
    );
    return false;
  }
  return true;
}

function buildModel(raw: Raw, report: FileReport, team: string, defaultName: string): Model {
  checkKeys(raw, MODEL_KEYS, [], report);

  let name = optionalString(raw, 'name', [], report);
  if (name === undefined) {
    if (raw.name === undefined) name = defaultName;
  }
  if (name !== undefined && !isValidName(name)) {
    report.add(raw.name === undefined ? [] : ['name'], nameMessage('model name', name));
  }

  const description = optionalString(raw, 'description', [], report);
  const table = optionalString(raw, 'table', [], report);
  const sql = optionalString(raw, 'sql', [], report);
  if (raw.table === undefined && raw.sql === undefined) {
    report.add([], 'a model needs exactly one of `table` (schema.table) or `sql` (a select); it has neither');
  } else if (raw.table !== undefined && raw.sql !== undefined) {
    report.add(['sql'], 'a model needs exactly one of `table` or `sql`; it has both');
  }
  if (table !== undefined && !TABLE_PATTERN.test(table)) {
    report.add(['table'], `"${table}" is not a table name; expected schema.table made of letters, digits and _`);
  }
  if (sql !== undefined) checkSqlText(sql, ['sql'], report, 'query');

  const grain = parseGrain(raw, report);
  const section = (key: 'dimensions' | 'measures' | 'joins'): Array<[string, unknown]> => {
    const v = raw[key];
    if (v === undefined || v === null) return [];
    if (!isRecord(v)) {
      report.add([key], `must be a mapping of name → definition, got ${describe(v)}`);
      return [];
    }
    return Object.entries(v);
  };
  const dimEntries = section('dimensions');
  const measureEntries = section('measures');
  const joinEntries = section('joins');
  if (raw.measures === undefined && raw.dimensions === undefined) {
    report.add([], 'a model needs at least one dimension or measure');
  }

  // Every name lives in one namespace: they are all fields of the same GraphQL row type.
  const seen = new Map<string, string>();
  const fields = new Map<string, string>();
  for (const [section, entries] of [['dimensions', dimEntries], ['measures', measureEntries], ['joins', joinEntries]] as const) {
    for (const [n] of entries) {
      if (!isValidName(n)) report.add([section, n], nameMessage(section.slice(0, -1) + ' name', n), 'key');
      const first = seen.get(n);
      if (first !== undefined) {
        report.add([section, n], `duplicate name "${n}": already used in ${first}`, 'key');
        continue;
      }
      seen.set(n, section);
      // Distinct snake_case names can still meet in camelCase (a_b1, a_b_1 → aB1): one GraphQL field.
      const field = camelCase(n);
      const other = fields.get(field);
      if (other !== undefined) report.add([section, n], `"${n}" and "${other}" both become the GraphQL field "${field}"; rename one`, 'key');
      else fields.set(field, n);
    }
  }

  const dimensions = dimEntries.flatMap(([n, def]) => parseDimension(n, def, report));
  const measureNames = new Set(measureEntries.map(([n]) => n));
  const measures = measureEntries.flatMap(([n, def]) => parseMeasure(n, def, report, measureNames));
  const joins = joinEntries.flatMap(([n, def]) => parseJoin(n, def, report));

  checkMeasureReferences(measures, measureNames, dimensions, dimEntries, report);
  const rollups = parseRollups(raw, report, measures, measureNames, dimensions, joins, joinEntries.map(([n]) => n));

  const model: Model = {
    id: `${team}.${name ?? defaultName}`,
    team,
    name: name ?? defaultName,
    grain,
    dimensions,
    measures,
    joins,
    file: report.file,
  };
  if (rollups.length > 0) model.rollups = rollups;
  if (description !== undefined) model.description = description;
  if (table !== undefined) model.table = table;
  if (sql !== undefined) model.sql = sql;
  return model;
}

function nameMessage(what: string, name: string): string {
  if (typeof name === 'string' && NAME_PATTERN.test(name)) {
    return `${what} "${name}" must not contain "__" (reserved for grains and joined dimensions in result keys)`;
  }
  return `${what} "${name}" is not a valid name; expected snake_case matching ${NAME_PATTERN.source} (it becomes a SQL alias and a GraphQL field)`;
}

function parseGrain(raw: Raw, report: FileReport): string[] {
  const g = raw.grain;
  if (g === undefined || g === null) {
    report.add([], 'missing `grain`: list the columns that identify one row, e.g. grain: [platform, post_id, metric_date]');
    return [];
  }
  if (!Array.isArray(g)) {
    report.add(['grain'], `must be a list of column or dimension names, got ${describe(g)}`);
    return [];
  }
  if (g.length === 0) {
    report.add(['grain'], 'must list at least one column or dimension (what one row is)');
    return [];
  }
  const out: string[] = [];
  g.forEach((entry, i) => {
    if (typeof entry !== 'string' || !NAME_PATTERN.test(entry)) {
      report.add(['grain', i], `grain entries must be snake_case column or dimension names, got ${describe(entry)}`);
    } else if (out.includes(entry)) {
      report.add(['grain', i], `"${entry}" is listed twice`);
    } else out.push(entry);
  });
  return out;
}

function parseDimension(name: string, def: unknown, report: FileReport): Dimension[] {
  const path = ['dimensions', name];
  if (!isRecord(def)) {
    report.add(path, `must be a mapping such as { type: string }, got ${describe(def)}`);
    return [];
  }
  checkKeys(def, DIMENSION_KEYS, path, report);
  const type = def.type;
  let okType: DimensionType | undefined;
  if (type === undefined) report.add(path, `missing \`type\`; expected one of: ${DIMENSION_TYPES.join(', ')}`);
  else if (typeof type !== 'string' || !(DIMENSION_TYPES as readonly string[]).includes(type)) {
    report.add([...path, 'type'], `unknown dimension type ${JSON.stringify(type)}; expected one of: ${DIMENSION_TYPES.join(', ')}`);
  } else okType = type as DimensionType;
  const sql = optionalString(def, 'sql', path, report);
  if (sql !== undefined) checkSqlText(sql, [...path, 'sql'], report, 'dimension');
  const description = optionalString(def, 'description', path, report);
  if (!okType || !isValidName(name)) return [];
  const dim: Dimension = { name, type: okType, sql: sql ?? name };
  if (description !== undefined) dim.description = description;
  return [dim];
}

function parseMeasure(name: string, def: unknown, report: FileReport, measureNames: ReadonlySet<string>): Measure[] {
  const path = ['measures', name];
  if (!isRecord(def)) {
    report.add(path, `must be a mapping such as { type: sum }, got ${describe(def)}`);
    return [];
  }
  checkKeys(def, MEASURE_KEYS, path, report);
  const type = def.type;
  let okType: MeasureType | undefined;
  if (type === undefined) report.add(path, `missing \`type\`; expected one of: ${MEASURE_TYPES.join(', ')}`);
  else if (typeof type !== 'string' || !(MEASURE_TYPES as readonly string[]).includes(type)) {
    report.add([...path, 'type'], `unknown measure type ${JSON.stringify(type)}; expected one of: ${MEASURE_TYPES.join(', ')}`);
  } else okType = type as MeasureType;

  const sql = optionalString(def, 'sql', path, report);
  const numerator = optionalString(def, 'numerator', path, report);
  const denominator = optionalString(def, 'denominator', path, report);
  const timeDimension = optionalString(def, 'time_dimension', path, report);
  const description = optionalString(def, 'description', path, report);
  let format: Format | undefined;
  if (def.format !== undefined) {
    if (typeof def.format !== 'string' || !(FORMATS as readonly string[]).includes(def.format)) {
      report.add([...path, 'format'], `unknown format ${JSON.stringify(def.format)}; expected one of: ${FORMATS.join(', ')}`);
    } else format = def.format as Format;
  }

  let ok = okType !== undefined && isValidName(name);
  if (sql !== undefined && okType !== 'ratio' && !checkSqlText(sql, [...path, 'sql'], report, okType === 'derived' ? 'derived' : 'row')) ok = false;
  if (okType === 'ratio') {
    if (sql !== undefined) report.add([...path, 'sql'], 'a ratio takes `numerator` and `denominator` (measure names), not `sql`');
    for (const [key, ref] of [['numerator', numerator], ['denominator', denominator]] as const) {
      if (def[key] === undefined) {
        report.add(path, `a ratio needs \`${key}\`: the name of a measure of this model`);
        ok = false;
      } else if (ref !== undefined) {
        if (ref === name) {
          report.add([...path, key], `a ratio cannot use itself as its ${key}`);
          ok = false;
        } else if (!measureNames.has(ref)) {
          report.add([...path, key], `unknown measure "${ref}"; measures of this model: ${[...measureNames].join(', ')}`);
          ok = false;
        }
      }
    }
  } else {
    for (const key of ['numerator', 'denominator'] as const) {
      if (def[key] !== undefined && okType) report.add([...path, key], `\`${key}\` is only for measures of type ratio, this one is ${okType}`);
    }
  }
  if (okType === 'derived' && def.sql === undefined) {
    report.add(path, 'a derived measure needs `sql`: an expression over other measures, e.g. "spend / nullif(conversions, 0)"');
    ok = false;
  }
  if (def.time_dimension !== undefined && okType && okType !== 'last') {
    report.add([...path, 'time_dimension'], `\`time_dimension\` is only for measures of type last, this one is ${okType}`);
  }
  if (!ok || !okType) return [];

  const m: Measure = { name, type: okType };
  if (sql !== undefined) m.sql = sql;
  else if (COLUMN_DEFAULT_TYPES.has(okType)) m.sql = name;
  if (okType === 'ratio') {
    m.numerator = numerator;
    m.denominator = denominator;
  }
  if (okType === 'last' && timeDimension !== undefined) m.timeDimension = timeDimension;
  if (format !== undefined) m.format = format;
  if (description !== undefined) m.description = description;
  return [m];
}

function parseJoin(name: string, def: unknown, report: FileReport): Join[] {
  const path = ['joins', name];
  if (!isRecord(def)) {
    report.add(path, `must be a mapping such as { model: team.model, relationship: many_to_one, on: { col: col } }, got ${describe(def)}`);
    return [];
  }
  checkKeys(def, JOIN_KEYS, path, report);
  let ok = isValidName(name);
  const model = optionalString(def, 'model', path, report);
  if (def.model === undefined) {
    report.add(path, 'a join needs `model`: the joined model as team.model');
    ok = false;
  } else if (model !== undefined && !MODEL_REF_PATTERN.test(model)) {
    report.add([...path, 'model'], `"${model}" is not a model reference; expected team.model, e.g. social.accounts`);
    ok = false;
  } else if (model === undefined) ok = false;
  const rel = def.relationship;
  if (rel === undefined) {
    report.add(path, 'a join needs `relationship: many_to_one`');
    ok = false;
  } else if (typeof rel !== 'string' || !(RELATIONSHIPS as readonly string[]).includes(rel)) {
    report.add(
      [...path, 'relationship'],
      `unsupported relationship ${JSON.stringify(rel)}; expected many_to_one (a join to many rows would multiply this model's measures)`,
    );
    ok = false;
  }
  const on: Record<string, string> = {};
  if (def.on === undefined) {
    report.add(path, "a join needs `on`: this model's columns → the joined model's grain columns, e.g. { account_id: account_id }");
    ok = false;
  } else if (!isRecord(def.on) || Object.keys(def.on).length === 0) {
    report.add([...path, 'on'], `must be a non-empty mapping of this model's columns → the joined model's grain columns, got ${describe(def.on)}`);
    ok = false;
  } else {
    for (const [local, remote] of Object.entries(def.on)) {
      if (!NAME_PATTERN.test(local)) {
        report.add([...path, 'on', local], `"${local}" is not a column name of this model; expected snake_case`, 'key');
        ok = false;
      }
      if (typeof remote !== 'string' || !NAME_PATTERN.test(remote)) {
        report.add([...path, 'on', local], `must name a grain column of the joined model, got ${describe(remote)}`);
        ok = false;
      } else on[local] = remote;
    }
  }
  if (!ok || model === undefined) return [];
  return [{ name, model, relationship: 'many_to_one', on }];
}

/** Derived expressions, ratio cycles and the time dimension of `last` measures. */
function checkMeasureReferences(
  measures: readonly Measure[],
  declared: ReadonlySet<string>,
  dimensions: readonly Dimension[],
  dimEntries: ReadonlyArray<[string, unknown]>,
  report: FileReport,
): void {
  const byName = new Map(measures.map((m) => [m.name, m]));
  const deps = new Map<string, string[]>();
  for (const m of measures) {
    if (m.type === 'ratio') deps.set(m.name, [m.numerator ?? '', m.denominator ?? '']);
    if (m.type === 'derived' && m.sql !== undefined) {
      const refs = analyseDerived(m.sql);
      const path = ['measures', m.name, 'sql'];
      for (const bad of refs.invalid) report.add(path, bad);
      for (const ref of refs.measures) {
        if (ref === m.name) report.add(path, `a derived measure cannot refer to itself ("${ref}")`);
        else if (!declared.has(ref)) report.add(path, `unknown measure "${ref}"; a derived expression may refer only to measures of this model: ${[...declared].join(', ')}`);
      }
      deps.set(m.name, refs.measures.filter((r) => r !== m.name));
    }
  }

  // Cycles through ratios and derived measures (a → b → a) would never finish expanding.
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, stack: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        report.add(['measures', name], `measures refer to each other in a cycle: ${cycle.join(' → ')}`);
      }
      return;
    }
    state.set(name, 'visiting');
    for (const d of deps.get(name) ?? []) if (byName.has(d)) visit(d, [...stack, name]);
    state.set(name, 'done');
  };
  for (const m of measures) visit(m.name, []);

  const timeDims = dimensions.filter((d) => d.type === 'time').map((d) => d.name);
  const declaredDims = new Set(dimEntries.map(([n]) => n));
  for (const m of measures) {
    if (m.type !== 'last') continue;
    if (m.timeDimension !== undefined) {
      if (!timeDims.includes(m.timeDimension)) {
        const why = declaredDims.has(m.timeDimension) ? 'is not a time dimension' : 'is not a dimension of this model';
        report.add(['measures', m.name, 'time_dimension'], `"${m.timeDimension}" ${why}; time dimensions: ${timeDims.join(', ') || '(none)'}`);
      }
    } else if (timeDims.length === 0) {
      report.add(['measures', m.name], 'a last measure needs a time dimension to find the latest rows: add `time_dimension`, or a dimension of type time to the model');
    }
  }
}

/**
 * `rollups:` — name → { measures, dimensions, time_dimension, grain }. Checks what one file can tell:
 * members exist, the time dimension is a time dimension of the model, each measure can be re-aggregated
 * from what the rollup stores. Joined dimensions (`accounts.region`) are checked in load.ts.
 */
function parseRollups(
  raw: Raw,
  report: FileReport,
  measures: readonly Measure[],
  measureNames: ReadonlySet<string>,
  dimensions: readonly Dimension[],
  joins: readonly Join[],
  joinNames: readonly string[],
): Rollup[] {
  const v = raw.rollups;
  if (v === undefined || v === null) return [];
  if (!isRecord(v)) {
    report.add(['rollups'], `must be a mapping of name → { measures, dimensions, time_dimension, grain }, got ${describe(v)}`);
    return [];
  }
  const byName = new Map(measures.map((m) => [m.name, m]));
  const dimByName = new Map(dimensions.map((d) => [d.name, d]));
  const timeDims = dimensions.filter((d) => d.type === 'time').map((d) => d.name);
  const out: Rollup[] = [];
  for (const [name, def] of Object.entries(v)) {
    const path: YamlPath = ['rollups', name];
    let ok = true;
    if (!isValidName(name)) {
      report.add(path, nameMessage('rollup name', name), 'key');
      ok = false;
    }
    if (!isRecord(def)) {
      report.add(path, `must be a mapping such as { measures: [impressions], dimensions: [platform], time_dimension: metric_date, grain: month }, got ${describe(def)}`);
      continue;
    }
    checkKeys(def, ROLLUP_KEYS, path, report);
    optionalString(def, 'description', path, report);

    let timeDimension: string | undefined;
    if (def.time_dimension === undefined) {
      report.add(path, `a rollup needs \`time_dimension\`: a time dimension of this model (${timeDims.join(', ') || 'it has none'})`);
      ok = false;
    } else {
      timeDimension = optionalString(def, 'time_dimension', path, report);
      if (timeDimension !== undefined && !timeDims.includes(timeDimension)) {
        const why = dimByName.has(timeDimension) ? 'is not a time dimension' : 'is not a dimension of this model';
        report.add([...path, 'time_dimension'], `"${timeDimension}" ${why}; time dimensions: ${timeDims.join(', ') || '(none)'}`);
        timeDimension = undefined;
        ok = false;
      } else if (timeDimension === undefined) ok = false;
    }

    let grain: TimeGrain | undefined;
    if (def.grain === undefined) {
      report.add(path, `a rollup needs \`grain\`: one of ${TIME_GRAINS.join(', ')}`);
      ok = false;
    } else if (typeof def.grain !== 'string' || !(TIME_GRAINS as readonly string[]).includes(def.grain)) {
      report.add([...path, 'grain'], `unknown grain ${JSON.stringify(def.grain)}; expected one of: ${TIME_GRAINS.join(', ')}`);
      ok = false;
    } else grain = def.grain as TimeGrain;

    /** The names listed, each with its index in the file's list (for the problem's path). */
    const list = (key: 'measures' | 'dimensions', required: boolean): Array<[string, number]> => {
      const items = def[key];
      if (items === undefined || items === null) {
        if (required) {
          report.add(path, `a rollup needs \`${key}\`: a list of this model's ${key}`);
          ok = false;
        }
        return [];
      }
      if (!Array.isArray(items)) {
        report.add([...path, key], `must be a list of names, got ${describe(items)}`);
        ok = false;
        return [];
      }
      if (required && items.length === 0) {
        report.add([...path, key], `must list at least one of this model's ${key}`);
        ok = false;
        return [];
      }
      const names: Array<[string, number]> = [];
      items.forEach((item, i) => {
        if (typeof item !== 'string') {
          report.add([...path, key, i], `must be a name, got ${describe(item)}`);
          ok = false;
        } else if (names.some(([n]) => n === item)) {
          report.add([...path, key, i], `"${item}" is listed twice`);
          ok = false;
        } else names.push([item, i]);
      });
      return names;
    };

    const measureList = list('measures', true);
    const rollupMeasures = measureList.map(([m]) => m);
    measureList.forEach(([m, i]) => {
      if (!measureNames.has(m)) {
        const hint = dimByName.has(m) ? ` ("${m}" is a dimension)` : '';
        report.add(['rollups', name, 'measures', i], `unknown measure "${m}"${hint}; measures of this model: ${[...measureNames].join(', ') || '(none)'}`);
        ok = false;
        return;
      }
      const why = timeDimension === undefined ? undefined : notRollable(m, byName, timeDimension, dimensions);
      if (why !== undefined) {
        report.add(['rollups', name, 'measures', i], `measure "${m}" cannot be rolled up: ${why}`);
        ok = false;
      }
    });

    const dimList = list('dimensions', false);
    const rollupDims = dimList.map(([d]) => d);
    dimList.forEach(([d, i]) => {
      const at: YamlPath = ['rollups', name, 'dimensions', i];
      if (d.includes('.')) {
        const [joinName] = d.split('.', 1);
        if (!joinNames.includes(joinName)) {
          report.add(at, `"${d}" names no join of this model; joins: ${joinNames.join(', ') || '(none)'}`);
          ok = false;
        } else if (!joins.some((j) => j.name === joinName)) ok = false; // the join itself is reported
        return;
      }
      if (!dimByName.has(d)) {
        const hint = measureNames.has(d) ? ` ("${d}" is a measure)` : '';
        report.add(at, `unknown dimension "${d}"${hint}; dimensions of this model: ${[...dimByName.keys()].join(', ') || '(none)'}`);
        ok = false;
      } else if (d === timeDimension) {
        report.add(at, `"${d}" is the rollup's time dimension, kept at grain ${grain ?? '(its grain)'}; list it only as \`time_dimension\``);
        ok = false;
      }
    });

    if (ok && timeDimension !== undefined && grain !== undefined) {
      out.push({ name, measures: rollupMeasures, dimensions: rollupDims, timeDimension, grain });
    }
  }
  return out;
}

/**
 * Why a measure cannot be re-aggregated exactly from a rollup kept by `timeDimension`, or undefined when
 * it can: sums, counts, min and max re-aggregate; avg from a sum and a count; a ratio and a derived
 * measure from their parts; count_distinct is stored at the rollup's own groups (served only there);
 * `last` needs the latest time point of each group, which a rollup keeps only for its own time dimension.
 */
function notRollable(name: string, byName: ReadonlyMap<string, Measure>, timeDimension: string, dimensions: readonly Dimension[], seen = new Set<string>()): string | undefined {
  const m = byName.get(name);
  if (!m || seen.has(name)) return undefined; // unknown parts and cycles are reported with the measures
  seen.add(name);
  if (m.type === 'last') {
    const own = m.timeDimension ?? dimensions.find((d) => d.type === 'time')?.name;
    if (own !== timeDimension) {
      return `a last measure is the value at the latest point of "${own ?? '(no time dimension)'}", and this rollup keeps time points of "${timeDimension}" only`;
    }
    return undefined;
  }
  const parts = m.type === 'ratio' ? [m.numerator ?? '', m.denominator ?? ''] : m.type === 'derived' ? analyseDerived(m.sql ?? '').measures : [];
  for (const part of parts) {
    const why = notRollable(part, byName, timeDimension, dimensions, seen);
    if (why !== undefined) return `its part "${part}" cannot: ${why}`;
  }
  return undefined;
}
