import { describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { RecordConverter, columnNameForField, formatRowError } from '../../src/ingest/convert.js';
import { convertValue } from '../../src/ingest/convert-value.js';
import { parseTarget, type Target } from '../../src/ingest/targets.js';

function target(columns: string, extra = ''): Target {
  const problems = new ProblemCollector();
  const t = parseTarget('t', 'targets/t.yml', `table: web.t\nkey: [id]\ncolumns:\n  id: { type: string, from: "ID" }\n${columns}${extra}`, problems);
  problems.throwIfAny('TARGET_INVALID', 'test target');
  return t!;
}

const ok = (value: unknown) => ({ ok: true, value });

describe('convertValue', () => {
  it('converts integers strictly, with the int32 range', () => {
    expect(convertValue('integer', '42')).toEqual(ok(42));
    expect(convertValue('integer', ' -7 ')).toEqual(ok(-7));
    expect(convertValue('integer', '12.0')).toEqual(ok(12));
    expect(convertValue('integer', 12)).toEqual(ok(12));
    expect(convertValue('integer', 'abc')).toEqual({ ok: false, message: 'expected integer, got "abc"' });
    expect(convertValue('integer', '1.5')).toEqual({ ok: false, message: 'expected integer, got "1.5"' });
    expect(convertValue('integer', '1,000')).toEqual({ ok: false, message: 'expected integer, got "1,000"' });
    expect(convertValue('integer', 2.5)).toEqual({ ok: false, message: 'expected integer, got 2.5' });
    expect(convertValue('integer', '3000000000')).toEqual({ ok: false, message: 'expected integer between -2147483648 and 2147483647, got "3000000000"' });
  });

  it('keeps bigints exact beyond 2^53 and checks the 64-bit range', () => {
    expect(convertValue('bigint', '9007199254740993')).toEqual(ok('9007199254740993'));
    expect(convertValue('bigint', '123')).toEqual(ok(123));
    expect(convertValue('bigint', '99999999999999999999')).toMatchObject({ ok: false, message: expect.stringMatching(/64-bit range/) });
    expect(convertValue('bigint', 'x')).toMatchObject({ ok: false });
  });

  it('keeps decimals as text and checks DECIMAL(18,4) range; doubles as numbers', () => {
    expect(convertValue('decimal', '3120.50')).toEqual(ok('3120.50'));
    expect(convertValue('decimal', '+1.5')).toEqual(ok('1.5'));
    expect(convertValue('decimal', 7)).toEqual(ok('7'));
    expect(convertValue('decimal', '1e3')).toEqual(ok('1000'));
    expect(convertValue('decimal', '12,5')).toEqual({ ok: false, message: 'expected decimal number, got "12,5"' });
    expect(convertValue('decimal', '100000000000000')).toMatchObject({ ok: false, message: expect.stringMatching(/at most 14 digits/) });
    expect(convertValue('double', '-0.25')).toEqual(ok(-0.25));
    expect(convertValue('double', 'NaN')).toEqual({ ok: false, message: 'expected number, got "NaN"' });
  });

  it('reads booleans as true/false, 1/0, yes/no', () => {
    for (const t of ['true', 'TRUE', '1', 'yes', 'Yes', true, 1]) expect(convertValue('boolean', t)).toEqual(ok(true));
    for (const f of ['false', '0', 'no', false, 0]) expect(convertValue('boolean', f)).toEqual(ok(false));
    expect(convertValue('boolean', 'maybe')).toEqual({ ok: false, message: 'expected boolean (true/false, 1/0, yes/no), got "maybe"' });
  });

  it('accepts only ISO dates that exist', () => {
    expect(convertValue('date', '2026-02-28')).toEqual(ok('2026-02-28'));
    expect(convertValue('date', '2024-02-29')).toEqual(ok('2024-02-29'));
    expect(convertValue('date', '2026-02-29')).toEqual({ ok: false, message: 'expected date as YYYY-MM-DD, got "2026-02-29"' });
    expect(convertValue('date', '03/15/2026')).toEqual({ ok: false, message: 'expected date as YYYY-MM-DD, got "03/15/2026"' });
    expect(convertValue('date', '2026-03-15T10:00:00Z')).toMatchObject({ ok: false });
  });

  it('reads ISO timestamps, converting offsets to UTC', () => {
    expect(convertValue('timestamp', '2026-03-01T10:15:00Z')).toEqual(ok('2026-03-01 10:15:00.000'));
    expect(convertValue('timestamp', '2026-03-01T10:15:00+02:00')).toEqual(ok('2026-03-01 08:15:00.000'));
    expect(convertValue('timestamp', '2026-03-01 23:30:00.25-0130')).toEqual(ok('2026-03-02 01:00:00.250'));
    expect(convertValue('timestamp', '2026-03-01')).toEqual(ok('2026-03-01 00:00:00.000'));
    expect(convertValue('timestamp', '2026-03-01T25:00:00')).toMatchObject({ ok: false, message: expect.stringMatching(/^expected timestamp as ISO 8601/) });
    expect(convertValue('timestamp', 'yesterday')).toMatchObject({ ok: false });
  });

  it('validates JSON text and serialises other values', () => {
    expect(convertValue('json', '{"a":1}')).toEqual(ok('{"a":1}'));
    expect(convertValue('json', '{a:1}')).toEqual({ ok: false, message: 'expected JSON text, got "{a:1}"' });
    expect(convertValue('json', 5)).toEqual(ok('5'));
    expect(convertValue('string', 5)).toEqual(ok('5'));
  });

  it('cuts long values in messages', () => {
    const result = convertValue('integer', 'x'.repeat(500));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(120);
  });
});

describe('RecordConverter', () => {
  it('maps fields case-insensitively through from, applies defaults and orders values by column', () => {
    const t = target('  clicks: { type: integer, default: 0 }\n  day: { type: date, required: true, from: "Report Date" }\n  note: { type: string }\n');
    const c = new RecordConverter(t);
    expect(c.columns).toEqual(['id', 'clicks', 'day', 'note']);
    expect(c.convert(2, { ' id ': 'a', CLICKS: '', 'report date': '2026-01-01', extra: 'ignored' })).toEqual({ ok: true, values: ['a', 0, '2026-01-01', null] });
  });

  it('reports every bad value of a row with line, column and value', () => {
    const t = target('  clicks: { type: integer }\n  day: { type: date, required: true }\n');
    const c = new RecordConverter(t);
    const result = c.convert(5001, { ID: 'a', clicks: 'abc', day: '' });
    expect(result).toEqual({
      ok: false,
      errors: [
        { line: 5001, column: 'clicks', value: 'abc', message: 'expected integer, got "abc"' },
        { line: 5001, column: 'day', value: '', message: 'expected date, got nothing (the column is required)' },
      ],
    });
    if (!result.ok) expect(formatRowError(result.errors[0])).toBe('line 5001, column clicks: expected integer, got "abc"');
    // A column read through `from` is also named as the file's own header, so the user can find it.
    const renamed = new RecordConverter(target('  day: { type: date, required: true, from: "Report Date" }\n'));
    const bad = renamed.convert(3, { ID: 'a', 'Report Date': '31/01/2026' });
    if (bad.ok) throw new Error('expected a row error');
    expect(formatRowError(bad.errors[0])).toBe('line 3, column day: expected date as YYYY-MM-DD, got "31/01/2026" (the file\'s column "Report Date")');
    // Key columns are required too.
    expect(c.convert(7, { clicks: '1', day: '2026-01-01' })).toMatchObject({ ok: false, errors: [{ line: 7, column: 'id' }] });
  });

  it('adds evolved columns after the target columns', () => {
    const t = target('  clicks: { type: integer }\n');
    const c = new RecordConverter(t, [{ name: 'campaign_name', field: 'Campaign Name', type: 'string' }]);
    expect(c.columns).toEqual(['id', 'clicks', 'campaign_name']);
    expect(c.convert(2, { ID: 'a', 'campaign name': 'Spring' })).toEqual({ ok: true, values: ['a', null, 'Spring'] });
  });

  it('never rejects a row for an evolved column', () => {
    const t = target('');
    const c = new RecordConverter(t, [{ name: 'tags', field: 'tags', type: 'json' }]);
    expect(c.convert(2, { ID: 'a', tags: '["x","y"]' })).toEqual({ ok: true, values: ['a', '["x","y"]'] });
    expect(c.convert(3, { ID: 'b', tags: 'plain' })).toEqual({ ok: true, values: ['b', '"plain"'] });
  });

  it('turns field names into snake_case column names', () => {
    expect(columnNameForField('Campaign Name')).toBe('campaign_name');
    expect(columnNameForField('  Réach (%) ')).toBe('reach');
    expect(columnNameForField('2nd value')).toBe('c_2nd_value');
    expect(columnNameForField('***')).toBe('field');
  });
});
