/**
 * The deepest start-up check: every member of every model compiled by the warehouse itself. Column
 * names can be checked from a table's description (check-columns.ts), but an expression (`likes +
 * coments`), a `sql:` model, or an aggregate over a type that cannot become a number only fails when
 * the database plans it. Running each planned query with `limit 0` makes the database parse, resolve
 * and type-check it without reading rows — the idea of MetricFlow's `explain` validation.
 * PostgreSQL (and Redshift) type-check while planning; DuckDB resolves names and functions while
 * binding but raises some cast errors only when a row reaches them, which a `limit 0` query never does.
 */
import type { Problem } from '../errors.js';
import type { SqlDialect } from '../warehouse/port.js';
import type { Model, SemanticProject, SemanticQuery } from './types.js';
import { planQuery } from './planner.js';

/** Runs one statement; rejects with the database's error. */
export type RunStatement = (sql: string, params: readonly unknown[]) => Promise<unknown>;

/**
 * For each model, runs one `limit 0` query selecting every dimension, joined dimension and measure.
 * When it fails, each member is tried alone so that the problem names the member(s) at fault, with
 * the database's message. Returns the problems; never throws for a database error.
 */
export async function checkModelQueries(project: SemanticProject, dialect: SqlDialect, run: RunStatement): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const model of project.models.values()) {
    const joined = model.joins.flatMap((j) => (project.models.get(j.model)?.dimensions ?? []).map((d) => ({ name: `${j.name}.${d.name}`, path: `joins.${j.name}` })));
    const members: Array<{ query: Partial<SemanticQuery>; path: string }> = [
      ...model.dimensions.map((d) => ({ query: { dimensions: [{ name: d.name }] }, path: `dimensions.${d.name}` })),
      ...joined.map((d) => ({ query: { dimensions: [{ name: d.name }] }, path: d.path })),
      ...model.measures.map((m) => ({ query: { measures: [m.name] }, path: `measures.${m.name}` })),
    ];
    if (members.length === 0) continue;
    const all: Partial<SemanticQuery> = {
      dimensions: members.flatMap((m) => m.query.dimensions ?? []),
      measures: members.flatMap((m) => m.query.measures ?? []),
    };
    if ((await attempt(project, model, all, dialect, run)) === undefined) continue;
    const before = problems.length;
    for (const m of members) {
      const error = await attempt(project, model, m.query, dialect, run);
      if (error !== undefined && !problems.some((p) => p.file === model.file && p.path === m.path)) {
        problems.push({ file: model.file, path: m.path, message: `the warehouse rejects it: ${error}` });
      }
    }
    if (problems.length === before) {
      // Every member works alone but not together (e.g. a join and a window disagree): report the model.
      const error = await attempt(project, model, all, dialect, run);
      problems.push({ file: model.file, message: `the warehouse rejects a query over all its members: ${error ?? 'unknown error'}` });
    }
  }
  return problems;
}

/** The database's message for a `limit 0` query, or undefined when it runs. */
async function attempt(project: SemanticProject, model: Model, partial: Partial<SemanticQuery>, dialect: SqlDialect, run: RunStatement): Promise<string | undefined> {
  const query: SemanticQuery = { model: model.id, measures: [], dimensions: [], filters: [], orderBy: [], limit: 0, offset: 0, ...partial };
  try {
    const plan = planQuery(project, query, dialect);
    await run(plan.sql, plan.params);
    return undefined;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0];
  }
}
