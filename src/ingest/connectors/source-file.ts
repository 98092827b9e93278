/**
 * Sources (docs/connectors/README.md): `sources/<name>.yml`, each an instance of a connector type. Loading collects every
 * problem of every file with its file, path and line, like targets and models. Credentials are only
 * `${ENV_VAR}` references: a literal value is a load error (and the message never repeats it); the
 * variables are read when a run starts, so a missing one fails that run, not the start-up.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { CronExpressionParser } from 'cron-parser';
import { ProblemCollector, UserError, type Problem } from '../../errors.js';
import { lineOf } from '../../semantic/yaml-locator.js';
import type { Target } from '../targets.js';
import type { ConnectorType, SourceConfig, StreamSpec } from './types.js';

const TOP_KEYS = ['type', 'description', 'schedule', 'start_date', 'lookback_days', 'base_url', 'credentials', 'settings', 'streams'] as const;
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** True when `text` is a real calendar day written `YYYY-MM-DD`. */
export function isDay(text: unknown): text is string {
  return typeof text === 'string' && DAY.test(text) && new Date(`${text}T00:00:00Z`).toISOString().slice(0, 10) === text;
}

/** The streams a source of this type can map: the type's own, or (rest) those its settings declare. */
export function streamsOfType(type: ConnectorType, settings: unknown): Readonly<Record<string, StreamSpec>> {
  return type.streamsOf ? type.streamsOf(settings) : type.streams;
}

/** Validates one source document; problems go to `problems`, the source is returned only when valid. */
export function parseSource(
  name: string,
  file: string,
  text: string,
  types: ReadonlyMap<string, ConnectorType>,
  targets: ReadonlyMap<string, Target>,
  problems: ProblemCollector,
): SourceConfig | undefined {
  const before = problems.problems.length;
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const add = (path: Array<string | number>, message: string) =>
    problems.add({ file, path: path.length ? path.map(String).join('.') : undefined, line: path.length ? lineOf(doc, counter, path, 'key') : undefined, message });
  // The first syntax error only: the ones after it are mostly its echo (every following token "unexpected").
  for (const err of doc.errors.slice(0, 1)) problems.add({ file, line: counter.linePos(err.pos[0]).line, message: `${err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}${/\$\{/.test(text) ? ' (inside { … } write a credential quoted: "${ENV_VAR}")' : ''}` });
  if (doc.errors.length > 0) return undefined;
  if (!NAME.test(name)) add([], `source name "${name}" (the file name) must be a snake_case identifier: lower-case letters, digits and _`);

  const root: unknown = doc.toJS();
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    problems.add({ file, line: 1, message: 'expected a mapping with type, credentials, settings and streams' });
    return undefined;
  }
  const data = root as Record<string, unknown>;
  for (const k of Object.keys(data)) if (!(TOP_KEYS as readonly string[]).includes(k)) add([k], `unknown key "${k}"; expected one of ${TOP_KEYS.join(', ')}`);

  const typeName = data.type;
  const type = typeof typeName === 'string' ? types.get(typeName) : undefined;
  if (!type) add(['type'], `unknown source type ${typeName === undefined ? '(missing)' : `"${String(typeName)}"`}; expected one of ${[...types.keys()].sort().join(', ')}`);

  let schedule: string | undefined;
  if (data.schedule !== undefined && data.schedule !== null) {
    if (typeof data.schedule !== 'string') add(['schedule'], 'expected a cron pattern in UTC, e.g. "0 6 * * *"');
    else {
      const fields = data.schedule.trim().split(/\s+/).length;
      try {
        if (fields < 5 || fields > 6) throw new Error(`a cron pattern has 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}`);
        CronExpressionParser.parse(data.schedule, { tz: 'UTC' });
        schedule = data.schedule;
      } catch (err) {
        add(['schedule'], `invalid cron pattern "${data.schedule}": ${(err as Error).message}`);
      }
    }
  }

  // YAML reads an unquoted 2025-01-01 as text (yaml 1.2 core schema); a Date would come from a custom tag only.
  const startDate = data.start_date instanceof Date ? data.start_date.toISOString().slice(0, 10) : data.start_date;
  if (startDate !== undefined && !isDay(startDate)) add(['start_date'], `expected a day written YYYY-MM-DD, got "${String(startDate)}"`);

  const lookback = data.lookback_days ?? 0;
  if (typeof lookback !== 'number' || !Number.isInteger(lookback) || lookback < 0 || lookback > 3650) add(['lookback_days'], `expected a whole number of days from 0 to 3650, got "${String(lookback)}"`);

  const baseUrl = data.base_url;
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(baseUrl))) add(['base_url'], 'expected an http:// or https:// URL');

  const credentials: Record<string, string> = {};
  const rawCreds = data.credentials ?? {};
  if (rawCreds === null || typeof rawCreds !== 'object' || Array.isArray(rawCreds)) add(['credentials'], 'expected a mapping of credential name to ${ENV_VAR}');
  else {
    for (const [k, v] of Object.entries(rawCreds as Record<string, unknown>)) {
      const m = typeof v === 'string' ? ENV_REF.exec(v.trim()) : null;
      // Never echo the value: it may be the very secret that must not be written anywhere.
      if (!m) add(['credentials', k], 'a credential must be a reference to an environment variable, written ${ENV_VAR}; a literal secret in a project file is not allowed');
      else credentials[k] = m[1];
      if (type && !type.anyCredentials && ![...type.credentials, ...(type.optionalCredentials ?? [])].includes(k)) {
        add(['credentials', k], `type ${type.name} reads no credential "${k}"; expected ${[...type.credentials, ...(type.optionalCredentials ?? [])].join(', ') || 'none'}`);
      }
    }
    if (type) for (const needed of type.credentials) if (!(needed in (rawCreds as object))) add(['credentials'], `type ${type.name} needs the credential "${needed}" (as \${ENV_VAR})`);
  }

  const rawStreams = data.streams;
  const streamNames: string[] = [];
  if (rawStreams === null || typeof rawStreams !== 'object' || Array.isArray(rawStreams) || Object.keys(rawStreams).length === 0) {
    add(['streams'], 'expected a mapping of stream name to target name, with at least one stream');
  } else streamNames.push(...Object.keys(rawStreams));

  let settings: unknown;
  const rawSettings = data.settings ?? {};
  if (rawSettings === null || typeof rawSettings !== 'object' || Array.isArray(rawSettings)) add(['settings'], 'expected a mapping of the type\'s settings');
  else if (type) settings = type.parseSettings(rawSettings as Record<string, unknown>, (path, message) => add(['settings', ...path.split('.')], message), streamNames);

  const streams: Record<string, string> = {};
  if (type && streamNames.length > 0 && problems.problems.length === before) {
    const known = streamsOfType(type, settings);
    for (const s of streamNames) {
      const targetName = (rawStreams as Record<string, unknown>)[s];
      if (!Object.hasOwn(known, s)) add(['streams', s], `type ${type.name} has no stream "${s}"; expected one of ${Object.keys(known).join(', ')}`);
      if (typeof targetName !== 'string' || !targets.has(targetName)) {
        add(['streams', s], `unknown target ${typeof targetName === 'string' ? `"${targetName}"` : '(missing)'}; expected one of ${[...targets.keys()].sort().join(', ') || '(no targets/*.yml)'}`);
      } else streams[s] = targetName;
    }
  }

  if (problems.problems.length > before || !type) return undefined;
  return Object.freeze({
    name,
    type: type.name,
    schedule,
    startDate: startDate as string | undefined,
    lookbackDays: lookback as number,
    baseUrl: baseUrl as string | undefined,
    credentials: Object.freeze(credentials),
    settings,
    streams: Object.freeze(streams),
    file,
  });
}

