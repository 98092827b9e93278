/**
 * Checks a question written in configuration (a report's query) against the models, before anything
 * runs: every member, grain, operator and value, exactly as the planner will at run time, by planning it
 * for a plain ANSI dialect whose SQL is never run. Answers the result's columns.
 */
import type { ColumnTypeName, SqlDialect } from '../warehouse/port.js';
import { planQuery } from './planner.js';
import type { ResultColumn, SemanticProject, SemanticQuery } from './types.js';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Text only: planning needs a dialect, the check needs none in particular. */
const CHECK_DIALECT: SqlDialect = {
  name: 'postgres',
  quoteIdent,
  quoteTable: (qualified) => qualified.split('.').map(quoteIdent).join('.'),
  param: (index) => `$${index}`,
  truncTime: (grain, expr) => `date_trunc('${grain}', ${expr})`,
  toFloat: (expr) => `cast(${expr} as double precision)`,
  contains: (expr, param) => `strpos(${expr}, ${param}) > 0`,
  startsWith: (expr, param) => `starts_with(${expr}, ${param})`,
  columnType: (type: ColumnTypeName) => type,
};

/**
 * The columns `query` answers, or a UserError (BAD_USER_INPUT, UNKNOWN_MODEL) saying what is wrong.
 * Relative date ranges are checked at `now`; they are resolved again when the question runs.
 */
export function checkQuery(project: SemanticProject, query: SemanticQuery, now = new Date()): ResultColumn[] {
  return planQuery(project, query, CHECK_DIALECT, { now }).columns;
}
