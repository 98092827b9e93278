/**
 * The RFC 4180 tokenizer under csv-parser.ts: decoded text in, records (arrays of strings) out, each
 * tagged with the physical line where it starts. Written for the ingest path's speed (csv-parse
 * re-encoded our decoded text to bytes and back, and paid for options we never use); it keeps the
 * rules csv-parse applied with our options:
 *
 * - a value is quoted only when `"` is its first character; inside, `""` is a quote and delimiters and
 *   line breaks are text; after the closing quote comes a delimiter, a line break or the end;
 * - `\r\n`, `\n` and `\r` each end a record (and count as one line, inside quotes too);
 * - empty lines are skipped; a leading BOM is dropped;
 * - every record has as many fields as the first (the header);
 * - a record's text (its values, without quotes and delimiters) is at most `maxRecord` characters.
 *
 * Violations throw {@link CsvSyntaxError} with the line where the offending record starts.
 */

/** Why the text is not CSV, and where the record that breaks it starts. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly code: 'INCONSISTENT_FIELDS' | 'QUOTE_NOT_CLOSED' | 'MAX_RECORD_SIZE' | 'INVALID_QUOTE',
    readonly line: number,
    /** Fields of the offending record (INCONSISTENT_FIELDS). */
    readonly fields?: number,
  ) {
    super(`${code} at line ${line}`);
  }
}

/** A record and the physical line where it starts. */
export interface LocatedFields {
  line: number;
  fields: string[];
}

const LF = 10;
const CR = 13;
const QUOTE = 34;

/** Line breaks in a quoted value; `\r\n` counts once. */
function lineBreaksIn(value: string): number {
  if (value.indexOf('\n') === -1 && value.indexOf('\r') === -1) return 0;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === LF) n++;
    else if (c === CR) {
      n++;
      if (value.charCodeAt(i + 1) === LF) i++;
    }
  }
  return n;
}

/** Thrown inside {@link CsvReader.feed} when the rest of the record is still to come. */
const NEED_MORE = Symbol('need more');

/** A streaming CSV tokenizer: {@link feed} it text chunks in order, the last with `last = true`. */
export class CsvReader {
  /** Unparsed text: the start of a record whose end has not arrived yet. */
  private pending = '';
  /** Physical line where {@link pending} starts. */
  private line = 1;
  private started = false;
  /** Fields of the first record (the header). */
  width: number | undefined;
  private readonly delimiter: number;

  constructor(
    delimiter: string,
    private readonly maxRecord: number,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** Tokenizes `text` (after what came before), appending every complete record to `out`. */
  feed(text: string, last: boolean, out: LocatedFields[]): void {
    let buf = this.pending.length > 0 ? this.pending + text : text;
    if (!this.started && buf.length > 0) {
      this.started = true;
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
    }
    const n = buf.length;
    const d = this.delimiter;
    const max = this.maxRecord;
    let pos = 0;
    let line = this.line;
    while (pos < n) {
      const c0 = buf.charCodeAt(pos);
      // An empty line (skipped, but counted).
      if (c0 === LF || c0 === CR) {
        if (c0 === CR && pos + 1 >= n && !last) break;
        pos += c0 === CR && buf.charCodeAt(pos + 1) === LF ? 2 : 1;
        line++;
        continue;
      }
      const start = pos;
      const fields: string[] = [];
      let size = 0;
      let breaks = 0;
      let end = -1;
      try {
        for (;;) {
          let value: string;
          let p: number;
          if (pos < n && buf.charCodeAt(pos) === QUOTE) {
            p = pos + 1;
            let seg = p;
            value = '';
            for (;;) {
              const q = buf.indexOf('"', p);
              if (q === -1) {
                if (size + value.length + (n - seg) > max) throw new CsvSyntaxError('MAX_RECORD_SIZE', line);
                if (!last) throw NEED_MORE;
                throw new CsvSyntaxError('QUOTE_NOT_CLOSED', line);
              }
              if (q + 1 >= n && !last) {
                if (size + value.length + (q - seg) > max) throw new CsvSyntaxError('MAX_RECORD_SIZE', line);
                throw NEED_MORE;
              }
              if (buf.charCodeAt(q + 1) === QUOTE) {
                value += buf.slice(seg, q + 1);
                p = q + 2;
                seg = p;
                continue;
              }
              value += buf.slice(seg, q);
              p = q + 1;
              break;
            }
            breaks += lineBreaksIn(value);
            if (p < n) {
              const c = buf.charCodeAt(p);
              if (c !== d && c !== LF && c !== CR) throw new CsvSyntaxError('INVALID_QUOTE', line);
            }
          } else {
            p = pos;
            let c = 0;
            while (p < n) {
              c = buf.charCodeAt(p);
              if (c === d || c === LF || c === CR || c === QUOTE) break;
              p++;
            }
            if (p < n && c === QUOTE) throw new CsvSyntaxError('INVALID_QUOTE', line);
            if (p >= n && !last) {
              if (size + (p - pos) > max) throw new CsvSyntaxError('MAX_RECORD_SIZE', line);
              throw NEED_MORE;
            }
            value = buf.slice(pos, p);
          }
          size += value.length;
          if (size > max) throw new CsvSyntaxError('MAX_RECORD_SIZE', line);
          fields.push(value);
          if (p >= n) {
            end = n;
            break;
          }
          const c = buf.charCodeAt(p);
          if (c === d) {
            pos = p + 1;
            if (pos >= n && !last) throw NEED_MORE;
            continue;
          }
          // A line break ends the record; `\r` at the end of a chunk may be the start of `\r\n`.
          if (c === CR) {
            if (p + 1 >= n && !last) throw NEED_MORE;
            end = buf.charCodeAt(p + 1) === LF ? p + 2 : p + 1;
          } else end = p + 1;
          break;
        }
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        pos = start;
        break;
      }
      if (this.width === undefined) this.width = fields.length;
      else if (fields.length !== this.width) throw new CsvSyntaxError('INCONSISTENT_FIELDS', line, fields.length);
      out.push({ line, fields });
      line += breaks + 1;
      pos = end;
    }
    this.pending = pos < n ? buf.slice(pos) : '';
    this.line = line;
  }
}
