/**
 * The check behind PostgreSQL's `loadCsv` (docs/targets.md, "Large files"): a byte scanner that streams a CSV
 * file and passes it on for `COPY … FROM STDIN WITH (FORMAT csv, FORCE_NULL (…))` only while every value is
 * in a canonical form that COPY reads exactly as the loader's converter (src/ingest/convert-value.ts) would:
 * plain digits for integers, `YYYY-MM-DD` dates, UTC timestamps with at most milliseconds, `true`/`1`/`yes`
 * booleans, any non-blank text for strings, empty for NULL. On the first other value it throws
 * {@link CsvDeclined}; the caller abandons the COPY and the loader's Node path then loads the file (and words
 * the errors). It rewrites each record as it goes: the original line terminator (`\r\n`, `\r`, `\n`) becomes
 * `\n`, the lineage values (and, for a staging table, the record's position) are appended, empty lines and
 * rows of empty values (which the Node parser skips) are dropped. Since every line then ends with the lineage,
 * none is a lone `\.` (COPY's end-of-data mark). No record is parsed into objects: field
 * bounds are found on the bytes and each chunk is written out as one buffer.
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnTypeName } from '../port.js';

/** The lineage columns a loaded file's rows carry (port.ts, `CsvLineage`), appended in this order. */
export const CSV_LINEAGE_COLUMNS = ['_run_id', '_loaded_at', '_source_object'] as const;

/** Why the scanner stopped: the first value (or row) COPY might read differently from the converter. */
export class CsvDeclined extends Error {
  constructor(reason: string) {
    super(`declined for COPY: ${reason}`);
  }
}

/** One field of the file: its column's type, and whether an empty value must not become NULL. */
export interface ScanColumn {
  name: string;
  type: ColumnTypeName;
  /** An empty value is an error (a required column) or a default (not NULL): the file is declined. */
  notEmpty: boolean;
}

/** Types whose canonical form the scanner knows (json is left to the converter, which parses it). */
const SCANNED_TYPES: ReadonlySet<ColumnTypeName> = new Set(['string', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'date', 'timestamp']);

/** True when the scanner can check every column (else the file goes the Node way from the start). */
export function canScan(columns: readonly ScanColumn[]): boolean {
  return columns.length > 0 && columns.every((c) => SCANNED_TYPES.has(c.type));
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const D0 = 48;
/** The converter's limit on a record (DEFAULT_MAX_FIELD_BYTES, in characters): past it, the Node path words the error. */
const MAX_RECORD_BYTES = 1024 * 1024;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Digits of b[s..e) as a number, or -1 when one is not a digit. */
function num(b: Buffer, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i] - D0;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `-?` then 1..max digits. */
function plainInteger(b: Buffer, s: number, e: number, max: number): boolean {
  if (b[s] === MINUS) s++;
  return e > s && e - s <= max && num(b, s, e) >= 0;
}

/** `-?d{1,intMax}(.d{1,fracMax})?`; `noNegativeZero`: `-0.0` is declined (a double keeps its sign, the converter's number does not). */
function plainNumber(b: Buffer, s: number, e: number, intMax: number, fracMax: number, noNegativeZero: boolean): boolean {
  const negative = b[s] === MINUS;
  if (negative) s++;
  let dot = -1;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === DOT && dot === -1) dot = i;
    else if (c < D0 || c > D0 + 9) return false;
  }
  const intEnd = dot === -1 ? e : dot;
  if (intEnd === s || intEnd - s > intMax) return false;
  if (dot !== -1 && (e - dot - 1 < 1 || e - dot - 1 > fracMax)) return false;
  if (negative && noNegativeZero) {
    for (let i = s; i < e; i++) if (b[i] !== D0 && b[i] !== DOT) return true;
    return false;
  }
  return true;
}

/** `YYYY-MM-DD` from year 1000, a day the month has. */
function isoDate(b: Buffer, s: number): boolean {
  if (b[s + 4] !== MINUS || b[s + 7] !== MINUS) return false;
  const y = num(b, s, s + 4);
  const m = num(b, s + 5, s + 7);
  const d = num(b, s + 8, s + 10);
  if (y < 1000 || m < 1 || m > 12 || d < 1) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (m === 2 && leap ? 29 : DAYS_IN_MONTH[m]);
}

/** Two digits at `s` no greater than `max`. */
function twoDigits(b: Buffer, s: number, max: number): boolean {
  const n = num(b, s, s + 2);
  return n >= 0 && n <= max;
}