/** Reads every `sources/*.yml`; a missing folder is no sources. Every problem of every file is returned. */
export async function loadSources(
  projectDir: string,
  types: ReadonlyMap<string, ConnectorType>,
  targets: ReadonlyMap<string, Target>,
): Promise<{ sources: Map<string, SourceConfig>; problems: Problem[] }> {
  const problems = new ProblemCollector();
  const sources = new Map<string, SourceConfig>();
  let entries: string[];
  try {
    entries = await readdir(join(projectDir, 'sources'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sources, problems: [] };
    throw err;
  }
  for (const entry of entries.sort()) {
    const m = /^(.*)\.ya?ml$/.exec(entry);
    if (!m) continue;
    const file = `sources/${entry}`;
    if (sources.has(m[1])) {
      problems.add({ file, message: `source "${m[1]}" is defined twice` });
      continue;
    }
    const source = parseSource(m[1], file, await readFile(join(projectDir, 'sources', entry), 'utf8'), types, targets, problems);
    if (source) sources.set(source.name, source);
  }
  return { sources, problems: problems.problems };
}

/**
 * Reads the source's credentials from the environment. A variable that is unset or empty fails the run
 * with a message naming the variable (never a value).
 */
export function resolveCredentials(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const [k, variable] of Object.entries(source.credentials)) {
    const value = env[variable];
    if (value === undefined || value === '') missing.push(`${k} (\${${variable}})`);
    else out[k] = value;
  }
  if (missing.length > 0) {
    throw new UserError('SOURCE_AUTH', `source "${source.name}": the environment variable${missing.length > 1 ? 's' : ''} of ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set; set ${missing.length > 1 ? 'them' : 'it'} where the workers run`);
  }
  return out;
}
