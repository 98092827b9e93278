/**
 * The project folder (docs/README.md): models, targets, sources and reports loaded together, so that one start-up lists every
 * problem of both, each with its file and path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProblemCollector, UserError } from '../errors.js';
import { loadSemanticProject } from '../semantic/load.js';
import { loadTargets, type Target } from '../ingest/targets.js';
import { teamBoundaryProblems } from '../semantic/team-boundary.js';
import type { SemanticProject } from '../semantic/types.js';
import { loadSources } from '../ingest/connectors/source-file.js';
import { CONNECTOR_TYPES } from '../ingest/connectors/registry.js';
import type { SourceConfig } from '../ingest/connectors/types.js';
import { loadReports, reportModelProblems, type Report } from '../exports/report-file.js';
import { checkQuery } from '../semantic/check-query.js';

export interface Project {
  readonly dir: string;
  readonly semantic: SemanticProject;
  readonly targets: ReadonlyMap<string, Target>;
  /** Connector instances (`sources/*.yml`). */
  readonly sources: ReadonlyMap<string, SourceConfig>;
  /** `reports/*.yml`: scheduled exports (docs/reports.md). */
  readonly reports: ReadonlyMap<string, Report>;
}

/** Loads and validates the project; throws MODEL_INVALID listing every problem of models, targets and sources. */
export async function loadProject(dir: string): Promise<Project> {
  if (!existsSync(join(dir, 'models'))) {
    throw new UserError('CONFIG_INVALID', `SEXTANT_PROJECT: ${dir} is not a project folder (it has no models/ folder)`);
  }
  const [semantic, targets] = await Promise.all([loadSemanticProject(dir), loadTargets(dir)]);
  const sources = await loadSources(dir, CONNECTOR_TYPES, targets.targets);
  const problems = new ProblemCollector();
  for (const p of [...semantic.problems, ...targets.problems, ...sources.problems]) problems.add(p);
  if (semantic.project) for (const p of teamBoundaryProblems(semantic.project)) problems.add(p);
  // Reports are checked against valid models only: each query is planned to check every member.
  let reports = new Map<string, Report>();
  if (semantic.project && problems.empty) {
    const models = semantic.project;
    const loaded = await loadReports(dir, models, (query) => checkQuery(models, query), new Set([...targets.targets.values()].map((t) => t.table)));
    for (const p of [...loaded.problems, ...reportModelProblems(models, loaded.reports)]) problems.add(p);
    reports = loaded.reports;
  }
  problems.throwIfAny('MODEL_INVALID', `The project ${dir} is invalid`);
  if (!semantic.project) throw new UserError('MODEL_INVALID', `The project ${dir} has no valid models`);
  return Object.freeze({ dir, semantic: semantic.project, targets: targets.targets, sources: sources.sources, reports });
}
