/**
 * The parsers' front door: raw bytes (an object-store stream) → CSV, JSON or XLSX records. A file that
 * starts like a ZIP archive (`PK\x03\x04`) is read as an XLSX workbook whatever its name (extensions
 * are not trusted); an `.xlsx` name that does not start so is refused. Other files are decoded to text;
 * their format comes from the extension, or, for an unknown one, from the first character of the text
 * (`[` or `{` is JSON).
 */
import { Readable } from 'node:stream';
import { UserError } from '../../errors.js';
import { decodeText } from './decode-text.js';
import { parseCsv } from './csv-parser.js';
import { parseJson } from './json-parser.js';
import type { ParsedRecord, ParseOptions } from './parsed-record.js';

/** Input formats the parsers read. */
export const INPUT_FORMATS = ['csv', 'json', 'xlsx'] as const;
/** One of {@link INPUT_FORMATS}. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The format a file name implies, or undefined when its extension says nothing. */
export function formatOfName(name: string): InputFormat | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === 'csv' || ext === 'tsv' || ext === 'txt') return 'csv';
  if (ext === 'json' || ext === 'ndjson' || ext === 'jsonl') return 'json';
  if (ext === 'xlsx' || ext === 'xlsm') return 'xlsx';
  return undefined;
}

/** Options of {@link parseRecords}. */
export interface ParseRecordsOptions extends ParseOptions {
  /** Forces a format; by default it comes from `file`'s extension, else from the content. */
  format?: InputFormat;
  /** Called with the raw bytes consumed so far. */
  onBytes?: (bytesRead: number) => void;
  /** XLSX: the sheet to read (the target's `sheet:`); default the first. */
  sheet?: string | undefined;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/** The first bytes of `source` (at least 4 unless it is shorter), and the whole stream replayed. */
async function peek(source: AsyncIterable<Uint8Array | string>): Promise<{ head: Uint8Array; replay: AsyncGenerator<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let size = 0;
  while (size < ZIP_MAGIC.length) {
    const next = await iterator.next();
    if (next.done) break;
    const bytes = toBytes(next.value);
    held.push(bytes);
    size += bytes.length;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield* held;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield toBytes(next.value);
      }
    } finally {
      await iterator.return?.(undefined);
    }
  }
  return { head: Buffer.concat(held), replay: replay() };
}

/** Streams the records of one input file. Malformed input throws UserError INPUT_INVALID. */
export async function* parseRecords(raw: AsyncIterable<Uint8Array | string>, options: ParseRecordsOptions): AsyncGenerator<ParsedRecord> {
  const { head, replay: source } = await peek(raw);
  const zip = ZIP_MAGIC.every((b, i) => head[i] === b);
  const named = formatOfName(options.file);
  if ((zip && options.format !== 'csv' && options.format !== 'json') || options.format === 'xlsx' || named === 'xlsx') {
    if (!zip) {
      const message = 'this is not an XLSX workbook (it does not start like one); save it from Excel as "Excel Workbook (.xlsx)", or upload it as CSV';
      throw new UserError('INPUT_INVALID', `${options.file}: ${message}`, { problems: [{ file: options.file, line: 1, message }] });
    }
    let bytesRead = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of source) {
          bytesRead += chunk.length;
          options.onBytes?.(bytesRead);
          yield chunk;
        }
      })(),
    );
    try {
      // ExcelJS is imported for the first XLSX file: a process that reads none does not hold it (~25 MB of RSS).
      const { parseXlsx } = await import('./xlsx-parser.js');
      yield* parseXlsx(counted, options);
    } finally {
      counted.destroy();
    }
    return;
  }
  const text = decodeText(source, { file: options.file, onBytes: options.onBytes });
  let format = options.format ?? named;
  if (format === 'csv' || format === 'json') {
    yield* format === 'csv' ? parseCsv(text, options) : parseJson(text, options);
    return;
  }
  // Sniff: hold the first chunks until a non-blank character shows the format, then replay them.
  const held: string[] = [];
  const iterator = text[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    held.push(next.value);
    const first = /\S/.exec(next.value)?.[0];
    if (first !== undefined) {
      format = first === '[' || first === '{' ? 'json' : 'csv';
      break;
    }
  }
  async function* replay(): AsyncGenerator<string> {
    yield* held;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.(undefined);
    }
  }
  yield* format === 'json' ? parseJson(replay(), options) : parseCsv(replay(), options);
}
