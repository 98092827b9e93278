import { describe, expect, it } from 'vitest';
import {
  aggregateCall,
  embeddingProblem,
  isPlainColumn,
  isSelect,
  referencedTables,
  tokenizeSql,
  withoutComments,
} from '../../src/semantic/sql-tokens.js';
import { analyseDerived } from '../../src/semantic/derived-expr.js';
import { parseIsoTime } from '../../src/semantic/filter-values.js';

describe('tokenizeSql', () => {
  it('keeps string literals, quoted identifiers and comments whole, and round-trips the text', () => {
    const sql = `select 'it''s; -- not a comment', "we""ird" /* block; */ from t -- tail; \n where x::int >= 1.5e3`;
    const tokens = tokenizeSql(sql);
    expect(tokens.map((t) => t.text).join('')).toBe(sql);
    expect(tokens.find((t) => t.kind === 'string')?.text).toBe(`'it''s; -- not a comment'`);
    expect(tokens.find((t) => t.kind === 'quoted')?.text).toBe('"we""ird"');
    expect(tokens.filter((t) => t.kind === 'comment').map((t) => t.text)).toEqual(['/* block; */', '-- tail; ']);
    expect(tokens.some((t) => t.kind === 'punct' && t.text === '::')).toBe(true);
    expect(tokens.find((t) => t.kind === 'number')?.text).toBe('1.5e3');
  });

  it('finds what makes SQL unsafe to embed: a second statement or an unterminated literal', () => {
    expect(embeddingProblem("a + ';'")).toBeUndefined();
    expect(embeddingProblem('a -- ; in a comment')).toBeUndefined();
    expect(embeddingProblem('a; drop table t')).toMatch(/without ";"/);
    expect(embeddingProblem("a || 'open")).toMatch(/unterminated/);
    expect(embeddingProblem("a || 'ends with escaped quote''")).toMatch(/unterminated/);
    expect(embeddingProblem('a /* open')).toMatch(/unterminated/);
  });

  it('drops comments so that embedded SQL cannot swallow what follows', () => {
    expect(withoutComments("a + b -- c\n + '--x'")).toBe("a + b  \n + '--x'");
  });

  it('recognises plain columns, queries, aggregates and the tables a query reads', () => {
    expect(isPlainColumn(' follower_count ')).toBe(true);
    expect(isPlainColumn('Follower')).toBe(false);
    expect(isPlainColumn('null')).toBe(false);
    expect(isPlainColumn('a + b')).toBe(false);
    expect(isSelect('  -- note\n WITH x as (select 1) select * from x')).toBe(true);
    expect(isSelect('delete from t')).toBe(false);
    expect(aggregateCall('coalesce(a, 0) + SUM (b)')).toBe('SUM');
    expect(aggregateCall("'sum(x)' || summary")).toBeUndefined();
    expect(referencedTables('select * from web.sessions s join "Web"."Pages" p on true left join (select 1 from raw.hits) h on true')).toEqual([
      'web.sessions',
      'Web.Pages',
      'raw.hits',
    ]);
  });
});

describe('analyseDerived', () => {
  it('finds measure references, skipping functions, keywords, types and string literals', () => {
    const d = analyseDerived("case when spend > 0 and 'clicks' <> '' then cast(clicks as double precision) / nullif(spend::float8, 0) else null end");
    expect(d.measures).toEqual(['spend', 'clicks']);
    expect(d.invalid).toEqual([]);
    expect(d.references.size).toBe(3);
  });

  it('refuses qualified and quoted references', () => {
    expect(analyseDerived('t.spend / "Clicks"').invalid).toEqual([
      '"t.spend" is a qualified reference; a derived expression may refer only to measures of this model',
      'quoted identifier "Clicks" is not allowed; a derived expression may refer only to measures by name',
    ]);
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2026-01-31', { value: '2026-01-31', type: 'date' }],
    ['2024-02-29', { value: '2024-02-29', type: 'date' }],
    ['2026-01-31T13:45:00Z', { value: '2026-01-31 13:45:00', type: 'timestamp' }],
    ['2026-01-31 13:45', { value: '2026-01-31 13:45:00', type: 'timestamp' }],
    ['2026-01-31T13:45:10.123456', { value: '2026-01-31 13:45:10.123456', type: 'timestamp' }],
    ['2026-01-01T01:30:00+02:00', { value: '2025-12-31 23:30:00.000', type: 'timestamp' }],
    ['2026-01-01T01:30:00-0130', { value: '2026-01-01 03:00:00.000', type: 'timestamp' }],
  ])('accepts %s', (text, expected) => {
    expect(parseIsoTime(text)).toEqual(expected);
  });

  it.each(['2026-02-29', '2026-13-01', '2026-1-5', '31/01/2026', '2026-01-31T24:00:00Z', 'yesterday', "2026-01-01' or 1=1", ''])('refuses %s', (text) => {
    expect(parseIsoTime(text)).toBeUndefined();
  });
});
