/**
 * Whether an upload may be offered to the warehouse's own bulk reader (`Warehouse.loadCsv`, docs/targets.md
 * "Large files"), decided on the target and the file's header line only: a CSV file, comma-delimited, UTF-8,
 * whose header names known target columns one to one (every required column among them, none twice, none
 * unknown), a target without `evolve`, no column left to a `default`. The adapter then checks every value
 * and may still decline; either way the loader's Node path is the fallback, and it words the errors.
 */
import { Readable } from 'node:stream';
import type { ObjectStore } from '../storage/port.js';
import type { TableSpec } from '../warehouse/port.js';
import { sourceFieldOf } from './convert.js';
import { normaliseField } from './convert-value.js';
import { detectDelimiter } from './parsers/csv-parser.js';
import { CsvReader, type LocatedFields } from './parsers/csv-reader.js';
import { formatOfName, type InputFormat } from './parsers/parse-records.js';
import { DEFAULT_MAX_FIELD_BYTES } from './parsers/parsed-record.js';
import { tableSpecOf, type Target } from './targets.js';

/** What the loader hands `loadCsv` when the file may go the fast way. */
export interface CsvFastPath {
  /** The target's table spec; a column whose empty value the converter would not make NULL (a default) is marked required. */
  spec: TableSpec;
  /** The column each field of the file feeds, in the file's order. */
  columns: string[];
  /** The file's bytes anew, without a byte-order mark. */
  open(): Promise<Readable>;
}

/** What {@link csvFastPath} looks at. */
export interface CsvFastPathInput {
  target: Target;
  store: ObjectStore;
  key: string;
  /** The name the format follows when `format` is not forced. */
  file: string;
  format?: InputFormat;
  maxFieldBytes?: number;
}

/** The header line is looked for in this much of the file. */
const HEADER_BYTES = 64 * 1024;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The file without its UTF-8 byte-order mark. */
async function* withoutBom(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of body) {
    if (first && chunk.subarray(0, 3).equals(UTF8_BOM)) {
      first = false;
      if (chunk.length > 3) yield chunk.subarray(3);
      continue;
    }
    first = false;
    yield chunk;
  }
}

/** The first line of the file (BOM dropped), or undefined when it is not found in the first {@link HEADER_BYTES}. */
async function headerLine(store: ObjectStore, key: string): Promise<string | undefined> {
  const body = await store.get(key);
  try {
    let head = Buffer.alloc(0);
    for await (const chunk of withoutBom(body)) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end !== -1) return head.toString('utf8', 0, end).replace(/\r$/, '');
      if (head.length > HEADER_BYTES) return undefined;
    }
    return undefined;
  } finally {
    body.destroy();
  }
}

/** The columns the header's fields feed, or undefined when one is blank, unknown or repeated. */
function headerColumns(target: Target, line: string): string[] | undefined {
  if (line.trim() === '' || line.includes('\uFFFD') || detectDelimiter(line) !== ',') return undefined;
  const records: LocatedFields[] = [];
  try {
    new CsvReader(',', DEFAULT_MAX_FIELD_BYTES).feed(line, true, records);
  } catch {
    return undefined;
  }
  if (records.length !== 1) return undefined;
  const byField = new Map(target.columns.map((c) => [normaliseField(sourceFieldOf(c)), c.name]));
  const columns = records[0].fields.map((f) => byField.get(normaliseField(f)));
  if (columns.some((c) => c === undefined) || new Set(columns).size !== columns.length) return undefined;
  return columns as string[];
}

/** The fast path's input for this load, or undefined when it must go the Node way. See the module comment. */
export async function csvFastPath(input: CsvFastPathInput): Promise<CsvFastPath | undefined> {
  const { target, store, key } = input;
  if (target.evolve) return undefined;
  if ((input.format ?? formatOfName(input.file)) !== 'csv') return undefined;
  if (input.maxFieldBytes !== undefined && input.maxFieldBytes < DEFAULT_MAX_FIELD_BYTES) return undefined;
  const line = await headerLine(store, key);
  const columns = line === undefined ? undefined : headerColumns(target, line);
  if (!columns) return undefined;
  const present = new Set(columns);
  const hasDefault = (c: Target['columns'][number]): boolean => c.default !== undefined && c.default !== null;
  // A missing required column is the Node path's header error; a missing column with a default gets its default there.
  if (target.columns.some((c) => !present.has(c.name) && (c.required || hasDefault(c)))) return undefined;
  const defaults = new Set(target.columns.filter(hasDefault).map((c) => c.name));
  const spec = tableSpecOf(target);
  spec.columns = spec.columns.map((c) => (defaults.has(c.name) ? { ...c, required: true } : c));
  return {
    spec,
    columns,
    open: async () => Readable.from(withoutBom(await store.get(key))),
  };
}
