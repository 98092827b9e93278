/**
 * The OData expression layer on its own: tokenizer and parsers (with error positions), the
 * translation to the semantic filter tree (OData's nulls, negation, time periods), number writing,
 * and the environment settings the feed reads.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { UserError } from '../../src/errors.js';
import { buildEdmService } from '../../src/http/odata/entity-model.js';
import { ODataError } from '../../src/http/odata/errors.js';
import { parseApply, parseFilter, parseOrderBy, parseSelect } from '../../src/http/odata/parse.js';
import { plainNumber, writerFor } from '../../src/http/odata/serialize.js';
import { nextPeriod, periodStart, translateFilter } from '../../src/http/odata/translate.js';
import type { CatalogModel } from '../../src/semantic/catalog.js';

function failure(fn: () => unknown): ODataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ODataError) return e;
    throw e;
  }
  throw new Error('expected an ODataError');
}

describe('parseFilter', () => {
  it('parses precedence: or < and < not < comparison, with parentheses', () => {
    expect(parseFilter("a eq 1 or b eq 'x' and not c")).toMatchObject({
      kind: 'or',
      left: { kind: 'compare', op: 'eq', left: { kind: 'property', name: 'a' }, right: { type: 'number', value: 1 } },
      right: { kind: 'and', left: { kind: 'compare', op: 'eq' }, right: { kind: 'not', operand: { kind: 'property', name: 'c' } } },
    });
    expect(parseFilter('(a eq 1 or b eq 2) and c eq 3')).toMatchObject({ kind: 'and', left: { kind: 'or' } });
    expect(parseFilter("not a eq 'x'")).toMatchObject({ kind: 'not', operand: { kind: 'compare' } });
  });

  it('reads every literal form', () => {
    const lit = (text: string) => (parseFilter(`x eq ${text}`) as { right: unknown }).right;
    expect(lit("'it''s'")).toMatchObject({ type: 'string', value: "it's" });
    expect(lit('-12.5e3')).toMatchObject({ type: 'number', value: -12500 });
    expect(lit('2.5M')).toMatchObject({ type: 'number', value: 2.5 });
    expect(lit('2026-01-31')).toMatchObject({ type: 'date', value: '2026-01-31' });
    expect(lit('2026-01-31T10:00:00+01:00')).toMatchObject({ type: 'datetime', value: '2026-01-31T10:00:00+01:00' });
    expect(lit('null')).toMatchObject({ type: 'null' });
    expect(lit('true')).toMatchObject({ type: 'boolean', value: true });
    expect(parseFilter("x in ('a', 'b')")).toMatchObject({ kind: 'in', values: [{ value: 'a' }, { value: 'b' }] });
    expect(parseFilter("contains(x,'a')")).toMatchObject({ kind: 'call', name: 'contains', args: [{ kind: 'property' }, { type: 'string' }] });
  });

  it('says where a filter is wrong', () => {
    expect(failure(() => parseFilter("x eq 'a")).message).toBe("$filter: at position 6: the string starting here is not closed with a quote (')");
    expect(failure(() => parseFilter('x eq')).message).toBe('$filter: at position 5: expected a value after "eq", found the end of the filter');
    expect(failure(() => parseFilter('x eq 1 )')).message).toBe('$filter: at position 8: expected "and", "or" or the end of the filter, found ")"');
    expect(failure(() => parseFilter('x eq 12ab')).message).toBe('$filter: at position 6: "12ab" is not a number');
    expect(failure(() => parseFilter('x eq 2026-01-31T10:00')).message).toMatch(/position 6: .* is not a date-time with an offset/);
    expect(failure(() => parseFilter('x eq # ')).message).toBe('$filter: at position 6: unexpected character "#"');
    expect(failure(() => parseFilter('')).message).toBe('$filter: at position 1: the filter is empty');
    expect(failure(() => parseFilter('a/b eq 1')).status).toBe(501);
    expect(failure(() => parseFilter(`${'('.repeat(150)}a eq 1${')'.repeat(150)}`)).message).toMatch(/nests deeper than 100/);
  });
});

describe('the other options', () => {
  it('parses $select, $orderby and $apply', () => {
    expect(parseSelect('a, b,*')).toEqual([{ name: 'a', pos: 1 }, { name: 'b', pos: 4 }, { name: '*', pos: 6 }]);
    expect(parseOrderBy('a desc,b asc, c')).toEqual([
      { name: 'a', direction: 'DESC', pos: 1 },
      { name: 'b', direction: 'ASC', pos: 8 },
      { name: 'c', direction: 'ASC', pos: 15 },
    ]);
    expect(parseApply('groupby((a,b),aggregate(m with sum as t, n with max as u))')).toEqual({
      groupBy: [{ name: 'a', pos: 10 }, { name: 'b', pos: 12 }],
      aggregates: [
        { property: 'm', method: 'sum', alias: 't', pos: 25 },
        { property: 'n', method: 'max', alias: 'u', pos: 42 },
      ],
    });
    expect(parseApply('aggregate(m with sum as t)').groupBy).toEqual([]);
    expect(failure(() => parseApply('groupby((a))/filter(a eq 1)')).status).toBe(501);
    expect(failure(() => parseApply('aggregate($count as n)')).status).toBe(501);
    expect(failure(() => parseApply('groupby(a)')).message).toMatch(/position 9: expected the list of grouping properties/);
  });
});

const MODEL: CatalogModel = {
  id: 'web.traffic',
  name: 'traffic',
  team: 'web',
  tables: ['web.t'],
  grain: ['metric_date', 'device'],
  dimensions: [
    { name: 'metric_date', type: 'time' },
    { name: 'device', type: 'string' },
    { name: 'is_paid', type: 'boolean' },
    { name: 'hour', type: 'number' },
  ],
  measures: [
    { name: 'sessions', type: 'sum' },
    { name: 'rate', type: 'ratio' },
  ],
  joins: [{ name: 'site', model: 'web.sites', relationship: 'many_to_one', dimensions: [{ name: 'region', type: 'string' }] }],
};

describe('translateFilter', () => {
  const set = buildEdmService('web', [MODEL]).sets[0];
  const anchor = set.byName.get('device');
  const tr = (text: string) => translateFilter(parseFilter(text), (n) => set.byName.get(n), anchor as never);

  it('names properties as GraphQL does, joined dimensions as join + dimension', () => {
    expect(set.properties.map((p) => p.name)).toEqual([
      'rowKey', 'metricDate', 'metricDateWeek', 'metricDateMonth', 'metricDateQuarter', 'metricDateYear', 'device', 'isPaid', 'hour', 'siteRegion', 'sessions', 'rate',
    ]);
    expect(tr("siteRegion eq 'EMEA'")).toEqual([{ member: 'site.region', operator: 'EQUALS', values: ['EMEA'] }]);
  });

  it('keeps nulls as OData does under negation', () => {
    expect(tr("not (device eq 'a')")).toEqual([{ member: 'device', operator: 'NOT_EQUALS', values: ['a'] }]);
    expect(tr('not (sessions gt 5)')).toEqual([{ or: [{ member: 'sessions', operator: 'LTE', values: [5] }, { member: 'sessions', operator: 'IS_NULL' }] }]);
    expect(tr('device eq null')).toEqual([{ member: 'device', operator: 'IS_NULL' }]);
    expect(tr('not (device ne null)')).toEqual([{ member: 'device', operator: 'IS_NULL' }]);
    expect(tr('sessions gt null')).toEqual([{ and: [{ member: 'device', operator: 'IS_NULL' }, { member: 'device', operator: 'IS_NOT_NULL' }] }]);
    expect(tr('not (sessions gt null)')).toEqual([]);
    expect(tr("not (device in ('a','b'))")).toEqual([{ member: 'device', operator: 'NOT_IN', values: ['a', 'b'] }]);
    expect(tr("device in ('a', null)")).toEqual([{ or: [{ member: 'device', operator: 'IN', values: ['a'] }, { member: 'device', operator: 'IS_NULL' }] }]);
  });

  it('applies De Morgan through groups', () => {
    expect(tr("not (device eq 'a' or hour gt 3)")).toEqual([
      { and: [{ member: 'device', operator: 'NOT_EQUALS', values: ['a'] }, { or: [{ member: 'hour', operator: 'LTE', values: [3] }, { member: 'hour', operator: 'IS_NULL' }] }] },
    ]);
  });

  it('turns time comparisons into ranges over the raw dimension at the column grain', () => {
    expect(tr('metricDate eq 2026-03-05')).toEqual([{ and: [{ member: 'metric_date', operator: 'GTE', values: ['2026-03-05'] }, { member: 'metric_date', operator: 'LT', values: ['2026-03-06'] }] }]);
    expect(tr('metricDateQuarter eq 2026-04-01')).toEqual([{ and: [{ member: 'metric_date', operator: 'GTE', values: ['2026-04-01'] }, { member: 'metric_date', operator: 'LT', values: ['2026-07-01'] }] }]);
    expect(tr('metricDateMonth ge 2026-02-15')).toEqual([{ member: 'metric_date', operator: 'GTE', values: ['2026-03-01'] }]);
    expect(tr('metricDateMonth le 2026-02-15')).toEqual([{ member: 'metric_date', operator: 'LT', values: ['2026-03-01'] }]);
    expect(tr('metricDateWeek lt 2026-12-02')).toEqual([{ member: 'metric_date', operator: 'LT', values: ['2026-12-07'] }]);
    expect(tr('metricDateYear ne 2025-01-01')).toEqual([
      { or: [{ member: 'metric_date', operator: 'LT', values: ['2025-01-01'] }, { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] }, { member: 'metric_date', operator: 'IS_NULL' }] },
    ]);
    expect(tr('metricDateMonth ne 2026-02-15')).toEqual([]);
  });

  it('refuses what the semantic layer cannot say exactly, with 501', () => {
    for (const f of ["endswith(device,'x')", "not contains(device,'x')", 'isPaid ne true', "device lt 'm'", 'tolower(device) eq \'a\'', 'hour eq sessions']) {
      expect(failure(() => tr(f)).status, f).toBe(501);
    }
    expect(failure(() => tr("rowKey eq 'x'")).status).toBe(501);
    expect(failure(() => tr("hour eq 'x'")).message).toMatch(/position 9: "hour" is a number/);
    expect(failure(() => tr('metricDate eq 2026-01-01T10:00:00Z')).message).toMatch(/not a time of day/);
  });
});

describe('periods', () => {
  it('finds ISO weeks, months, quarters and years, across year ends and leap days', () => {
    expect(periodStart('2026-01-01', 'week')).toBe('2025-12-29');
    expect(periodStart('2024-02-29', 'quarter')).toBe('2024-01-01');
    expect(nextPeriod('2025-12-29', 'week')).toBe('2026-01-05');
    expect(nextPeriod('2026-12-01', 'month')).toBe('2027-01-01');
    expect(nextPeriod('2026-10-01', 'quarter')).toBe('2027-01-01');
    expect(nextPeriod('2024-02-28', 'day')).toBe('2024-02-29');
  });
});

describe('numbers', () => {
  it('writes long notation, never an exponent', () => {
    expect(plainNumber(8.675e-6)).toBe('0.000008675');
    expect(plainNumber(1e21)).toBe('1000000000000000000000');
    expect(plainNumber(-1.5e-7)).toBe('-0.00000015');
    expect(plainNumber(1.2345e25)).toBe('12345000000000000000000000');
    expect(plainNumber(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(plainNumber(-0)).toBe('0');
    for (const n of [5e-324, 1.7976931348623157e308, 123.456e-10]) expect(Number(plainNumber(n))).toBe(n);
  });

  it('writes each Edm type', () => {
    expect(writerFor('Edm.Int64')(9007199254740993n)).toBe('9007199254740993');
    expect(writerFor('Edm.Decimal')('123456789012345678901.5')).toBe('123456789012345678901.5');
    expect(writerFor('Edm.Double')(Number.NaN)).toBe('"NaN"');
    expect(writerFor('Edm.Double')(-Infinity)).toBe('"-INF"');
    expect(writerFor('Edm.DateTimeOffset')('2026-01-01T10:00:00.000Z')).toBe('"2026-01-01T10:00:00.000Z"');
    expect(writerFor('Edm.DateTimeOffset')('2026-01-01 10:00:00')).toBe('"2026-01-01T10:00:00.000Z"');
    expect(writerFor('Edm.Date')('2026-01-01')).toBe('"2026-01-01"');
    expect(writerFor('Edm.String')(null)).toBe('null');
  });
});

describe('environment', () => {
  it('reads SEXTANT_CORS_ORIGINS and SEXTANT_PUBLIC_URL, and lists bad values', () => {
    const c = loadConfig({ SEXTANT_CORS_ORIGINS: 'https://a.example.com, http://localhost:3000', SEXTANT_PUBLIC_URL: 'https://m.example.com/sextant/' });
    expect(c.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
    expect(c.publicUrl).toBe('https://m.example.com/sextant');
    let err: unknown;
    try {
      loadConfig({ SEXTANT_CORS_ORIGINS: 'https://a.example.com/path,*', SEXTANT_PUBLIC_URL: 'ftp://x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('SEXTANT_CORS_ORIGINS: expected origins such as https://addin.example.com (scheme, host and port, no path), got "https://a.example.com/path"');
    expect((err as UserError).message).toContain('got "*"');
    expect((err as UserError).message).toContain('SEXTANT_PUBLIC_URL');
  });
});
