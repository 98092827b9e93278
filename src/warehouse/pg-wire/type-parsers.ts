/**
 * Type parsers of the adapter's own pool (never pg's global registry, which other code in the process
 * may rely on): values come back in the port's normal form — dates as `YYYY-MM-DD`, timestamps as
 * ISO strings in UTC, int8/numeric as numbers (whole values past 2^53 as bigints), json as its text.
 */
import pg from 'pg';
import type { CustomTypesConfig } from 'pg';

/** PostgreSQL type OIDs (pg_type.oid; Redshift uses the same ones). */
const OID = {
  int8: 20,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  jsonb: 3802,
} as const;

/** `2026-01-01 10:00:00.123456+05:30` (timestamptz) or without the offset (timestamp). */
const TIMESTAMP = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?$/;

/**
 * A timestamp's text → ISO 8601 in UTC with milliseconds. A value without an offset (`timestamp`)
 * is read as UTC, which is how Sextant stores times. BC dates and ±infinity keep PostgreSQL's text.
 */
export function timestampToIso(raw: string): string {
  const m = TIMESTAMP.exec(raw);
  if (!m) return raw;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), frac ? Math.floor(Number(frac) * 1000) : 0);
  let ms = date.getTime();
  if (sign) {
    const offsetSeconds = (Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0);
    ms -= (sign === '+' ? 1 : -1) * offsetSeconds * 1000;
  }
  return new Date(ms).toISOString();
}

const identity = (raw: string): string => raw;

/** int8 (and a whole numeric): a number while exact, a bigint beyond 2^53 − 1 (see the port's SqlValue). */
export function exactInteger(raw: string): number | bigint {
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : BigInt(raw);
}

/** numeric: whole values beyond 2^53 − 1 stay exact as bigints (`12.00` is whole); fractions are read as doubles. */
function numeric(raw: string): number | bigint {
  const whole = /^(-?\d+)(?:\.0+)?$/.exec(raw);
  return whole ? exactInteger(whole[1]) : Number(raw);
}

const PARSERS: Record<number, (raw: string) => unknown> = {
  [OID.int8]: exactInteger,
  [OID.numeric]: numeric,
  [OID.float4]: Number,
  [OID.float8]: Number,
  [OID.date]: identity,
  [OID.timestamp]: timestampToIso,
  [OID.timestamptz]: timestampToIso,
  // pg would JSON.parse these into objects; the port promises JSON text.
  [OID.json]: identity,
  [OID.jsonb]: identity,
  // pg would build objects for intervals; their text is what a SqlValue can carry.
  [OID.interval]: identity,
  [OID.time]: identity,
};

/** The `types` option of the adapter's pool. */
export const sextantPgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    const own = format === 'binary' ? undefined : PARSERS[oid];
    return own ?? pg.types.getTypeParser(oid, format ?? 'text');
  }) as CustomTypesConfig['getTypeParser'],
};
