/**
 * The CSV tokenizer against csv-parse, the library it replaced, on thousands of generated inputs made of
 * the characters that matter (values, delimiters, quotes, `\r`, `\n`, spaces), fed in random chunk sizes:
 * the same records, the same start lines, and the same error at the same line for every malformed one.
 */
import { describe, expect, it } from 'vitest';
import { parse as csvParse, CsvError } from 'csv-parse/sync';
import { CsvReader, CsvSyntaxError, type LocatedFields } from '../../src/ingest/parsers/csv-reader.js';
import { Rng } from '../../src/demo/random.js';

type Outcome = { records: LocatedFields[] } | { error: string; line: number; fields?: number };

/** Line breaks in a value, `\r\n` once (what the old csv-parse wrapper counted). */
function breaks(fields: string[]): number {
  return fields.reduce((n, f) => n + (f.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
}

/** The old path: csv-parse with the options csv-parser.ts used, lines recomputed as its wrapper did. */
function viaCsvParse(text: string, delimiter: string): Outcome {
  const records: LocatedFields[] = [];
  let lastEnd = 0;
  let lastEmpty = 0;
  try {
    csvParse(text, {
      delimiter,
      bom: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: true,
      max_record_size: 1_000_000,
      relax_column_count: false,
      on_record: (record: string[], context) => {
        const line = lastEnd + 1 + (context.empty_lines - lastEmpty);
        lastEnd = line + breaks(record);
        lastEmpty = context.empty_lines;
        records.push({ line, fields: record });
        return record;
      },
    });
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const e = err as CsvError & { empty_lines?: number; record?: unknown[] };
    const line = lastEnd + 1 + ((typeof e.empty_lines === 'number' ? e.empty_lines : lastEmpty) - lastEmpty);
    const code =
      err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' || err.code === 'CSV_RECORD_INCONSISTENT_COLUMNS'
        ? 'INCONSISTENT_FIELDS'
        : err.code === 'CSV_QUOTE_NOT_CLOSED'
          ? 'QUOTE_NOT_CLOSED'
          : err.code === 'CSV_MAX_RECORD_SIZE'
            ? 'MAX_RECORD_SIZE'
            : 'INVALID_QUOTE';
    return code === 'INCONSISTENT_FIELDS' ? { error: code, line, fields: Array.isArray(e.record) ? e.record.length : undefined } : { error: code, line };
  }
  return { records };
}

function viaReader(text: string, delimiter: string, cuts: number[]): Outcome {
  const reader = new CsvReader(delimiter, 1_000_000);
  const records: LocatedFields[] = [];
  try {
    let at = 0;
    for (const cut of cuts) {
      reader.feed(text.slice(at, cut), false, records);
      at = cut;
    }
    reader.feed(text.slice(at), true, records);
  } catch (err) {
    if (!(err instanceof CsvSyntaxError)) throw err;
    return err.code === 'INCONSISTENT_FIELDS' ? { error: err.code, line: err.line, fields: err.fields } : { error: err.code, line: err.line };
  }
  return { records };
}

/** Seeded, so that a run (and a failure) is reproducible: the demo's generator (mulberry32). */
function random(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

describe('CSV tokenizer', () => {
  it.each([',', ';', '\t'])('matches csv-parse on 20,000 generated inputs, whatever the chunking (delimiter %j)', (delimiter) => {
    const alphabet = ['a', 'b', delimiter, delimiter, ',', '"', '"', '\r', '\n', '\n', ' ', 'é', '\r\n'];
    let malformed = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const next = random(seed);
      const length = Math.floor(next() * 40);
      let text = next() < 0.1 ? '\uFEFF' : '';
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      const cuts = [...new Set(Array.from({ length: Math.floor(next() * 4) }, () => Math.floor(next() * text.length)))].sort((x, y) => x - y);
      const expected = viaCsvParse(text, delimiter);
      if ('error' in expected) malformed++;
      expect({ seed, text, outcome: viaReader(text, delimiter, cuts) }).toEqual({ seed, text, outcome: expected });
    }
    // The generator reaches both sides: well-formed inputs and every kind of malformed one.
    expect(malformed).toBeGreaterThan(1000);
    expect(malformed).toBeLessThan(19_000);
  });

  it('refuses a record longer than the limit, at the line where it starts, even before its end arrives', () => {
    const reader = new CsvReader(',', 10);
    const out: LocatedFields[] = [];
    reader.feed('a,b\n1,2\n\n', false, out);
    expect(out.map((r) => r.line)).toEqual([1, 2]);
    expect(() => reader.feed('3,"' + 'x'.repeat(20), false, out)).toThrow(expect.objectContaining({ code: 'MAX_RECORD_SIZE', line: 4 }));
    const exact = new CsvReader(',', 10);
    exact.feed('a,b\n12345,67890\n', true, out);
    expect(out.at(-1)).toEqual({ line: 2, fields: ['12345', '67890'] });
  });
});
