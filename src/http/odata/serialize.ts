/**
 * JSON written by hand for the entity-set payloads, so that each Edm type is exact:
 *
 * - Edm.Int64 and Edm.Decimal as JSON numbers in long notation, never `1e+21` or `8.675e-6` (OData
 *   JSON format §4.5.1: 4.0 clients do not accept exponents for Decimal; Power Query sends no
 *   `IEEE754Compatible`), and never through a double when the warehouse gave a bigint;
 * - Edm.Double in long notation too, `NaN`/`INF`/`-INF` as the strings OData defines;
 * - Edm.Date as `YYYY-MM-DD`, Edm.DateTimeOffset with its offset (`Z`).
 */
import type { EdmType } from './entity-model.js';

/**
 * A finite number in long notation: JavaScript's shortest round-trip digits, with the exponent
 * spelled out (`1e21` → `1000000000000000000000`, `8.675e-6` → `0.000008675`).
 */
export function plainNumber(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s === '-0' ? '0' : s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (intLen <= 0) out = `0.${'0'.repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return negative ? `-${out}` : out;
}

type Writer = (value: unknown) => string;

const writeString: Writer = (v) => JSON.stringify(typeof v === 'string' ? v : String(v));

/** Exact numbers: a bigint as its digits, a decimal string (from a driver) as it is, a number in long notation. */
const writeExact: Writer = (v) => {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? plainNumber(v) : 'null';
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return v;
  return 'null';
};

const writeDouble: Writer = (v) => {
  if (typeof v === 'bigint') return v.toString();
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"INF"';
  if (n === -Infinity) return '"-INF"';
  return plainNumber(n);
};

const writeDate: Writer = (v) => JSON.stringify(String(v).slice(0, 10));

/** A timestamp with an offset: the port's timestamps are ISO in UTC, and a date is midnight UTC. */
const writeDateTimeOffset: Writer = (v) => {
  const s = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return JSON.stringify(`${s}T00:00:00Z`);
  if (/(Z|[+-]\d{2}:\d{2})$/.test(s)) return JSON.stringify(s);
  const d = new Date(`${s.replace(' ', 'T')}Z`);
  return JSON.stringify(Number.isNaN(d.getTime()) ? s : d.toISOString());
};

const writeBoolean: Writer = (v) => (v === true || v === 'true' ? 'true' : 'false');

/** The JSON text of one value of an Edm type (`null` for null or undefined). */
export function writerFor(type: EdmType): Writer {
  const w =
    type === 'Edm.String'
      ? writeString
      : type === 'Edm.Boolean'
        ? writeBoolean
        : type === 'Edm.Date'
          ? writeDate
          : type === 'Edm.DateTimeOffset'
            ? writeDateTimeOffset
            : type === 'Edm.Double'
              ? writeDouble
              : writeExact;
  return (v) => (v === null || v === undefined ? 'null' : w(v));
}
