/**
 * Object keys: the one rule set every adapter enforces, and the key layout ingestion writes raw
 * inputs under. Keys may carry user-supplied file names, so they are checked before they reach a
 * file system path or an S3 request.
 */
import { UserError } from '../errors.js';

/** S3's limit on a key, in UTF-8 bytes; the folder store keeps the same limit so the two stay swappable. */
export const MAX_KEY_BYTES = 1024;

/** Longest file name {@link sanitizeFilename} produces, in UTF-8 bytes (well under NAME_MAX = 255). */
export const MAX_FILENAME_BYTES = 120;

// C0 and C1 control characters and DEL: invisible in logs and consoles, NUL truncates paths in C APIs.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Why a key is not acceptable, or undefined when it is. Rules: non-empty, at most
 * {@link MAX_KEY_BYTES} UTF-8 bytes, no leading `/`, no empty, `.` or `..` segments, no backslash
 * (a path separator on Windows), no control characters.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(key)) return 'it contains a control character';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it starts with "/"';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
  }
  return undefined;
}

/**
 * Returns the key when it is valid; otherwise throws `UserError('BAD_USER_INPUT')` saying what was
 * wrong and what a key must look like.
 */
export function assertObjectKey(key: string): string {
  const problem = objectKeyProblem(key);
  if (problem !== undefined) {
    throw new UserError(
      'BAD_USER_INPUT',
      `Object key ${JSON.stringify(key)} is invalid: ${problem}. Expected "/"-separated segments such as "raw/target/file.csv": ` +
        `no leading "/", no empty, "." or ".." segments, no backslashes or control characters, at most ${MAX_KEY_BYTES} bytes.`,
      { details: { key } },
    );
  }
  return key;
}

/**
 * Checks a list prefix. A prefix is a plain string filter (it need not end at a `/`), so only what
 * no key can contain is refused; `""` lists everything.
 */
export function assertListPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new UserError('BAD_USER_INPUT', 'A list prefix must be a string.');
  let problem: string | undefined;
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) problem = `it is longer than ${MAX_KEY_BYTES} bytes`;
  else if (CONTROL.test(prefix)) problem = 'it contains a control character';
  else if (prefix.startsWith('/')) problem = 'it starts with "/"';
  if (problem !== undefined) {
    throw new UserError('BAD_USER_INPUT', `List prefix ${JSON.stringify(prefix)} is invalid: ${problem}. Expected the start of an object key, such as "raw/" or "inbox/social".`, {
      details: { prefix },
    });
  }
  return prefix;
}

/** Cuts a string to at most maxBytes UTF-8 bytes without splitting a code point. */
function truncateUtf8(value: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * Turns a client-supplied file name into one safe segment of an object key (OWASP file upload
 * cheat sheet: cap length and characters, never trust the path). Keeps only the last path component
 * (browsers send `C:\fakepath\x.csv`), drops control characters, replaces everything but letters,
 * digits, `.`, `_` and `-` with `_`, strips leading dots (no hidden files, no `..`), caps the length
 * at {@link MAX_FILENAME_BYTES} while keeping the extension, and falls back to `file`.
 */
export function sanitizeFilename(filename: string): string {
  const base = filename.split(/[/\\]/).pop() ?? '';
  const name = base
    .normalize('NFC')
    .replace(new RegExp(CONTROL.source, 'gu'), '')
    .replace(/[^\p{L}\p{M}\p{N}._-]+/gu, '_')
    .replace(/^\.+/u, '');
  // Keep a short alphanumeric extension (what parsers dispatch on) and cut the stem instead.
  const dot = name.lastIndexOf('.');
  let stem = name;
  let ext = '';
  if (dot > 0 && /^[\p{L}\p{N}]{1,16}$/u.test(name.slice(dot + 1))) {
    stem = name.slice(0, dot);
    ext = name.slice(dot);
  }
  const trim = (s: string): string => s.replace(/^[._]+/u, '').replace(/[._-]+$/u, '');
  stem = trim(truncateUtf8(trim(stem), MAX_FILENAME_BYTES - Buffer.byteLength(ext, 'utf8')));
  return (stem === '' ? 'file' : stem) + ext;
}

/** Checks one key segment that comes from configuration or ids (not from a file name). */
function assertSegment(what: string, value: string): string {
  if (value === '' || value.includes('/') || objectKeyProblem(value) !== undefined) {
    throw new UserError('BAD_USER_INPUT', `The ${what} ${JSON.stringify(value)} cannot be part of an object key: expected one non-empty segment without "/", "\\", control characters, "." or "..".`);
  }
  return value;
}

/** `YYYY-MM-DD` of a date in UTC: partitions must not depend on the server's time zone. */
function utcDay(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new UserError('BAD_USER_INPUT', 'The date of a raw object key is invalid: expected a valid Date.');
  return at.toISOString().slice(0, 10);
}

/**
 * Where ingestion keeps a raw input: `raw/<target>/dt=YYYY-MM-DD/<jobId>/<safe filename>`. The date
 * (UTC, Hive-style partition) lets lifecycle rules and Redshift Spectrum prune by day; the job id
 * keeps two uploads of the same file name apart.
 */
export function rawObjectKey(target: string, jobId: string, filename: string, at: Date): string {
  return `raw/${assertSegment('target', target)}/dt=${utcDay(at)}/${assertSegment('job id', jobId)}/${sanitizeFilename(filename)}`;
}
