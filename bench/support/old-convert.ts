/**
 * BENCH BASELINE, not product code: the ingest path as it was before the own CSV tokenizer and the conversion
 * fast path (main at 5a40ab8), kept verbatim so that bench/parse.ts prints before and after in one run.
 */
/**
 * Conversion of parsed records to warehouse rows: each value checked against its target column's
 * type (docs/targets.md), with `default` for missing values and `required` enforced. Every failure is a
 * located {@link RowError} ("line 5001, column impressions: expected integer, got "abc"").
 */
import type { ColumnTypeName, SqlValue } from '../../src/warehouse/port.js';
import { convertValue, isMissing, normaliseField, showValue } from '../../src/ingest/convert-value.js';
import type { Target, TargetColumn } from '../../src/ingest/targets.js';

/** One value of one input row that does not fit the target contract. */
export interface RowError {
  /** Physical line where the record starts (header = line 1). */
  line: number;
  /** Target column name (or the input field, for file-level problems). */
  column?: string;
  /** The offending value as text, cut to a readable length. */
  value?: string;
  /** What was wrong and what was expected: `expected integer, got "abc"`. */
  message: string;
}

/** The input field a column reads: its `from`, else its name. */
export function sourceFieldOf(column: TargetColumn): string {
  return column.from ?? column.name;
}

/** Turns an input field name into a column name for `evolve` (snake_case SQL identifier). */
export function columnNameForField(field: string): string {
  let name = field
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name) name = 'field';
  if (!/^[a-z]/.test(name)) name = `c_${name}`;
  return name.slice(0, 63);
}

/** A column added by `evolve`: nullable, string, or json for arrays and nested values. */
export interface EvolvedColumn {
  name: string;
  field: string;
  type: 'string' | 'json';
}

/** The result of converting one record. */
export type RowResult = { ok: true; values: SqlValue[] } | { ok: false; errors: RowError[] };

/**
 * Converts records of one input to rows in a fixed column order: the target's columns, then the
 * evolved columns. Field names are matched case-insensitively after trimming.
 */
export class RecordConverter {
  /** Column names in row order (target columns, then evolved ones). */
  readonly columns: string[];
  private readonly byField = new Map<string, number>();
  private readonly types: ColumnTypeName[];
  private readonly targetColumns: TargetColumn[];
  private readonly fieldCache = new Map<string, number | undefined>();

  constructor(target: Target, evolved: readonly EvolvedColumn[] = []) {
    this.targetColumns = target.columns;
    this.columns = [...target.columns.map((c) => c.name), ...evolved.map((e) => e.name)];
    this.types = [...target.columns.map((c) => c.type), ...evolved.map((e) => e.type)];
    target.columns.forEach((c, i) => this.byField.set(normaliseField(sourceFieldOf(c)), i));
    evolved.forEach((e, i) => {
      const key = normaliseField(e.field);
      if (!this.byField.has(key)) this.byField.set(key, target.columns.length + i);
    });
  }

  /** Index of the column an input field feeds, or undefined for a field the target does not know. */
  columnIndexOf(field: string): number | undefined {
    if (this.fieldCache.has(field)) return this.fieldCache.get(field);
    const index = this.byField.get(normaliseField(field));
    this.fieldCache.set(field, index);
    return index;
  }

  /** Converts one record; a failing record reports every bad value it has, not just the first. */
  convert(line: number, record: Record<string, unknown>): RowResult {
    const raw: unknown[] = new Array(this.columns.length);
    const fieldOf: string[] = new Array(this.columns.length);
    for (const field of Object.keys(record)) {
      const i = this.columnIndexOf(field);
      if (i !== undefined && raw[i] === undefined) {
        raw[i] = record[field];
        fieldOf[i] = field;
      }
    }
    // A message names the file's own header too when it differs from the column (`from: "Date"`), so
    // the user finds the column in the file they know.
    const inFile = (i: number, message: string) => {
      const field = fieldOf[i] ?? sourceFieldOf(this.targetColumns[i]);
      return field.trim() === this.columns[i] ? message : `${message} (the file's column "${field.trim()}")`;
    };
    const values: SqlValue[] = new Array(this.columns.length);
    let errors: RowError[] | undefined;
    for (let i = 0; i < this.columns.length; i++) {
      const column = this.targetColumns[i];
      const value = raw[i];
      if (isMissing(value)) {
        const fallback = column?.default;
        if (fallback !== undefined && fallback !== null) values[i] = fallback;
        else if (column?.required) {
          (errors ??= []).push({ line, column: this.columns[i], value: value === undefined || value === null ? '' : String(value), message: inFile(i, `expected ${column.type}, got nothing (the column is required)`) });
        } else values[i] = null;
        continue;
      }
      const result = convertValue(this.types[i], value);
      if (result.ok) values[i] = result.value;
      // An evolved column has no contract to break: a field that is an array in one record and plain
      // text in another (json column) keeps the text as a JSON string rather than rejecting the row.
      else if (column === undefined) values[i] = JSON.stringify(value);
      else (errors ??= []).push({ line, column: this.columns[i], value: showValue(value), message: inFile(i, result.message) });
    }
    return errors ? { ok: false, errors } : { ok: true, values };
  }
}

/** `line 5001, column impressions: expected integer, got "abc"`. */
export function formatRowError(e: RowError): string {
  return `line ${e.line}${e.column !== undefined ? `, column ${e.column}` : ''}: ${e.message}`;
}
