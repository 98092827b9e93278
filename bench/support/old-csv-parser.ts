/**
 * BENCH BASELINE, not product code: the ingest path as it was before the own CSV tokenizer and the conversion
 * fast path (main at 5a40ab8), kept verbatim so that bench/parse.ts prints before and after in one run.
 */
/**
 * CSV → records, streaming through csv-parse. The first row is the header; the delimiter (`,` `;` or
 * tab) is detected from the header line; quoted values may hold delimiters, doubled quotes and line
 * breaks. Every malformed input — empty, header only, ragged rows, an unclosed quote, an over-long
 * field — is INPUT_INVALID with the file and the line where the offending row starts.
 */
import { Readable, pipeline } from 'node:stream';
import { CsvError, Parser } from 'csv-parse';
import { UserError } from '../../src/errors.js';
import { DEFAULT_MAX_FIELD_BYTES, type ParsedRecord, type ParseOptions } from '../../src/ingest/parsers/parsed-record.js';

/** Delimiters the detector chooses among, in order of preference on a tie. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;
/** One of {@link CSV_DELIMITERS}. */
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

/** Picks the delimiter that occurs most often outside quotes in the header line (`,` when none does). */
export function detectDelimiter(headerLine: string): CsvDelimiter {
  const counts = new Map<string, number>(CSV_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best: CsvDelimiter = ',';
  for (const d of CSV_DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** Line breaks inside a record's values: a quoted value may span lines. `\r\n` counts once. */
function lineBreaksIn(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.length === 0 || (f.indexOf('\n') === -1 && f.indexOf('\r') === -1)) continue;
    n += f.match(/\r\n|\r|\n/g)?.length ?? 0;
  }
  return n;
}

/** A record and the physical line where it starts. */
interface LocatedRow {
  line: number;
  record: string[];
}

/**
 * csv-parse's Parser, tagging each record with its start line as it is pushed — synchronously, while
 * `info` describes exactly that record, and before the stream buffers it (a stream that errors drops
 * what it buffered, so the bookkeeping must not depend on what the consumer has read). Cheaper than
 * `on_record`, which builds an info snapshot per record.
 */
class LocatingParser extends Parser {
  /** Line where the last record ended. */
  lastEnd = 0;
  /** Empty lines csv-parse had skipped when the last record ended. */
  lastEmpty = 0;
  /** Fields of the first record (the header). */
  headerWidth: number | undefined;

  /** The line where the next record starts, given the empty lines skipped so far. */
  nextStart(emptyLines: number): number {
    return this.lastEnd + 1 + (emptyLines - this.lastEmpty);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null, encoding);
    const record = chunk as string[];
    // csv-parse counts the line where a record ends, and `\r\n` inside quotes twice; the start line is
    // recomputed from the previous record's end and the empty lines skipped since.
    const line = this.nextStart(this.info.empty_lines);
    this.lastEnd = line + lineBreaksIn(record);
    this.lastEmpty = this.info.empty_lines;
    this.headerWidth ??= record.length;
    const located: LocatedRow = { line, record };
    return super.push(located, encoding);
  }
}

function delimiterName(d: CsvDelimiter): string {
  return d === '\t' ? 'tab' : `"${d}"`;
}

function inputInvalid(file: string, line: number | undefined, message: string): UserError {
  return new UserError('INPUT_INVALID', `${file}${line !== undefined ? `, line ${line}` : ''}: ${message}`, { problems: [{ file, line, message }] });
}

/**
 * Parses CSV text (already decoded) into records keyed by header name. Never holds more than one
 * record and the parser's buffers in memory.
 */
