/**
 * The conversion fast path (convertCommon) against the general one (convertValue) on generated values of
 * the shapes it takes and the shapes next to them: whenever it answers, it answers what convertValue
 * answers; and it does answer for the common shapes (else the loader would gain nothing).
 */
import { describe, expect, it } from 'vitest';
import { convertCommon, convertValue, UNCOMMON } from '../../src/ingest/convert-value.js';
import type { ColumnTypeName } from '../../src/warehouse/port.js';
import { Rng } from '../../src/demo/random.js';

/** Seeded, so that a run (and a failure) is reproducible: the demo's generator (mulberry32). */
function random(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const TYPES: ColumnTypeName[] = ['string', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'date', 'timestamp', 'json'];

describe('convertCommon', () => {
  it('answers exactly what convertValue answers, on 50,000 generated values', () => {
    const next = random(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const digit = () => String(Math.floor(next() * 10));
    const shapes: Array<() => string> = [
      () => Array.from({ length: 1 + Math.floor(next() * 18) }, digit).join(''),
      () => `${pick(['', '-', '+', ' '])}${Array.from({ length: 1 + Math.floor(next() * 11) }, digit).join('')}${pick(['', '.0', ' ', 'x'])}`,
      () => `${String(Math.floor(next() * 3000)).padStart(4, '0')}-${String(Math.floor(next() * 14)).padStart(2, '0')}-${String(Math.floor(next() * 33)).padStart(2, '0')}`,
      () => `${pick(['0000', '0004', '0099', '0100', '1900', '2000', '2024', '2100', '2025'])}-02-${pick(['28', '29', '30'])}`,
      () => `${pick(['2025-01-01', '2025-1-01', '2025/01/01', ' 2025-01-01', '2025-01-01T00:00', 'abcd-ef-gh', '２０２５-01-01'])}`,
      () => pick(['', ' ', 'true', 'no', 'abc', '1e5', '0x10', '٣', '007', '2147483647', '2147483648', '999999999999999', '9007199254740993']),
    ];
    let answered = 0;
    for (let n = 0; n < 50_000; n++) {
      const raw = pick(shapes)();
      for (const type of TYPES) {
        const fast = convertCommon(type, raw);
        if (fast === UNCOMMON) continue;
        answered++;
        expect({ type, raw, result: { ok: true, value: fast } }).toEqual({ type, raw, result: convertValue(type, raw) });
      }
    }
    expect(answered).toBeGreaterThan(50_000);
  });

  it('answers for the common shapes and leaves the rest', () => {
    expect(convertCommon('integer', '12345')).toBe(12345);
    expect(convertCommon('bigint', '123456789012345')).toBe(123456789012345);
    expect(convertCommon('date', '2024-02-29')).toBe('2024-02-29');
    expect(convertCommon('string', ' x ')).toBe(' x ');
    expect(convertCommon('integer', '-1')).toBe(UNCOMMON);
    expect(convertCommon('integer', '1234567890')).toBe(UNCOMMON);
    expect(convertCommon('date', '2025-02-29')).toBe(UNCOMMON);
    expect(convertCommon('date', '0000-02-29')).toBe(UNCOMMON);
    expect(convertCommon('timestamp', '2025-01-01')).toBe(UNCOMMON);
  });
});