/**
 * `YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]` and `Z`: no offset (a TIMESTAMP column ignores it, the
 * converter applies it) and at most milliseconds (the converter cuts, COPY rounds microseconds).
 */
function isoTimestamp(b: Buffer, s: number, e: number): boolean {
  if (e - s < 10 || !isoDate(b, s)) return false;
  if (b[e - 1] === 90 /* Z */) e--;
  if (e - s === 10) return true;
  const t = s + 10;
  if ((b[t] !== 84 /* T */ && b[t] !== 32) || e - t < 6 || !twoDigits(b, t + 1, 23) || b[t + 3] !== COLON || !twoDigits(b, t + 4, 59)) return false;
  if (e - t === 6) return true;
  if (e - t < 9 || b[t + 6] !== COLON || !twoDigits(b, t + 7, 59)) return false;
  if (e - t === 9) return true;
  return b[t + 9] === DOT && e - t >= 11 && e - t <= 13 && num(b, t + 10, e) >= 0;
}

const BOOLEAN_WORDS = ['true', 'false', 'yes', 'no', '1', '0'];

function isBooleanWord(b: Buffer, s: number, e: number): boolean {
  const len = e - s;
  outer: for (const w of BOOLEAN_WORDS) {
    if (w.length !== len) continue;
    for (let i = 0; i < len; i++) if ((b[s + i] | 0x20) !== w.charCodeAt(i) && b[s + i] !== w.charCodeAt(i)) continue outer;
    return true;
  }
  return false;
}

/** A string the converter would take as missing (blank after JavaScript's trim), which COPY would keep. */
function blankText(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i];
    // Printable ASCII other than space settles it; other bytes may start Unicode white space.
    if (c > 32 && c < 128) return false;
  }
  return b.toString('utf8', s, e).trim() === '';
}

/** True when b[s..e) (a value's text, quotes removed, no doubled quotes) reads the same in COPY and in the converter. */
function canonical(type: ColumnTypeName, b: Buffer, s: number, e: number): boolean {
  switch (type) {
    case 'string':
      return !blankText(b, s, e);
    case 'integer':
      return plainInteger(b, s, e, 9);
    case 'bigint':
      return plainInteger(b, s, e, 18);
    case 'decimal':
      // 13 digits before the point: rounded to DECIMAL(18,4) it still fits, as the converter's text does.
      return plainNumber(b, s, e, 13, 1000, false);
    case 'double':
      return plainNumber(b, s, e, 15, 17, true);
    case 'boolean':
      return isBooleanWord(b, s, e);
    case 'date':
      return e - s === 10 && isoDate(b, s);
    case 'timestamp':
      return isoTimestamp(b, s, e);
    default:
      return false;
  }
}