export async function* parseCsv(text: AsyncIterable<string>, options: ParseOptions): AsyncGenerator<ParsedRecord> {
  const { file } = options;
  const maxField = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const iterator = text[Symbol.asyncIterator]();

  // Read up to the end of the header line, the first non-blank one (bounded, so that a file without line breaks cannot grow it).
  let head = '';
  let ended = false;
  while (!/\S[^\n]*\n/.test(head) && head.length <= maxField) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head += next.value;
  }
  if (ended && head.trim() === '') throw inputInvalid(file, undefined, 'the file is empty; expected a header line and at least one row');
  const firstLine = (/\S[^\n]*/.exec(head)?.[0] ?? '').replace(/\r$/, '');
  const delimiter = detectDelimiter(firstLine);

  async function* all(): AsyncGenerator<string> {
    if (head) yield head;
    if (ended) return;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  const parser = new LocatingParser({
    delimiter,
    bom: true,
    // Files stitched together from several sources mix line endings; any of them ends a record.
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    max_record_size: maxField,
    relax_column_count: false,
  });
  const source = Readable.from(all(), { objectMode: true });
  // Errors surface through the parser's iterator below; the callback only has to exist.
  pipeline(source, parser, () => undefined);

  let header: string[] | undefined;
  let keep: number[] = [];
  let rows = 0;
  try {
    for await (const item of parser as AsyncIterable<LocatedRow>) {
      const { record, line: start } = item;
      if (!header) {
        header = record.map((h) => h.trim());
        const seen = new Map<string, number>();
        header.forEach((name, i) => {
          if (name === '') return;
          const key = name.toLowerCase();
          if (seen.has(key)) throw inputInvalid(file, start, `the header has the column "${name}" twice (columns ${seen.get(key)! + 1} and ${i + 1}); expected unique column names`);
          seen.set(key, i);
        });
        // Columns with an empty header (a trailing delimiter, typically) cannot map to anything.
        keep = header.flatMap((name, i) => (name === '' ? [] : [i]));
        if (keep.length === 0) throw inputInvalid(file, start, 'the header line has no column names; expected a header line naming the columns');
        options.onHeader?.(keep.map((i) => header![i]));
        continue;
      }
      // Spreadsheet exports end with rows of bare delimiters (",,,,"): they are not records. (Skipped
      // here rather than by csv-parse, whose skipping would hide their lines from the bookkeeping.)
      if (record.every((f) => f.trim() === '')) continue;
      const out: Record<string, unknown> = {};
      for (const i of keep) out[header[i]] = record[i];
      rows++;
      yield { line: start, record: out };
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (err instanceof CsvError) {
      const e = err as CsvError & { empty_lines?: number; record?: unknown[] };
      const line = parser.nextStart(typeof e.empty_lines === 'number' ? e.empty_lines : parser.lastEmpty);
      switch (err.code) {
        case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
        case 'CSV_RECORD_INCONSISTENT_COLUMNS': {
          const got = Array.isArray(e.record) ? e.record.length : undefined;
          throw inputInvalid(
            file,
            line,
            `the row has ${got ?? 'a different number of'} fields but the header has ${parser.headerWidth ?? '?'} (separated by ${delimiterName(delimiter)}); a value containing ${delimiterName(delimiter)} must be quoted`,
          );
        }
        case 'CSV_QUOTE_NOT_CLOSED':
          throw inputInvalid(file, line, 'a quoted value that starts in this row is never closed; expected a closing " (quotes inside a value are doubled: "")');
        case 'CSV_MAX_RECORD_SIZE':
          throw inputInvalid(file, line, `a row (or a value in it) is longer than the limit of ${maxField} characters; check the quotes and the delimiter, or raise the limit`);
        case 'CSV_INVALID_CLOSING_QUOTE':
        case 'INVALID_OPENING_QUOTE':
        case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
          throw inputInvalid(file, line, 'a quote appears inside an unquoted value or after a closing quote; expected quoted values with inner quotes doubled ("")');
        default:
          throw inputInvalid(file, line, `the CSV cannot be read: ${err.message}`);
      }
    }
    throw err;
  } finally {
    // Ends the pipeline (and the upstream object stream) when the consumer stops early.
    if (!parser.destroyed) parser.destroy();
    if (!source.destroyed) source.destroy();
    await iterator.return?.();
  }
  if (!header) throw inputInvalid(file, undefined, 'the file is empty; expected a header line and at least one row');
  if (rows === 0) throw inputInvalid(file, undefined, 'the file has a header but no rows; expected at least one row after the header');
}
