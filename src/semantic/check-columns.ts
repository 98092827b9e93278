/**
 * Checks that cannot be made from YAML alone: that a model's table exists and that the plain columns
 * its members name are columns of it. The composition root runs this at start-up with the
 * warehouse's `describeTable`, so a typo fails start-up rather than the first query.
 */
import type { Problem } from '../errors.js';
import type { Model, SemanticProject } from './types.js';
import { isPlainColumn } from './sql-tokens.js';

/** Column names of a table, or undefined when the table does not exist. */
export type DescribeColumns = (table: string) => Promise<string[] | undefined>;

/**
 * For every model with `table:`, reports a missing table, and every plain-column `sql` (written or
 * defaulted), grain column and join key that is not a column of the table. Expressions are not
 * checked (only the database can parse them); `sql:` models are not checked.
 */
export async function checkModelColumns(project: SemanticProject, describe: DescribeColumns): Promise<Problem[]> {
  const problems: Problem[] = [];
  const byTable = new Map<string, Promise<string[] | undefined>>();
  for (const model of project.models.values()) {
    if (model.table === undefined) continue;
    let pending = byTable.get(model.table);
    if (!pending) {
      pending = describe(model.table);
      byTable.set(model.table, pending);
    }
    const columns = await pending;
    if (columns === undefined) {
      problems.push({ file: model.file, path: 'table', message: `table ${model.table} does not exist in the warehouse` });
      continue;
    }
    for (const [path, column] of plainColumns(model)) {
      if (!columns.includes(column)) {
        problems.push({
          file: model.file,
          path,
          message: `unknown column "${column}" in table ${model.table}; its columns: ${columns.join(', ')}`,
        });
      }
    }
  }
  return problems;
}

/** [path, column] for every member of the model that names a plain column. */
function plainColumns(model: Model): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const dimensionNames = new Set(model.dimensions.map((d) => d.name));
  for (const d of model.dimensions) if (isPlainColumn(d.sql)) out.push([`dimensions.${d.name}.sql`, d.sql.trim()]);
  for (const m of model.measures) {
    if (m.type !== 'derived' && m.sql !== undefined && isPlainColumn(m.sql)) out.push([`measures.${m.name}.sql`, m.sql.trim()]);
  }
  model.grain.forEach((g, i) => {
    if (!dimensionNames.has(g)) out.push([`grain[${i}]`, g]);
  });
  for (const j of model.joins) for (const local of Object.keys(j.on)) out.push([`joins.${j.name}.on.${local}`, local]);
  return out;
}
