/**
 * Bytes → text for the parsers, streaming. UTF-8 is the default; a byte-order mark selects UTF-8,
 * UTF-16 LE or UTF-16 BE and is dropped. A file whose first chunk is not valid UTF-8 is read as
 * Windows-1252 — what Excel on Windows saves as "CSV (Comma delimited)" — since every byte of it decodes
 * and it is by far the most common non-UTF-8 input. Anything else — invalid UTF-8 after a valid start,
 * binary files, UTF-16 without a BOM — is INPUT_INVALID naming the line, instead of silently loading
 * mojibake.
 */
import { TextDecoder } from 'node:util';
import { UserError } from '../../errors.js';

/** Encodings the decoder accepts. */
export const TEXT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252'] as const;
/** One of {@link TEXT_ENCODINGS}. */
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** Options of {@link decodeText}. */
export interface DecodeOptions {
  /** Name of the input in error messages. */
  file: string;
  /** Called with the number of raw bytes consumed so far (for progress). */
  onBytes?: (bytesRead: number) => void;
  /** Called once with the encoding the input was read in. */
  onEncoding?: (encoding: TextEncoding) => void;
}

/**
 * Windows-1252's bytes 0x80–0x9F (the rest is Latin-1). Node's TextDecoder reads the `windows-1252`
 * label as plain Latin-1 (0x80 → U+0080 instead of €), so the table is applied here.
 */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/** A decoder with TextDecoder's `decode(bytes, { stream })` shape for Windows-1252 (every byte decodes). */
function windows1252Decoder(): Pick<TextDecoder, 'decode'> {
  return {
    decode: (bytes?: Uint8Array) => {
      if (!bytes) return '';
      let out = '';
      for (let i = 0; i < bytes.length; i += 8192) {
        const part = bytes.subarray(i, i + 8192);
        out += String.fromCharCode(...Array.from(part, (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : b)));
      }
      return out;
    },
  };
}

/** True when `bytes` (a first chunk, possibly cut mid-character at its end) is valid UTF-8. */
function isUtf8Start(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** How much of the input decides its encoding. */
const SNIFF_BYTES = 64 * 1024;

function sniffEncoding(head: Uint8Array): TextEncoding {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/** File signatures of formats people upload by mistake, with what to do instead. */
const NOT_TEXT: ReadonlyArray<{ magic: number[]; what: string }> = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive or an Excel workbook (XLSX), not text; upload a workbook without forcing the CSV or JSON format' },
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
  let decoder: Pick<TextDecoder, 'decode'> | undefined;
  let encoding: TextEncoding = 'utf-8';
  let pending: Uint8Array | undefined;
  let linesBefore = 0;
  let bytesRead = 0;

  const invalid = (bytes: Uint8Array): UserError => {
    // Locate the first bad byte: decode the failing chunk leniently and find the replacement character.
    const lenient = new TextDecoder(encoding).decode(bytes);
    const at = lenient.indexOf('\uFFFD');
    const line = linesBefore + countNewlines(lenient, at === -1 ? lenient.length : at) + 1;
    const how =
      encoding === 'utf-8'
        ? 'it starts as UTF-8 but is not UTF-8 from here on (mixed encodings); in Excel, save it as "CSV UTF-8 (Comma delimited)"'
        : `it is not valid ${encoding.toUpperCase()} text; save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")`;
    return new UserError('INPUT_INVALID', `${file}, line ${line}: ${how}`, {
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
      // The encoding is decided on the first SNIFF_BYTES (or the whole input, when shorter): the BOM,
      // or whether that much is valid UTF-8, whatever size the source's chunks are.
      if (pending) bytes = Buffer.concat([pending, bytes]);
      if (bytes.length < SNIFF_BYTES) {
        pending = bytes;
        continue;
      }
      pending = undefined;
      const kind = binaryKind(bytes);
      if (kind) throw new UserError('INPUT_INVALID', `${file}: this is ${kind}`, { problems: [{ file, line: 1, message: `not text: ${kind}` }] });
      encoding = sniffEncoding(bytes);
      if (encoding === 'utf-8' && !isUtf8Start(bytes)) encoding = 'windows-1252';
      decoder = encoding === 'windows-1252' ? windows1252Decoder() : new TextDecoder(encoding, { fatal: true });
      options.onEncoding?.(encoding);
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
    const kind = binaryKind(pending);
    if (kind) throw new UserError('INPUT_INVALID', `${file}: this is ${kind}`, { problems: [{ file, line: 1, message: `not text: ${kind}` }] });
    encoding = sniffEncoding(pending);
    if (encoding === 'utf-8' && !isUtf8Start(pending)) encoding = 'windows-1252';
    decoder = encoding === 'windows-1252' ? windows1252Decoder() : new TextDecoder(encoding, { fatal: true });
    options.onEncoding?.(encoding);
    let text: string;
    try {
      text = decoder.decode(pending, { stream: true });
    } catch {
      throw invalid(pending);
    }
    if (text) yield emit(text);
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw invalid(new Uint8Array([0xff]));
  }
  if (tail) yield emit(tail);
}
