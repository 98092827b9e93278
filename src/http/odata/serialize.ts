/**
 * JSON written by hand for the entity-set payloads, so that each Edm type is exact:
 *
 * - Edm.Int64 and Edm.Decimal as JSON numbers in long notation, never `1e+21` or `8.675e-6` (OData
 *   JSON format §4.5.1: 4.0 clients do not accept exponents for Decimal; Power Query sends no
 *   `IEEE754Compatible`), and never through a double when the warehouse gave a bigint;
 * - Edm.Double in long notation too, `NaN`/`INF`/`-INF` as the strings OData defines;
 * - Edm.Date as `YYYY-MM-DD`, Edm.DateTimeOffset with its offset (`Z`).
 */
import { randomBytes } from 'node:crypto';
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

/** JSON text that must go into the payload as it is (a bigint's digits, a number JSON.stringify would write with an exponent). */
class RawJson {
  constructor(readonly text: string) {}
}

/**
 * A value of an Edm type as JSON.stringify can write it exactly, or a {@link RawJson} where it cannot.
 * JSON.stringify writes a double without exponent when 1e-6 ≤ |n| < 1e21 (ECMA-262 Number::toString),
 * which is nearly every value; the rest, bigints and NaN/±INF go through {@link writerFor}.
 */
function jsonValueFor(type: EdmType, ieee754: boolean): (v: unknown) => unknown {
  const write = writerFor(type);
  switch (type) {
    case 'Edm.String':
      return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : String(v));
    case 'Edm.Boolean':
      return (v) => (v === null || v === undefined ? null : v === true || v === 'true');
    case 'Edm.Date':
      return (v) => (v === null || v === undefined ? null : typeof v === 'string' && v.length === 10 ? v : String(v).slice(0, 10));
    case 'Edm.DateTimeOffset':
      return (v) => (v === null || v === undefined ? null : new RawJson(write(v)));
    default:
      if (ieee754 && type !== 'Edm.Double') {
        // IEEE754Compatible=true: Int64 and Decimal travel as strings (OData JSON format §3.2).
        return (v) => (v === null || v === undefined ? null : write(v));
      }
      return (v) => {
        if (typeof v === 'number') {
          const a = Math.abs(v);
          if (v === 0 || (a >= 1e-6 && a < 1e21)) return v;
        }
        return v === null || v === undefined ? null : new RawJson(write(v));
      };
  }
}

/** What the page writer needs of a column. */
export interface WritableColumn<R> {
  name: string;
  type: EdmType;
  read: (row: R) => unknown;
}

/**
 * The JSON array of a page's entities. Rows become plain objects written by JSON.stringify (V8's
 * serialiser, an order of magnitude faster than concatenating strings); the rare values it cannot
 * write exactly travel as placeholders carrying a random nonce, replaced by their exact text after.
 */
export function writeEntities<R>(columns: ReadonlyArray<WritableColumn<R>>, rows: readonly R[], options: { ieee754?: boolean } = {}): string {
  const values = columns.map((c) => jsonValueFor(c.type, options.ieee754 === true));
  const raws: string[] = [];
  const nonce = randomBytes(8).toString('hex');
  const objects = new Array<Record<string, unknown>>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      let v = values[i](columns[i].read(rows[r]));
      if (v instanceof RawJson) {
        raws.push(v.text);
        v = `\u0000${nonce}:${raws.length - 1}\u0000`;
      }
      o[columns[i].name] = v;
    }
    objects[r] = o;
  }
  const json = JSON.stringify(objects);
  if (raws.length === 0) return json;
  return json.replace(new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g'), (_m, i: string) => raws[Number(i)]);
}
