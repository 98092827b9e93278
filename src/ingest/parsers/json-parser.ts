/**
 * JSON → records, streaming through stream-json's tokenizer: a top-level array of objects, or
 * NDJSON / concatenated objects. Nested objects are flattened to `parent_child` fields; arrays (and
 * objects a target keeps whole, its `json` columns) become JSON text.
 *
 * The text is fed to the tokenizer one line segment at a time, so a record's `startObject` token is
 * attributed to the physical line it appears on — stream-json itself reports no positions.
 */
import { none, isMany, getManyValues } from 'stream-chain/core';
import { jsonParser } from 'stream-json/parser.js';
import type { Token } from 'stream-json/parser.js';
import { UserError } from '../../errors.js';
import { DEFAULT_MAX_FIELD_BYTES, type ParsedRecord, type ParseOptions } from './parsed-record.js';

/** A JSON record may be this many times the field limit (CSV caps the whole row at the field limit). */
const JSON_RECORD_FIELDS = 4;

/** The tokenizer as stream-chain calls it: a text chunk, or `none` to flush at the end. */
type Tokenizer = (chunk: string | typeof none) => unknown;

type Container = { kind: 'object'; value: Record<string, unknown>; key: string | undefined } | { kind: 'array'; value: unknown[] };

function inputInvalid(file: string, line: number | undefined, message: string): UserError {
  return new UserError('INPUT_INVALID', `${file}${line !== undefined ? `, line ${line}` : ''}: ${message}`, { problems: [{ file, line, message }] });
}

/** JSON numbers become JS numbers unless that would lose digits (big integers, long decimals stay text). */
function jsonNumber(text: string): number | string {
  const n = Number(text);
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  return text.replace(/[-.eE+]/g, '').replace(/^0+/, '').length > 15 ? text : n;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'string' ? 'a string' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'a boolean' : typeof value;
}

