/**
 * The byte-level checks that decide whether DuckDB's `read_csv` may read an uploaded file in place of the
 * loader's CSV parser (src/ingest/parsers/csv-reader.ts): comma-separated (the only files the loader offers), a header
 * on the first line, no byte-order mark, and quotes only where the parser accepts them. `read_csv` is more
 * lenient about quotes (`x"y` unquoted, spaces after a closing quote), so a file with such a quote is left
 * to the parser, which reports the line. Only the quotes are looked at (memchr), so a file without any is
 * checked at the speed of reading it.
 */
import { open } from 'node:fs/promises';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
/** A header line longer than this is left to the parser (it reads the first line in chunks of its own). */
const MAX_HEADER_BYTES = 64 * 1024;

/** Tracks quoted values across chunks: a quote opens only at a value's start and closes before a delimiter, a line break or the end. */
class QuoteChecker {
  private inQuote = false;
  /** A quote ended the previous chunk inside a quoted value: the next byte says whether it closed it. */
  private closing = false;
  /** The byte before the current chunk (-1 at the start of the file). */
  private before = -1;
  ok = true;

  private ends(byte: number): boolean {
    return byte === COMMA || byte === LF || byte === CR;
  }

  feed(buf: Buffer): void {
    let pos = 0;
    if (this.closing && buf.length > 0) {
      this.closing = false;
      if (buf[0] === QUOTE) pos = 1;
      else if (this.ends(buf[0])) this.inQuote = false;
      else this.ok = false;
    }
    while (this.ok && pos < buf.length) {
      const q = buf.indexOf(QUOTE, pos);
      if (q === -1) break;
      if (!this.inQuote) {
        const prev = q > 0 ? buf[q - 1] : this.before;
        if (prev !== -1 && !this.ends(prev)) this.ok = false;
        this.inQuote = true;
        pos = q + 1;
      } else if (q + 1 >= buf.length) {
        this.closing = true;
        break;
      } else if (buf[q + 1] === QUOTE) pos = q + 2;
      else if (this.ends(buf[q + 1])) {
        this.inQuote = false;
        pos = q + 1;
      } else this.ok = false;
    }
    if (buf.length > 0) this.before = buf[buf.length - 1];
  }

  /** True when every quoted value was closed properly. */
  end(): boolean {
    return this.ok && (!this.inQuote || this.closing);
  }
}

/** The file is read in reads of this size into one buffer, reused: no garbage per chunk (bench/README.md, duck-ingest 2). */
const READ_BYTES = 1 << 20;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Reads the file at `path` once and answers whether `read_csv` may read it (comma-separated, quotes as in RFC 4180),
 * false when the loader's parser must: a byte-order mark (other than one UTF-8 mark at the start, which the loader
 * drops too), a blank or over-long first line, a lone `\r` in it (the parser would then read the delimiter from more
 * than the header), or a quote the parser refuses. Stops reading, answering false, once `signal` is aborted.
 */
export async function csvShapeFits(path: string, signal?: AbortSignal): Promise<boolean> {
  const file = await open(path, 'r');
  let checker: QuoteChecker | undefined;
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let head: Buffer = Buffer.alloc(0);
    let first = true;
    for (;;) {
      if (signal?.aborted) return false;
      const { bytesRead } = await file.read(buf, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      let chunk = buf.subarray(0, bytesRead);
      if (first && chunk.length >= 3 && UTF8_BOM.every((b, i) => chunk[i] === b)) chunk = chunk.subarray(3);
      first = false;
      if (!checker) {
        // The header is copied out: `buf` is overwritten by the next read.
        head = Buffer.concat([head, chunk]);
        const lf = head.indexOf(LF);
        if (lf === -1) {
          if (head.length > MAX_HEADER_BYTES) return false;
          continue;
        }
        if (head[0] === 0xef || head[0] === 0xfe || head[0] === 0xff) return false;
        const line = head.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        if (line.includes('\r') || line.trim() === '') return false;
        checker = new QuoteChecker();
        checker.feed(head);
        head = Buffer.alloc(0);
      } else checker.feed(chunk);
      if (!checker.ok) return false;
    }
  } finally {
    await file.close();
  }
  return checker?.end() ?? false;
}
