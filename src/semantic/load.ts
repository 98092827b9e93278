/**
 * Loads a project's semantic models from `models/<team>/<model>.yml` and validates them as a whole.
 * Nothing here throws for a bad model: every problem is collected so that start-up can list them all.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ProblemCollector, type Problem } from '../errors.js';
import type { Model, SemanticProject } from './types.js';
import { parseModelFile } from './model-file.js';
import { isValidName, modelTypeStem } from './names.js';
import { formatPath, type YamlPath } from './yaml-locator.js';

type LineAt = (path: YamlPath, at?: 'key' | 'value') => number | undefined;

/** What loading a project produced: the project only when there was no problem at all. */
export interface LoadedSemanticProject {
  project: SemanticProject | undefined;
  problems: Problem[];
}

const MODEL_FILE = /\.ya?ml$/;

/**
 * Reads every `models/<team>/<model>.yml` under `projectDir` (team = folder name) and validates each
 * model and the joins between them. Returns every problem with its file, path and line; the project is
 * returned only when there is none. A project without a `models/` folder has no models and no problem.
 */
export async function loadSemanticProject(projectDir: string): Promise<LoadedSemanticProject> {
  const problems = new ProblemCollector();
  const modelsDir = path.join(projectDir, 'models');
  if (!(await isDirectory(projectDir))) {
    problems.add({ file: projectDir, message: 'the project folder does not exist or is not a folder' });
    return { project: undefined, problems: problems.problems };
  }
  if (!(await isDirectory(modelsDir))) return { project: { models: new Map(), teams: [] }, problems: [] };

  const models: Model[] = [];
  const lines = new Map<Model, LineAt>();
  const teams: string[] = [];
  for (const entry of (await readdir(modelsDir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = `models/${entry.name}`;
    if (entry.isFile()) {
      if (MODEL_FILE.test(entry.name)) problems.add({ file: rel, message: 'a model file must live in a team folder: models/<team>/<model>.yml' });
      continue;
    }
    if (!entry.isDirectory()) continue;
    const team = entry.name;
    if (!isValidName(team)) {
      problems.add({ file: rel, message: `team folder "${team}" is not a valid name; expected snake_case (it becomes a GraphQL field)` });
      continue;
    }
    const files = (await readdir(path.join(modelsDir, team))).filter((f) => MODEL_FILE.test(f)).sort();
    if (files.length > 0) teams.push(team);
    for (const f of files) {
      const file = `${rel}/${f}`;
      const text = await readFile(path.join(modelsDir, team, f), 'utf8');
      const parsed = parseModelFile(text, file, team, f.replace(MODEL_FILE, ''));
      for (const p of parsed.problems) problems.add(p);
      if (parsed.model) {
        models.push(parsed.model);
        lines.set(parsed.model, parsed.lineAt);
      }
    }
  }

  const byId = new Map<string, Model>();
  // GraphQL type names join team and model in PascalCase (social + post_performance → SocialPostPerformance…),
  // so distinct ids can still meet there (social_a.b and social.a_b); each must be unique.
  const typeNames = new Map<string, Model>();
  for (const m of models) {
    const first = byId.get(m.id);
    if (first) {
      problems.add(located(m, lines, ['name'], `model ${m.id} is already defined in ${first.file}`));
      continue;
    }
    byId.set(m.id, m);
    const typeName = modelTypeStem(m.team, m.name);
    const clash = typeNames.get(typeName);
    if (clash) problems.add(located(m, lines, ['name'], `models ${m.id} and ${clash.id} (${clash.file}) both become the GraphQL type ${typeName}…; rename one`));
    else typeNames.set(typeName, m);
  }
  for (const m of byId.values()) checkJoins(m, byId, problems, lines);
  for (const m of byId.values()) checkRollupJoins(m, byId, problems, lines);

  if (!problems.empty) return { project: undefined, problems: problems.problems };
  return { project: { models: byId, teams }, problems: [] };
}

/** A join must reach an existing model through exactly that model's grain: that is what makes it many-to-one. */
function checkJoins(model: Model, byId: ReadonlyMap<string, Model>, problems: ProblemCollector, lines: ReadonlyMap<Model, LineAt>): void {
  for (const join of model.joins) {
    const target = byId.get(join.model);
    if (!target) {
      const known = [...byId.keys()].join(', ');
      problems.add(located(model, lines, ['joins', join.name, 'model'], `unknown model "${join.model}"; models: ${known}`));
      continue;
    }
    if (target.grain.length === 0) continue; // its own missing grain is already reported
    const remote = Object.values(join.on);
    const same = remote.length === target.grain.length && target.grain.every((g) => remote.includes(g));
    if (!same) {
      problems.add(
        located(
          model,
          lines,
          ['joins', join.name, 'on'],
          `must map onto the grain of ${target.id} exactly ([${target.grain.join(', ')}]) so that each row joins at most one row; got [${remote.join(', ')}]`,
        ),
      );
    }
  }
}

/** A rollup's joined dimension (`accounts.region`) must be a dimension of the joined model. */
function checkRollupJoins(model: Model, byId: ReadonlyMap<string, Model>, problems: ProblemCollector, lines: ReadonlyMap<Model, LineAt>): void {
  for (const rollup of model.rollups ?? []) {
    rollup.dimensions.forEach((d, i) => {
      if (!d.includes('.')) return;
      const [joinName, dimName] = [d.slice(0, d.indexOf('.')), d.slice(d.indexOf('.') + 1)];
      const join = model.joins.find((j) => j.name === joinName);
      const target = join ? byId.get(join.model) : undefined;
      if (!target) return; // the join is reported itself
      if (!target.dimensions.some((x) => x.name === dimName)) {
        problems.add(
          located(model, lines, ['rollups', rollup.name, 'dimensions', i], `"${dimName}" is not a dimension of ${target.id}; its dimensions: ${target.dimensions.map((x) => x.name).join(', ') || '(none)'}`),
        );
      }
    });
  }
}

/**
 * Loads the project and throws `UserError('MODEL_INVALID')` listing every problem, or returns it.
 * The convenience the composition root and the CLI use.
 */
export async function assertValidProject(projectDir: string): Promise<SemanticProject> {
  const { project, problems } = await loadSemanticProject(projectDir);
  const collector = new ProblemCollector();
  for (const p of problems) collector.add(p);
  collector.throwIfAny('MODEL_INVALID', `The semantic models in ${projectDir} are invalid`);
  if (!project) throw new Error('unreachable: no project and no problem');
  return project;
}

function located(model: Model, lines: ReadonlyMap<Model, LineAt>, path: YamlPath, message: string): Problem {
  const problem: Problem = { file: model.file, path: formatPath(path), message };
  const line = lines.get(model)?.(path);
  if (line !== undefined) problem.line = line;
  return problem;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Re-exported for the composition root, which checks the loaded project against the warehouse. */
export { checkModelColumns, type DescribeColumns } from './check-columns.js';