/** Flattens nested objects into `parent_child` fields; arrays and kept objects become JSON text. */
export function flattenRecord(
  obj: Record<string, unknown>,
  keepAsJson?: ReadonlySet<string>,
  keepArrays = false,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}_${k}` : k;
    if (Array.isArray(v)) out[name] = keepArrays ? v : JSON.stringify(v);
    else if (v !== null && typeof v === 'object') {
      if (keepAsJson?.has(name.trim().toLowerCase())) out[name] = JSON.stringify(v);
      else flattenRecord(v as Record<string, unknown>, keepAsJson, keepArrays, name, out);
    } else out[name] = v;
  }
  return out;
}

/** Parses JSON text (already decoded) into flattened records, one object at a time. */
export async function* parseJson(text: AsyncIterable<string>, options: ParseOptions): AsyncGenerator<ParsedRecord> {
  const { file } = options;
  const maxField = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  let mode: 'array' | 'stream' | undefined;
  let tokenizer: Tokenizer | undefined;
  let line = 1;
  let records = 0;
  let elements = 0;
  // Characters fed since the tokenizer last produced a token: one lexeme (a string, a number) longer
  // than the field limit would otherwise be buffered whole inside the tokenizer.
  let sinceToken = 0;
  /** A record may hold several fields of the maximum size, but not without bound. */
  const maxRecord = JSON_RECORD_FIELDS * maxField;
  let recordChars = 0;
  const piece = Math.max(64, Math.min(64 * 1024, Math.floor(maxRecord / 8)));
  let finished = false;

  const stack: Container[] = [];
  let recordLine = 0;
  const ready: ParsedRecord[] = [];
  // `[` of the top-level array opens no container of ours: records are its elements.
  let arrayOpen = false;

  const put = (value: unknown): void => {
    const top = stack[stack.length - 1];
    if (!top) return;
    if (top.kind === 'array') top.value.push(value);
    else if (top.key !== undefined) {
      top.value[top.key] = value;
      top.key = undefined;
    }
  };

  const notObject = (value: unknown): never => {
    throw inputInvalid(
      file,
      line,
      mode === 'array'
        ? `element ${elements} of the array is ${describe(value)}, not an object; expected an array of objects`
        : `a top-level value is ${describe(value)}, not an object; expected one JSON object per line`,
    );
  };

  const onToken = (t: Token): void => {
    const depth = stack.length;
    switch (t.name) {
      case 'startObject':
      case 'startArray': {
        if (mode === 'array' && !arrayOpen) {
          arrayOpen = true;
          return;
        }
        const atRecord = depth === 0;
        if (atRecord) {
          elements++;
          if (t.name === 'startArray') notObject([]);
          recordLine = line;
        }
        const container: Container = t.name === 'startObject' ? { kind: 'object', value: {}, key: undefined } : { kind: 'array', value: [] };
        stack.push(container);
        return;
      }
      case 'endObject':
      case 'endArray': {
        if (depth === 0) {
          // The end of the top-level array: anything after it is a syntax error the tokenizer reports.
          finished = true;
          return;
        }
        const done = stack.pop()!;
        if (stack.length === 0) {
          records++;
          recordChars = 0;
          ready.push({ line: recordLine, record: flattenRecord(done.value as Record<string, unknown>, options.keepAsJson, options.keepArrays ?? false) });
        } else put(done.value);
        return;
      }
      case 'startNumber':
        // Only numbers announce their start (they end when the next character arrives): a number in
        // place of a record is reported on its own line.
        if (depth === 0) {
          elements++;
          notObject(0);
        }
        return;
      case 'keyValue': {
        const top = stack[stack.length - 1];
        if (top?.kind === 'object') top.key = t.value;
        return;
      }
      case 'stringValue':
      case 'numberValue':
      case 'nullValue':
      case 'trueValue':
      case 'falseValue': {
        const value = t.name === 'numberValue' ? jsonNumber(t.value) : t.value;
        if (depth === 0) {
          elements++;
          notObject(value);
        }
        if (typeof value === 'string' && value.length > maxField) {
          throw inputInvalid(file, line, `a value is longer than the limit of ${maxField} characters; raise the limit or shorten the value`);
        }
        put(value);
        return;
      }
      default:
        return;
    }
  };
  const feed = (segment: string, final: boolean): void => {
    let out: unknown;
    try {
      out = final ? tokenizer!(none) : tokenizer!(segment);
    } catch (err) {
      const reason = (err as Error).message.replace(/^Parser cannot parse input:\s*/, '').replace(/^Parser has expected/, 'expected');
      if (final) {
        throw inputInvalid(file, line, `the JSON ends before it is complete (${reason || 'cut off'}); the file looks truncated`);
      }
      throw inputInvalid(file, line, `invalid JSON: ${reason || (err as Error).message}`);
    }
    const tokens: Token[] = out === none ? [] : isMany(out) ? (getManyValues(out) as Token[]) : [out as Token];
    if (tokens.length > 0) sinceToken = 0;
    else {
      sinceToken += segment.length;
      if (sinceToken > maxField) throw inputInvalid(file, line, `a value is longer than the limit of ${maxField} characters; raise the limit or shorten the value`);
    }
    for (const t of tokens) onToken(t);
    // A record (an object and all it nests) is assembled in memory: its text is capped too, so that
    // one giant object cannot grow without bound. Counted per segment (a line, or a piece of a long
    // line), so the count is exact to within one piece (an eighth of the limit at most).
    if (stack.length > 0) {
      recordChars += segment.length;
      if (recordChars > maxRecord) {
        throw inputInvalid(file, recordLine, `the record starting on this line is longer than the limit of ${maxRecord} characters; split it or raise the limit`);
      }
    }
  };

  function* drain(): Generator<ParsedRecord> {
    const batch = ready.splice(0, ready.length);
    yield* batch;
  }

  let pendingStart = '';
  for await (const chunk of text) {
    let s = chunk;
    if (!mode) {
      pendingStart += chunk;
      const first = pendingStart.search(/\S/);
      if (first === -1) continue;
      const ch = pendingStart[first];
      if (ch === '[') mode = 'array';
      else if (ch === '{') mode = 'stream';
      else {
        const at = 1 + (pendingStart.slice(0, first).match(/\n/g)?.length ?? 0);
        throw inputInvalid(file, at, `expected a JSON array of objects or one JSON object per line (NDJSON), but the file starts with "${pendingStart.slice(first, first + 20)}"`);
      }
      tokenizer = jsonParser({ jsonStreaming: mode === 'stream', packValues: true, streamValues: false, streamNumbers: true }) as unknown as Tokenizer;
      s = pendingStart;
      pendingStart = '';
    }
    let from = 0;
    for (let nl = s.indexOf('\n'); ; nl = s.indexOf('\n', from)) {
      const end = nl === -1 ? s.length : nl + 1;
      // Long lines (minified JSON) go in pieces, which keeps the record-size count close.
      for (let at = from; at < end; at += piece) feed(s.slice(at, Math.min(end, at + piece)), false);
      if (nl === -1) break;
      line++;
      from = end;
    }
    yield* drain();
  }
  if (!mode) throw inputInvalid(file, undefined, 'the file is empty; expected a JSON array of objects or one JSON object per line');
  if (stack.length > 0 || (mode === 'array' && !finished)) {
    // Let the tokenizer name what is missing; it throws on a truncated document.
    feed('', true);
    throw inputInvalid(file, line, 'the JSON ends before it is complete; the file looks truncated');
  }
  feed('', true);
  yield* drain();
  if (records === 0) throw inputInvalid(file, undefined, 'the file has no records; expected at least one object');
}
