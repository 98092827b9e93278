/**
 * The project folder (SPEC §2): models, targets and sources loaded together, so that one start-up lists every
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

export interface Project {
  readonly dir: string;
  readonly semantic: SemanticProject;
  readonly targets: ReadonlyMap<string, Target>;
  /** Connector instances (`sources/*.yml`). */
  readonly sources: ReadonlyMap<string, SourceConfig>;
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
  problems.throwIfAny('MODEL_INVALID', `The project ${dir} is invalid`);
  if (!semantic.project) throw new UserError('MODEL_INVALID', `The project ${dir} has no valid models`);
  return Object.freeze({ dir, semantic: semantic.project, targets: targets.targets, sources: sources.sources });
}
