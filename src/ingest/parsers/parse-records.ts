/**
 * The parsers' front door: raw bytes (an object-store stream) → decoded text → CSV or JSON records.
 * The format comes from the file name's extension, or, for an unknown extension, from the first
 * character of the text (`[` or `{` is JSON).
 */
import { decodeText } from './decode-text.js';
import { parseCsv } from './csv-parser.js';
import { parseJson } from './json-parser.js';
import type { ParsedRecord, ParseOptions } from './parsed-record.js';

/** Input formats the parsers read. */
export const INPUT_FORMATS = ['csv', 'json'] as const;
/** One of {@link INPUT_FORMATS}. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The format a file name implies, or undefined when its extension says nothing. */
export function formatOfName(name: string): InputFormat | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === 'csv' || ext === 'tsv' || ext === 'txt') return 'csv';
  if (ext === 'json' || ext === 'ndjson' || ext === 'jsonl') return 'json';
  return undefined;
}

/** Options of {@link parseRecords}. */
export interface ParseRecordsOptions extends ParseOptions {
  /** Forces a format; by default it comes from `file`'s extension, else from the content. */
  format?: InputFormat;
  /** Called with the raw bytes consumed so far. */
  onBytes?: (bytesRead: number) => void;
}

/** Streams the records of one input file. Malformed input throws UserError INPUT_INVALID. */
export async function* parseRecords(source: AsyncIterable<Uint8Array | string>, options: ParseRecordsOptions): AsyncGenerator<ParsedRecord> {
  const text = decodeText(source, { file: options.file, onBytes: options.onBytes });
  let format = options.format ?? formatOfName(options.file);
  if (format) {
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
