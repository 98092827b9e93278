/**
 * The canonical scanner behind PostgreSQL's loadCsv: which values it passes to COPY (those COPY reads as the
 * converter does) and which it declines, per column type; and the COPY text it writes (lineage appended,
 * CRLF, BOM-free input, empty lines and empty rows dropped, quoted values kept byte for byte).
 */
import { describe, expect, it } from 'vitest';
import { CsvDeclined, canScan, canonicalCsv, type ScanColumn } from '../../src/warehouse/postgres/canonical-csv.js';
import type { ColumnTypeName } from '../../src/warehouse/port.js';

async function run(text: string | Buffer[], columns: ScanColumn[], withSequence = false): Promise<string> {
  const chunks = typeof text === 'string' ? [Buffer.from(text)] : text;
  let out = '';
  for await (const b of canonicalCsv(chunks, { columns, suffix: ['run"1', '2026-01-01 00:00:00.000', 'k'], withSequence })) out += b.toString();
  return out;
}

const col = (type: ColumnTypeName, notEmpty = false, name = 'v'): ScanColumn => ({ name, type, notEmpty });
const LINEAGE = ',"run""1","2026-01-01 00:00:00.000","k"';

async function accepts(type: ColumnTypeName, value: string): Promise<boolean> {
  try {
    await run(`v\n${value}\n`, [col(type)]);
    return true;
  } catch (err) {
    if (err instanceof CsvDeclined) return false;
    throw err;
  }
}

describe('canonical CSV scanner', () => {
  it.each<[ColumnTypeName, string[], string[]]>([
    ['string', ['abc', '"a,b"', '"say ""hi"""', '"two\nlines"', ' padded ', 'é'], ['" "', '\u00a0']],
    ['integer', ['0', '-12', '123456789', '007'], ['+1', '1.0', '1e3', ' 1', '1234567890', '"1"""', 'abc', '-']],
    ['bigint', ['-123456789012345678', '42'], ['1234567890123456789', '4.0', '0x10']],
    ['decimal', ['12.3456', '-0.5', '1234567890123.123456', '7'], ['.5', '5.', '1e2', '12345678901234', '+1']],
    ['double', ['1.5', '-2', '0.1'], ['-0', '-0.0', '1e10', 'NaN', 'Infinity', '.5']],
    ['boolean', ['true', 'FALSE', 'Yes', 'no', '1', '0'], ['t', 'on', 'y', ' true']],
    ['date', ['2026-02-28', '2024-02-29', '"2026-01-01"'], ['2026-02-29', '2026-1-1', '0099-01-01', '2026-13-01', '01/02/2026']],
    ['timestamp', ['2026-01-01', '2026-01-01T10:20', '2026-01-01 10:20:30', '2026-01-01T10:20:30.123Z'], ['2026-01-01T10:20:30+02:00', '2026-01-01T10:20:30.1234', '2026-01-01T24:00', '2026-01-01t10:20', '2026-01-01T10:20:60']],
  ])('%s: passes its plain forms, declines the rest', async (type, good, bad) => {
    for (const v of good) expect(await accepts(type, v), `${type} ${v}`).toBe(true);
    for (const v of bad) expect(await accepts(type, v), `${type} ${v}`).toBe(false);
  });

  it('json columns are left to the converter', () => {
    expect(canScan([col('string'), col('json')])).toBe(false);
    expect(canScan([col('string'), col('date')])).toBe(true);
  });

  it('writes each record with its lineage, CRLF as LF, and drops empty lines and rows of empty values', async () => {
    const text = 'a,b\r\nx,1\r\n\r\n,\r\n"q,""r""\r\ns",\r\ny,2';
    expect(await run(text, [col('string', false, 'a'), col('integer', false, 'b')])).toBe(`x,1${LINEAGE}\n"q,""r""\r\ns",${LINEAGE}\ny,2${LINEAGE}\n`);
    expect(await run('a\nx\ny\n', [col('string', false, 'a')], true)).toBe(`x${LINEAGE},0\ny${LINEAGE},1\n`);
  });

  it('is the same whatever the chunks: a record, a quote pair or a CRLF cut across them', async () => {
    const text = 'a,b\r\n"x""y",10\r\n"z",20\r\n';
    const whole = await run(text, [col('string', false, 'a'), col('integer', false, 'b')]);
    for (let i = 1; i < text.length; i++) {
      const bytes = Buffer.from(text);
      expect(await run([bytes.subarray(0, i), bytes.subarray(i)], [col('string', false, 'a'), col('integer', false, 'b')]), `cut at ${i}`).toBe(whole);
    }
  });

  it('declines what the Node parser refuses or reads otherwise: empty required values, ragged rows, stray quotes, bad bytes, no rows', async () => {
    const two = [col('string', true, 'a'), col('integer', false, 'b')];
    await expect(run('a,b\n,1\n', two)).rejects.toThrow(/empty value in column a/);
    await expect(run('a,b\n"",1\n', two)).rejects.toThrow(CsvDeclined);
    await expect(run('a,b\nx,1,2\n', two)).rejects.toThrow(/more than the header/);
    await expect(run('a,b\nx\n', two)).rejects.toThrow(/1 fields/);
    await expect(run('a,b\nx"y,1\n', two)).rejects.toThrow(/quote inside/);
    await expect(run('a,b\n"x"y,1\n', two)).rejects.toThrow(/after a closing quote/);
    await expect(run('a,b\n"x,1\n', two)).rejects.toThrow(/never closed/);
    await expect(run([Buffer.from('a,b\nx'), Buffer.from([0xff]), Buffer.from(',1\n')], two)).rejects.toThrow(/UTF-8/);
    await expect(run('a,b\nx\u0000,1\n', two)).rejects.toThrow(/NUL/);
    await expect(run('a,b\n', two)).rejects.toThrow(/no rows/);
    await expect(run('a,b\n,\n', two)).rejects.toThrow(/no rows/);
  });
});
