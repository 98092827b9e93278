/**
 * CSV as RFC 4180 has it — comma-separated, CRLF line ends, a field quoted when it holds a comma, quote,
 * CR or LF, quotes doubled — in UTF-8 with a byte-order mark, without which Excel reads UTF-8 as the
 * machine's ANSI code page and mangles every accent. Values are the query's own (durations in seconds,
 * percentages as fractions); formula-like text is made inert. Written batch by batch, waiting on the
 * output, so memory does not grow with the rows.
 */
import type { Writable } from 'node:stream';
import type { AnswerStream } from '../serving/types.js';
import { csvText } from './cell-values.js';
import { columnHeader } from './describe.js';
import type { ExportOptions, ExportSummary } from './export-options.js';
import { inertText } from './inert.js';
import { endStream, writeChunk } from './stream-wait.js';

const BOM = '\uFEFF';
const NEEDS_QUOTES = /[",\r\n]/;

/** One field, quoted when RFC 4180 asks for it. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes the answer as CSV to `out` and ends it. */
export async function writeCsv(answer: AnswerStream, out: Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  const { signal } = options;
  const columns = answer.columns;
  try {
    await writeChunk(out, BOM + columns.map((c) => csvField(inertText(columnHeader(c)))).join(',') + '\r\n', signal);
    let rows = 0;
    for await (const batch of answer.batches) {
      signal?.throwIfAborted();
      let chunk = '';
      for (const row of batch) {
        let line = '';
        for (let i = 0; i < columns.length; i++) {
          if (i > 0) line += ',';
          line += csvField(csvText(row[columns[i].key], columns[i]));
        }
        chunk += line + '\r\n';
      }
      rows += batch.length;
      await writeChunk(out, chunk, signal);
      options.onRows?.(rows);
    }
    await endStream(out, signal);
    return { rows, sheets: [] };
  } catch (err) {
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
