/**
 * One value against one column type (docs/targets.md): strict, and every refusal says what was expected
 * and what came (`expected integer, got "abc"`). Used for rows (convert.ts) and for the `default` of
 * target columns (targets.ts).
 */
import type { ColumnTypeName, SqlValue } from '../warehouse/port.js';

/** The outcome of converting one value: the warehouse value, or why it does not fit. */
export type ValueResult = { ok: true; value: SqlValue } | { ok: false; message: string };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The DDL of both dialects is DECIMAL(18,4): 14 digits before the point. */
const DECIMAL_MAX_ABS = 1e14;

const INTEGER_TEXT = /^[+-]?\d+(?:\.0*)?$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

/** Cuts a value for an error message so that a 1 MB cell does not become a 1 MB message. */
export function showValue(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw) ?? String(raw);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True when a raw value counts as missing: absent, null, or blank text. */
export function isMissing(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

function fail(expected: string, raw: unknown): ValueResult {
  return { ok: false, message: `expected ${expected}, got ${typeof raw === 'string' ? `"${showValue(raw)}"` : showValue(raw)}` };
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Converts one present (non-missing) raw value to a column type. Values from CSV are strings;
 * values from JSON are strings, numbers, booleans, or JSON text for arrays and kept objects.
 */
export function convertValue(type: ColumnTypeName, raw: unknown): ValueResult {
  switch (type) {
    case 'string':
      return { ok: true, value: typeof raw === 'string' ? raw : typeof raw === 'object' ? JSON.stringify(raw) : String(raw) };

    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && INTEGER_TEXT.test(raw.trim())) n = Number(raw.trim());
      else return fail('integer', raw);
      if (!Number.isInteger(n)) return fail('integer', raw);
      if (n < INT32_MIN || n > INT32_MAX) return fail(`integer between ${INT32_MIN} and ${INT32_MAX}`, raw);
      return { ok: true, value: n };
    }

    case 'bigint': {
      let big: bigint;
      if (typeof raw === 'number' && Number.isInteger(raw)) big = BigInt(raw);
      else if (typeof raw === 'string' && INTEGER_TEXT.test(raw.trim())) big = BigInt(raw.trim().replace(/\.0*$/, ''));
      else return fail('bigint (a whole number)', raw);
      if (big < INT64_MIN || big > INT64_MAX) return fail('bigint within the 64-bit range', raw);
      // Beyond 2^53 a JS number would round; the text keeps every digit and the database casts it.
      const asNumber = Number(big);
      return { ok: true, value: Number.isSafeInteger(asNumber) ? asNumber : big.toString() };
    }

    case 'decimal':
    case 'double': {
      let n: number;
      let text: string;
      if (typeof raw === 'number') {
        n = raw;
        text = String(raw);
      } else if (typeof raw === 'string' && NUMBER_TEXT.test(raw.trim())) {
        text = raw.trim();
        n = Number(text);
      } else return fail(type === 'decimal' ? 'decimal number' : 'number', raw);
      if (!Number.isFinite(n)) return fail(type === 'decimal' ? 'decimal number' : 'number', raw);
      if (type === 'double') return { ok: true, value: n };
      if (Math.abs(n) >= DECIMAL_MAX_ABS) return fail('decimal with at most 14 digits before the point', raw);
      // Decimals travel as text so that no digit is lost to binary floating point on the way.
      return { ok: true, value: /[eE]/.test(text) ? String(n) : text.replace(/^\+/, '') };
    }

    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (raw === 1 || raw === 0) return { ok: true, value: raw === 1 };
      if (typeof raw === 'string') {
        const word = raw.trim().toLowerCase();
        if (TRUE_WORDS.has(word)) return { ok: true, value: true };
        if (FALSE_WORDS.has(word)) return { ok: true, value: false };
      }
      return fail('boolean (true/false, 1/0, yes/no)', raw);
    }

    case 'date': {
      const m = typeof raw === 'string' ? DATE_TEXT.exec(raw.trim()) : null;
      if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return fail('date as YYYY-MM-DD', raw);
      return { ok: true, value: m[0] };
    }

    case 'timestamp': {
      const m = typeof raw === 'string' ? TIMESTAMP_TEXT.exec(raw.trim()) : null;
      if (!m) return fail('timestamp as ISO 8601 (YYYY-MM-DDTHH:MM:SS, optionally with Z or an offset)', raw);
      const [y, mo, d, h = '0', mi = '0', s = '0'] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => v ?? '0');
      const frac = m[7] ? Number(m[7].slice(0, 4).padEnd(4, '0').slice(1)) : 0;
      const [Y, M, D, H, MI, S] = [y, mo, d, h, mi, s].map(Number);
      if (!validDate(Y, M, D) || H > 23 || MI > 59 || S > 59) return fail('timestamp as ISO 8601 (YYYY-MM-DDTHH:MM:SS, optionally with Z or an offset)', raw);
      let ms = Date.UTC(Y, M - 1, D, H, MI, S, frac);
      const zone = m[8];
      if (zone && zone.toUpperCase() !== 'Z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        const digits = zone.slice(1).replace(':', '');
        const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
        ms -= sign * offsetMin * 60_000;
      }
      // Stored in UTC without a zone: TIMESTAMP columns in both dialects read this text the same way.
      const t = new Date(ms);
      return {
        ok: true,
        value: `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}.${pad(t.getUTCMilliseconds(), 3)}`,
      };
    }

    case 'json': {
      if (typeof raw === 'string') {
        try {
          JSON.parse(raw);
          return { ok: true, value: raw };
        } catch {
          return fail('JSON text', raw);
        }
      }
      return { ok: true, value: JSON.stringify(raw) };
    }
  }
}

