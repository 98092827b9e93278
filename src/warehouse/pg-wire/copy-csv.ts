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

/** Rows per COPY write; small writes cost a syscall each, huge ones hold memory. */
const CHUNK_ROWS = 2048;

/**
 * Encodes rows, each followed by its 0-based position (the staging sequence column) unless
 * `withSequence` is false, into CSV text chunks. `check` sees every row first (its width), so that a
 * bad row fails the COPY. Each row's line is built once and a chunk joined once: appending to one
 * growing string instead made ~1M intermediate strings per million rows, and the garbage collector
 * took longer than the encoding.
 */
export async function* csvChunks(
  rows: AsyncIterable<readonly SqlValue[]> | Iterable<readonly SqlValue[]>,
  check: (row: readonly SqlValue[], index: number) => void,
  withSequence = true,
): AsyncGenerator<string> {
  let lines: string[] = [];
  let index = 0;
  for await (const row of rows) {
    check(row, index);
    const n = row.length;
    let line = n > 0 ? csvField(row[0]) : '';
    for (let i = 1; i < n; i++) line += ',' + csvField(row[i]);
    lines.push(withSequence ? (n > 0 ? `${line},${index}` : String(index)) : line);
    index++;
    if (lines.length === CHUNK_ROWS) {
      lines.push('');
      yield lines.join('\n');
      lines = [];
    }
  }
  if (lines.length > 0) {
    lines.push('');
    yield lines.join('\n');
  }
}
