/**
 * The team boundary inside the project ("a key never reads another team's models", docs/http.md). Access is
 * decided per team, and a join exposes the joined model's dimensions through the joining model; a
 * join across teams would therefore let a key of one team read another team's data. Such joins are
 * refused when the project loads, with the rest of its problems.
 */
import type { Problem } from '../errors.js';
import type { SemanticProject } from './types.js';

/** Every join from a model to a model of another team, as a located problem. */
export function teamBoundaryProblems(project: SemanticProject): Problem[] {
  const problems: Problem[] = [];
  for (const model of project.models.values()) {
    for (const join of model.joins) {
      const joined = project.models.get(join.model);
      const team = joined?.team ?? join.model.split('.')[0];
      if (team === model.team) continue;
      problems.push({
        file: model.file,
        path: `joins.${join.name}.model`,
        message: `${join.model} belongs to team "${team}": a model may join only models of its own team ("${model.team}"), since a ${model.team} API key would otherwise read ${team}'s data through the join`,
      });
    }
  }
  return problems;
}
