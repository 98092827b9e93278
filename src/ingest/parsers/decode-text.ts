/**
 * Bytes → text for the parsers, streaming. UTF-8 is the default; a byte-order mark selects UTF-8,
 * UTF-16 LE or UTF-16 BE and is dropped. Anything else — invalid UTF-8 (Windows-1252 exports, for
 * instance), binary files, UTF-16 without a BOM — is INPUT_INVALID naming the line, instead of
 * silently loading mojibake.
 */
import { TextDecoder } from 'node:util';
import { UserError } from '../../errors.js';

/** Encodings the decoder accepts. */
export const TEXT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be'] as const;
/** One of {@link TEXT_ENCODINGS}. */
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** Options of {@link decodeText}. */
export interface DecodeOptions {
  /** Name of the input in error messages. */
  file: string;
  /** Called with the number of raw bytes consumed so far (for progress). */
  onBytes?: (bytesRead: number) => void;
}

function sniffEncoding(head: Uint8Array): TextEncoding {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/** File signatures of formats people upload by mistake, with what to do instead. */
const NOT_TEXT: ReadonlyArray<{ magic: number[]; what: string }> = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive or an Excel workbook (XLSX); save the sheet as CSV (UTF-8) and upload that' },
  { magic: [0xd0, 0xcf, 0x11, 0xe0], what: 'an old Excel workbook (XLS); save the sheet as CSV (UTF-8) and upload that' },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document; upload the data as CSV or JSON' },
  { magic: [0x1f, 0x8b], what: 'a gzip-compressed file; decompress it and upload the CSV or JSON inside' },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG image; upload the data as CSV or JSON' },
];

/** The kind of binary file `head` starts like, or undefined. Content types and extensions are not trusted (OWASP). */
function binaryKind(head: Uint8Array): string | undefined {
  return NOT_TEXT.find(({ magic }) => head.length >= magic.length && magic.every((b, i) => head[i] === b))?.what;
}

function countNewlines(text: string, end = text.length): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/**
 * Decodes a byte stream to text chunks. Throws UserError INPUT_INVALID with the 1-based line of the
 * first undecodable byte or NUL character.
 */
export async function* decodeText(source: AsyncIterable<Uint8Array | string>, options: DecodeOptions): AsyncGenerator<string> {
  const { file } = options;
  let decoder: TextDecoder | undefined;
  let encoding: TextEncoding = 'utf-8';
  let pending: Uint8Array | undefined;
  let linesBefore = 0;
  let bytesRead = 0;

  const invalid = (bytes: Uint8Array): UserError => {
    // Locate the first bad byte: decode the failing chunk leniently and find the replacement character.
    const lenient = new TextDecoder(encoding).decode(bytes);
    const at = lenient.indexOf('\uFFFD');
    const line = linesBefore + countNewlines(lenient, at === -1 ? lenient.length : at) + 1;
    return new UserError('INPUT_INVALID', `${file}, line ${line}: the file is not valid ${encoding === 'utf-8' ? 'UTF-8' : encoding.toUpperCase()} text; save it as UTF-8 (or UTF-16 with a byte-order mark)`, {
      problems: [{ file, line, message: `not valid ${encoding} text` }],
    });
  };

  const emit = (text: string): string => {
    const nul = text.indexOf('\u0000');
    if (nul !== -1) {
      const line = linesBefore + countNewlines(text, nul) + 1;
      throw new UserError('INPUT_INVALID', `${file}, line ${line}: the file contains a NUL character, so it is binary or UTF-16 without a byte-order mark; expected UTF-8 text (or UTF-16 with a byte-order mark)`, {
        problems: [{ file, line, message: 'binary content (NUL character)' }],
      });
    }
    linesBefore += countNewlines(text);
    return text;
  };

  for await (const chunk of source) {
    let bytes = toBytes(chunk);
    bytesRead += bytes.length;
    options.onBytes?.(bytesRead);
    if (!decoder) {
      // The BOM needs up to 3 bytes; a first chunk shorter than that waits for the next one.
      if (pending) bytes = Buffer.concat([pending, bytes]);
      if (bytes.length < 3) {
        pending = bytes;
        continue;
      }
      pending = undefined;
      const kind = binaryKind(bytes);
      if (kind) throw new UserError('INPUT_INVALID', `${file}: this is ${kind}`, { problems: [{ file, line: 1, message: `not text: ${kind}` }] });
      encoding = sniffEncoding(bytes);
      decoder = new TextDecoder(encoding, { fatal: true });
    }
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      throw invalid(bytes);
    }
    if (text) yield emit(text);
  }
  if (!decoder) {
    if (!pending || pending.length === 0) return;
    encoding = sniffEncoding(pending);
    decoder = new TextDecoder(encoding, { fatal: true });
    try {
      const text = decoder.decode(pending, { stream: true });
      if (text) yield emit(text);
    } catch {
      throw invalid(pending);
    }
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw invalid(new Uint8Array([0xff]));
  }
  if (tail) yield emit(tail);
}
