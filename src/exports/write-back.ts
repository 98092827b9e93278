/**
 * Write-back (docs/reports.md): a report's result replaces its `analysis.<table>` at each run, atomically
 * (Warehouse.replaceTable), so that downstream tools — and models — read it like any table. Lineage:
 * every row carries `_report`, `_run_id` and `_written_at`, and `analysis.report_lineage` holds one row
 * per written table (the report, the run, the query as JSON, the row count), changed in the swap's own
 * transaction so that it always describes the rows that are there.
 */
import type { ResultColumn } from '../semantic/types.js';
import type { ColumnTypeName, TableColumn, TableSpec, Warehouse } from '../warehouse/port.js';
import type { Report } from './report-file.js';

/** Lineage columns of every written-back row. */
export const WRITE_BACK_LINEAGE_COLUMNS: readonly TableColumn[] = [
  { name: '_report', type: 'string' },
  { name: '_run_id', type: 'string' },
  { name: '_written_at', type: 'timestamp' },
];

/** One row per written-back table: which report and run wrote it, with which query. */
export const LINEAGE_TABLE: TableSpec = {
  table: 'analysis.report_lineage',
  key: ['table_name'],
  columns: [
    { name: 'table_name', type: 'string', required: true },
    { name: 'report', type: 'string', required: true },
    { name: 'run_id', type: 'string', required: true },
    { name: 'query', type: 'string', required: true },
    { name: 'row_count', type: 'bigint', required: true },
    { name: 'written_at', type: 'timestamp', required: true },
  ],
};

const TYPES: Record<ResultColumn['type'], ColumnTypeName> = { string: 'string', number: 'double', boolean: 'boolean', date: 'date', timestamp: 'timestamp' };

/** The table columns of a result: each column under its result key (`metric_date__week`), then lineage. */
export function writeBackColumns(columns: ReadonlyArray<Pick<ResultColumn, 'key' | 'type' | 'kind'>>): TableColumn[] {
  return [...columns.map((c) => ({ name: c.key, type: c.kind === 'measure' ? 'double' : TYPES[c.type] })), ...WRITE_BACK_LINEAGE_COLUMNS];
}

/** The spec replaceTable is given (no key: the rows are one query's answer). */
export function writeBackSpec(table: string, columns: TableColumn[]): TableSpec {
  return { table, key: [], columns };
}

/**
 * Creates the lineage table, and every write-back table that does not exist yet as an empty table with
 * the report's columns, so that models defined on them pass the start-up column check before the first
 * run. Existing tables are left as they are (the next run replaces them).
 */
export async function ensureWriteBackTables(warehouse: Pick<Warehouse, 'replaceTable' | 'ensureTable' | 'describeTable'>, reports: Iterable<Report>): Promise<void> {
  const writers = [...reports].filter((r) => r.writeBack !== null);
  if (writers.length === 0) return;
  await warehouse.ensureTable(LINEAGE_TABLE);
  for (const report of writers) {
    const table = report.writeBack as string;
    if (await warehouse.describeTable(table)) continue;
    await warehouse.replaceTable({ spec: writeBackSpec(table, writeBackColumns(report.columns)), rows: [] });
  }
}