/** What {@link convertCommon} answers for a value it leaves to {@link convertValue}. */
export const UNCOMMON: unique symbol = Symbol('uncommon');

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digits of `text` from `start` to `end` as a number, or -1 when one is not a digit. */
function digits(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The fast path of {@link convertValue} for the shapes most files hold — any text for a string column,
 * up to 15 plain digits for integer and bigint (in range by construction), `YYYY-MM-DD` from year 100 —
 * answering exactly what convertValue would, without its regular expressions and result objects.
 * Anything else (signs, spaces, fractions, other types, an invalid date) is {@link UNCOMMON}: the caller
 * then asks convertValue, which also words the refusal.
 */
export function convertCommon(type: ColumnTypeName, raw: string): SqlValue | typeof UNCOMMON {
  switch (type) {
    case 'string':
      return raw;
    case 'integer':
    case 'bigint': {
      // 9 digits stay below 2^31 and 15 below 2^53, so the number is exact and in range.
      if (raw.length === 0 || raw.length > (type === 'integer' ? 9 : 15)) return UNCOMMON;
      const n = digits(raw, 0, raw.length);
      return n < 0 ? UNCOMMON : n;
    }
    case 'date': {
      if (raw.length !== 10 || raw.charCodeAt(4) !== 45 || raw.charCodeAt(7) !== 45) return UNCOMMON;
      const y = digits(raw, 0, 4);
      const m = digits(raw, 5, 7);
      const d = digits(raw, 8, 10);
      // Years below 100 are left to convertValue, whose Date.UTC reads them as 1900 + year.
      if (y < 100 || m < 1 || m > 12 || d < 1) return UNCOMMON;
      const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
      const days = m === 2 && leap ? 29 : DAYS_IN_MONTH[m];
      return d <= days ? raw : UNCOMMON;
    }
    default:
      return UNCOMMON;
  }
}

/** Lower-cased, trimmed: how input field names are matched to a column's `from` (or its name). */
export function normaliseField(name: string): string {
  return name.trim().toLowerCase();
}