/** Double-quoted CSV field text. */
function csvText(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** What the scanner appends to every record: the lineage values, and the record's position when staging. */
export interface CanonicalOptions {
  columns: readonly ScanColumn[];
  /** Values appended to every record (lineage), as text. */
  suffix: readonly string[];
  /** Appends the 0-based position of each record (the staging table's sequence column). */
  withSequence: boolean;
  /** Called with the records passed on so far, every {@link PROGRESS_EVERY} and at the end. */
  onProgress?: (records: number) => void;
}

/** Records between two progress reports. */
export const PROGRESS_EVERY = 5000;

/** Output buffer that grows by doubling. */
class Out {
  buf: Buffer;
  len = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  take(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Streams `source` (UTF-8 CSV, header line first, comma-delimited) as COPY input, checking every value.
 * Throws {@link CsvDeclined} at the first value or row the converter would read differently or refuse.
 */
export async function* canonicalCsv(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, options: CanonicalOptions): AsyncGenerator<Buffer> {
  const { columns, withSequence } = options;
  const width = columns.length;
  const types = columns.map((c) => c.type);
  const notEmpty = columns.map((c) => c.notEmpty);
  const suffix = Buffer.from(options.suffix.map((v) => `,${csvText(v)}`).join(''));
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  const escaped = new Uint8Array(width);
  let carry: Buffer | undefined;
  let header = true;
  let seq = 0;
  let reported = 0;

  const scan = (buf: Buffer, last: boolean): { out: Buffer; rest: Buffer | undefined } => {
    const n = buf.length;
    const out = new Out(n + (n >> 1) + 1024);
    let pos = 0;
    while (pos < n) {
      const c0 = buf[pos];
      if (c0 === LF || c0 === CR) {
        pos++;
        continue;
      }
      const start = pos;
      let field = 0;
      let p = pos;
      let complete = false;
      let contentEnd = -1;
      let next = -1;
      for (;;) {
        if (field === width) throw new CsvDeclined(`a row has more than the header's ${width} fields`);
        if (p < n && buf[p] === QUOTE) {
          let q = p + 1;
          let esc = 0;
          for (;;) {
            q = buf.indexOf(QUOTE, q);
            if (q === -1) break;
            // A quote at the end of a chunk may be the first of a doubled pair; at the end of the file it closes.
            if (q + 1 >= n) {
              if (!last) q = -1;
              break;
            }
            if (buf[q + 1] !== QUOTE) break;
            esc = 1;
            q += 2;
          }
          if (q === -1) break;
          starts[field] = p + 1;
          ends[field] = q;
          escaped[field] = esc;
          p = q + 1;
        } else {
          let q = p;
          while (q < n) {
            const c = buf[q];
            if (c === COMMA || c === LF || c === CR) break;
            if (c === QUOTE) throw new CsvDeclined('a quote inside an unquoted value');
            q++;
          }
          starts[field] = p;
          ends[field] = q;
          escaped[field] = 0;
          p = q;
        }
        field++;
        if (p >= n) {
          if (last) {
            contentEnd = n;
            next = n;
            complete = true;
          }
          break;
        }
        const c = buf[p];
        if (c === COMMA) {
          p++;
          continue;
        }
        if (c === LF || c === CR) {
          contentEnd = p;
          if (c === CR) {
            if (p + 1 >= n && !last) break;
            next = buf[p + 1] === LF ? p + 2 : p + 1;
          } else next = p + 1;
          complete = true;
          break;
        }
        throw new CsvDeclined('text after a closing quote');
      }
      if (!complete) {
        if (n - start > MAX_RECORD_BYTES) throw new CsvDeclined('a row longer than 1 MiB');
        if (last) throw new CsvDeclined('a quoted value never closed');
        return { out: out.take(), rest: buf.subarray(start) };
      }
      if (field !== width) throw new CsvDeclined(`a row with ${field} fields where the header has ${width}`);
      if (contentEnd - start > MAX_RECORD_BYTES) throw new CsvDeclined('a row longer than 1 MiB');
      pos = next;
      if (header) {
        header = false;
        continue;
      }
      let empty = true;
      for (let i = 0; i < width; i++) {
        if (ends[i] > starts[i]) {
          empty = false;
          break;
        }
      }
      // A row of empty values (a spreadsheet's trailing ",,,,") is not a record for the Node parser either.
      if (empty) continue;
      for (let i = 0; i < width; i++) {
        const s = starts[i];
        const e = ends[i];
        if (e === s) {
          if (notEmpty[i]) throw new CsvDeclined(`an empty value in column ${columns[i].name}`);
          continue;
        }
        if (types[i] === 'string') {
          if (blankText(buf, s, e)) throw new CsvDeclined(`a blank value in column ${columns[i].name}`);
        } else if (escaped[i] === 1 || !canonical(types[i], buf, s, e)) {
          throw new CsvDeclined(`a ${types[i]} value not in its plain form in column ${columns[i].name}`);
        }
      }
      const seqText = withSequence ? `,${seq}` : '';
      const len = contentEnd - start;
      out.ensure(len + suffix.length + seqText.length + 1);
      buf.copy(out.buf, out.len, start, contentEnd);
      out.len += len;
      suffix.copy(out.buf, out.len);
      out.len += suffix.length;
      if (seqText) out.len += out.buf.write(seqText, out.len, 'latin1');
      out.buf[out.len++] = LF;
      seq++;
    }
    return { out: out.take(), rest: undefined };
  };

  const check = (bytes: Buffer): void => {
    // Whole records only, so no character is cut: the converter's decoder refuses invalid UTF-8 and NUL.
    if (!isUtf8(bytes)) throw new CsvDeclined('bytes that are not UTF-8');
    if (bytes.indexOf(0) !== -1) throw new CsvDeclined('a NUL byte');
  };

  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const buf = carry ? Buffer.concat([carry, bytes]) : bytes;
    const { out, rest } = scan(buf, false);
    check(rest ? buf.subarray(0, buf.length - rest.length) : buf);
    carry = rest;
    if (Math.floor(seq / PROGRESS_EVERY) > reported) {
      reported = Math.floor(seq / PROGRESS_EVERY);
      options.onProgress?.(seq);
    }
    if (out.length > 0) yield out;
  }
  const { out } = scan(carry ?? Buffer.alloc(0), true);
  if (carry) check(carry);
  if (header || seq === 0) throw new CsvDeclined('no rows after the header');
  if (out.length > 0) yield out;
  options.onProgress?.(seq);
}
