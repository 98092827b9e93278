/**
 * The loader: one raw object already in the store → parser → conversion → ONE `warehouse.merge`
 * (staged, merged in one transaction on the target's key). A CSV file that csv-fast-path.ts allows is
 * first offered to the warehouse's own bulk reader (`loadCsv`); when it declines, the Node path runs. All or nothing: a bad row under
 * `on_error: reject` (or a malformed file) leaves the table's rows as they were; loading the same
 * object twice leaves the rows of one load (docs/targets.md).
 */
import { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import type { ObjectStore } from '../storage/port.js';
import type { ColumnTypeName, MergeResult, SqlValue, TableColumn, TableSpec, Warehouse } from '../warehouse/port.js';
import { RecordConverter, columnNameForField, formatRowError, sourceFieldOf, type EvolvedColumn, type RowError } from './convert.js';
import { isMissing, normaliseField } from './convert-value.js';
import { csvFastPath } from './csv-fast-path.js';
import { parseRecords, type InputFormat } from './parsers/parse-records.js';
import type { ParsedRecord } from './parsers/parsed-record.js';
import { LINEAGE_COLUMNS, tableSpecOf, type Target } from './targets.js';

/** What one load did. */
export interface LoadResult {
  /** Records parsed from the file. */
  rowsRead: number;
  /** Rows merged (after de-duplication on the key: the last row of a key wins). */
  rowsLoaded: number;
  /** Rows left out under `on_error: skip`. */
  rowsRejected: number;
  /** The bad values of rejected rows, the first {@link MAX_LISTED_ERRORS} of them. */
  errors: RowError[];
  inserted: number;
  updated: number;
  /** Columns `evolve` added to the table in this load. */
  addedColumns: string[];
  /** Why the warehouse's bulk reader, offered the file, declined it (the file was then parsed by the service). */
  bulkReaderDeclined?: string;
}

/** The ports a load uses. */
export interface LoadDeps {
  warehouse: Warehouse;
  store: ObjectStore;
}

/** What to load, and how. */
export interface LoadInput {
  target: Target;
  /** Object-store key of the raw input. */
  key: string;
  /** Recorded in `_run_id` of every row (the job id). */
  runId: string;
  signal?: AbortSignal;
  /** Called every few thousand rows and at the end. */
  onProgress?: (rowsRead: number, bytesRead: number, totalBytes?: number) => void;
  /** The name shown in errors (the uploaded file's name); defaults to the key's last segment. */
  filename?: string;
  /** Forces the input format; by default it follows the file name, else the content. */
  format?: InputFormat;
  /** Largest field accepted (default 1 MiB). */
  maxFieldBytes?: number;
}

/** How many bad values a skip-mode load lists (all are counted). */
export const MAX_LISTED_ERRORS = 1000;
const PROGRESS_EVERY_ROWS = 5000;

/** `YYYY-MM-DD HH:MM:SS.sss` in UTC: the form both dialects read into TIMESTAMP. */
function utcTimestamp(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

function rowInvalid(errors: RowError[], file: string): UserError {
  const first = errors[0];
  return new UserError('ROW_INVALID', `${file}, ${formatRowError(first)}`, {
    problems: errors.map((e) => ({ line: e.line, column: e.column, message: e.message })),
    details: { file, line: first.line, column: first.column, value: first.value },
  });
}

/** The target's columns that an input must supply (required and without a default). */
function mandatoryColumns(target: Target): Target['columns'] {
  return target.columns.filter((c) => c.required && (c.default === undefined || c.default === null));
}

/** Loads one object of the store into its target's table. See the module comment. */
export async function loadObject(deps: LoadDeps, input: LoadInput): Promise<LoadResult> {
  const { warehouse, store } = deps;
  const { target, key, runId, signal } = input;
  const file = input.filename ?? key.split('/').pop() ?? key;
  signal?.throwIfAborted();

  const info = await store.head(key);
  if (!info) throw new UserError('NOT_FOUND', `no object "${key}" in the object store; upload the file first`);
  const totalBytes = info.size;
  const keepAsJson = new Set(target.columns.filter((c) => c.type === 'json').map((c) => normaliseField(sourceFieldOf(c))));
  const baseConverter = new RecordConverter(target);

  /** Checks the CSV header against the contract before any row: a missing required column is a file problem. */
  const checkHeader = (fields: string[]): void => {
    const present = new Set(fields.map(normaliseField));
    const missing = mandatoryColumns(target).filter((c) => !present.has(normaliseField(sourceFieldOf(c))));
    if (missing.length === 0) return;
    const names = missing.map((c) => (c.from ? `"${c.from}" (column ${c.name})` : `"${c.name}"`)).join(', ');
    const message = `the header has no ${names}, which ${missing.length === 1 ? 'is' : 'are'} required; the header has: ${fields.map((f) => `"${f}"`).join(', ')}`;
    throw new UserError('INPUT_INVALID', `${file}, line 1: ${message}`, { problems: [{ file, line: 1, message }] });
  };

  const open = async (options: { keepArrays?: boolean; onBytes?: (n: number) => void }): Promise<{ records: AsyncGenerator<ParsedRecord>; close: () => void }> => {
    const body = await store.get(key);
    const records = parseRecords(body, {
      file,
      format: input.format,
      maxFieldBytes: input.maxFieldBytes,
      keepAsJson,
      keepArrays: options.keepArrays,
      onHeader: checkHeader,
      onBytes: options.onBytes,
      sheet: target.sheet,
    });
    return { records, close: () => body.destroy() };
  };

  // evolve: a first pass finds the fields the target does not know (and checks every row, so that
  // a file that will be rejected adds no column); the table gains them before the merge.
  let evolved: EvolvedColumn[] = [];
  const addedColumns: string[] = [];
  const spec: TableSpec = tableSpecOf(target);
  if (target.evolve) {
    const existing = new Map<string, TableColumn>((await warehouse.describeTable(target.table))?.map((c) => [c.name, c]) ?? []);
    const fields = new Map<string, { field: string; json: boolean }>();
    const taken = new Set<string>([...spec.columns.map((c) => c.name)]);
    const { records, close } = await open({ keepArrays: true });
    try {
      for await (const { line, record } of records) {
        signal?.throwIfAborted();
        for (const [field, value] of Object.entries(record)) {
          if (baseConverter.columnIndexOf(field) !== undefined) continue;
          const name = columnNameForField(field);
          if (taken.has(name) && !fields.has(name)) continue;
          const seen = fields.get(name);
          const json = Array.isArray(value);
          if (!seen) {
            fields.set(name, { field, json });
            taken.add(name);
          } else if (json && !isMissing(value)) seen.json = true;
        }
        if (target.onError === 'reject') {
          const converted = baseConverter.convert(line, record);
          if (!converted.ok) throw rowInvalid(converted.errors, file);
        }
      }
    } finally {
      close();
    }
    evolved = [...fields].map(([name, { field, json }]) => {
      const type: ColumnTypeName = existing.get(name)?.type ?? (json ? 'json' : 'string');
      return { name, field, type: type === 'json' ? 'json' : 'string' };
    });
    for (const e of evolved) {
      if (!existing.has(e.name)) addedColumns.push(e.name);
      spec.columns.push({ name: e.name, type: e.type });
    }
  }

  await warehouse.ensureTable(spec);
  const loadedAt = utcTimestamp(new Date());

  // The warehouse's own bulk reader first, when the file allows it; undefined: it declined, nothing changed.
  let bulkReaderDeclined: string | undefined;
  const fast = warehouse.loadCsv && (await csvFastPath({ target, store, key, file, format: input.format, maxFieldBytes: input.maxFieldBytes }));
  if (fast) {
    signal?.throwIfAborted();
    let records: number | undefined;
    let bytes = 0;
    const open = async (): Promise<Readable> => {
      const body = await fast.open();
      return Readable.from(
        (async function* () {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            bytes += chunk.length;
            yield chunk;
          }
        })(),
      );
    };
    const onProgress = (n: number): void => {
      records = n;
      input.onProgress?.(n, bytes, totalBytes);
    };
    const lineage = { runId, loadedAt, sourceObject: key };
    const onDecline = (reason: string): void => void (bulkReaderDeclined ??= reason);
    const merged = await warehouse.loadCsv!({ spec: fast.spec, columns: fast.columns, lineage, open, localPath: store.localPath?.(key), signal, onProgress, onDecline });
    if (merged) {
      // An adapter that does not count the file's records (onProgress): with duplicate keys, rows read are then the rows kept.
      const rowsRead = records ?? merged.rowsStaged;
      input.onProgress?.(rowsRead, totalBytes, totalBytes);
      return { rowsRead, rowsLoaded: merged.rowsStaged, rowsRejected: 0, errors: [], inserted: merged.inserted, updated: merged.updated, addedColumns };
    }
    bulkReaderDeclined ??= 'declined without a reason';
  }

  const converter = evolved.length > 0 ? new RecordConverter(target, evolved) : baseConverter;
  const columns = [...converter.columns, ...LINEAGE_COLUMNS.map((c) => c.name)];
  let rowsRead = 0;
  let rowsRejected = 0;
  let bytesRead = 0;
  const errors: RowError[] = [];
  const { records, close } = await open({ onBytes: (n) => (bytesRead = n) });

  async function* rows(): AsyncGenerator<SqlValue[]> {
    for await (const { line, record } of records) {
      signal?.throwIfAborted();
      rowsRead++;
      const converted = converter.convert(line, record);
      if (converted.ok) {
        converted.values.push(runId, loadedAt, key);
        yield converted.values;
      } else {
        if (target.onError === 'reject') throw rowInvalid(converted.errors, file);
        rowsRejected++;
        for (const e of converted.errors) if (errors.length < MAX_LISTED_ERRORS) errors.push(e);
      }
      if (rowsRead % PROGRESS_EVERY_ROWS === 0) input.onProgress?.(rowsRead, bytesRead, totalBytes);
    }
  }

  let merged: MergeResult;
  try {
    merged = await warehouse.merge({ spec, columns, rows: rows() });
  } finally {
    close();
  }
  input.onProgress?.(rowsRead, bytesRead, totalBytes);
  return {
    rowsRead,
    rowsLoaded: merged.rowsStaged,
    rowsRejected,
    errors,
    inserted: merged.inserted,
    updated: merged.updated,
    addedColumns,
    ...(bulkReaderDeclined === undefined ? {} : { bulkReaderDeclined }),
  };
}
