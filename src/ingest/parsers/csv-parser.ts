/**
 * CSV → records, streaming through our own tokenizer (csv-reader.ts). The first row is the header; the delimiter (`,` `;` or
 * tab) is detected from the header line; quoted values may hold delimiters, doubled quotes and line
 * breaks. Every malformed input — empty, header only, ragged rows, an unclosed quote, an over-long
 * field — is INPUT_INVALID with the file and the line where the offending row starts.
 */
import { UserError } from '../../errors.js';
import { CsvReader, CsvSyntaxError, type LocatedFields } from './csv-reader.js';
import { DEFAULT_MAX_FIELD_BYTES, type ParsedRecord, type ParseOptions } from './parsed-record.js';

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

/** True for a record of blank values only. */
function isBlank(record: readonly string[]): boolean {
  for (const f of record) if (f.length > 0 && f.trim() !== '') return false;
  return true;
}

function delimiterName(d: CsvDelimiter): string {
  return d === '\t' ? 'tab' : `"${d}"`;
}

function inputInvalid(file: string, line: number | undefined, message: string): UserError {
  return new UserError('INPUT_INVALID', `${file}${line !== undefined ? `, line ${line}` : ''}: ${message}`, { problems: [{ file, line, message }] });
}

/**
 * Parses CSV text (already decoded) into records keyed by header name. Never holds more than one
 * decoded chunk, its records and the start of an unfinished record in memory.
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

  const reader = new CsvReader(delimiter, maxField);
  let header: string[] | undefined;
  let names: string[] = [];
  let keep: number[] = [];
  let rows = 0;
  const batch: LocatedFields[] = [];
  try {
    let chunk = head;
    let last = ended;
    for (;;) {
      batch.length = 0;
      reader.feed(chunk, last, batch);
      for (const { fields: record, line: start } of batch) {
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
          names = keep.map((i) => header![i]);
          options.onHeader?.(names);
          continue;
        }
        // Spreadsheet exports end with rows of bare delimiters (",,,,"): they are not records.
        if (isBlank(record)) continue;
        const out: Record<string, unknown> = {};
        for (let k = 0; k < keep.length; k++) out[names[k]] = record[keep[k]];
        rows++;
        yield { line: start, record: out };
      }
      if (last) break;
      const next = await iterator.next();
      if (next.done) {
        chunk = '';
        last = true;
      } else chunk = next.value;
    }
  } catch (err) {
    if (err instanceof CsvSyntaxError) {
      const line = err.line;
      switch (err.code) {
        case 'INCONSISTENT_FIELDS':
          throw inputInvalid(
            file,
            line,
            `the row has ${err.fields ?? 'a different number of'} fields but the header has ${reader.width ?? '?'} (separated by ${delimiterName(delimiter)}); a value containing ${delimiterName(delimiter)} must be quoted`,
          );
        case 'QUOTE_NOT_CLOSED':
          throw inputInvalid(file, line, 'a quoted value that starts in this row is never closed; expected a closing " (quotes inside a value are doubled: "")');
        case 'MAX_RECORD_SIZE':
          throw inputInvalid(file, line, `a row (or a value in it) is longer than the limit of ${maxField} characters; check the quotes and the delimiter, or raise the limit`);
        case 'INVALID_QUOTE':
          throw inputInvalid(file, line, 'a quote appears inside an unquoted value or after a closing quote; expected quoted values with inner quotes doubled ("")');
      }
    }
    throw err;
  } finally {
    // Ends the upstream text stream when the consumer stops early.
    await iterator.return?.();
  }
  if (!header) throw inputInvalid(file, undefined, 'the file is empty; expected a header line and at least one row');
  if (rows === 0) throw inputInvalid(file, undefined, 'the file has a header but no rows; expected at least one row after the header');
}
