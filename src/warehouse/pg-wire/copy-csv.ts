/**
 * Rows → the CSV text of `COPY … FROM STDIN WITH (FORMAT csv)`. In that format an unquoted empty
 * field is NULL and a quoted one (`""`) is the empty string, so every string is quoted and NULL is
 * left empty; quotes inside are doubled. Newlines inside quoted fields are data, not row ends.
 */
import type { SqlValue } from '../port.js';

/** One value as a CSV field. */
export function csvField(value: SqlValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.includes('"') ? `"${value.replace(/"/g, '""')}"` : `"${value}"`;
  // Numbers print as PostgreSQL reads them (NaN, Infinity, 1e+21 included); booleans as true/false.
  return String(value);
}

/** Rough size of one COPY write; small writes cost a syscall each, huge ones hold memory. */
const CHUNK_CHARS = 256 * 1024;

/**
 * Encodes rows, each followed by its 0-based position (the staging sequence column) unless
 * `withSequence` is false, into CSV text chunks. `check` sees every row first (its width), so that a
 * bad row fails the COPY.
 */
export async function* csvChunks(
  rows: AsyncIterable<readonly SqlValue[]> | Iterable<readonly SqlValue[]>,
  check: (row: readonly SqlValue[], index: number) => void,
  withSequence = true,
): AsyncGenerator<string> {
  let chunk = '';
  let index = 0;
  for await (const row of rows) {
    check(row, index);
    let line = '';
    for (const value of row) line += `${csvField(value)},`;
    chunk += withSequence ? `${line}${index}\n` : `${line.slice(0, -1)}\n`;
    index++;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
