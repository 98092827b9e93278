import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseRecords, formatOfName, type ParseRecordsOptions } from '../../src/ingest/parsers/parse-records.js';
import { detectDelimiter } from '../../src/ingest/parsers/csv-parser.js';
import type { ParsedRecord } from '../../src/ingest/parsers/parsed-record.js';

/** Feeds the bytes in small chunks so that BOMs, multi-byte characters and lines straddle chunk boundaries. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function parse(input: string | Buffer, file: string, options: Partial<ParseRecordsOptions> = {}, chunk = 7): Promise<ParsedRecord[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const out: ParsedRecord[] = [];
  for await (const r of parseRecords(chunked(bytes, chunk), { file, ...options })) out.push(r);
  return out;
}

async function parseError(input: string | Buffer, file: string, options: Partial<ParseRecordsOptions> = {}): Promise<UserError> {
  try {
    await parse(input, file, options);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected the parse to fail');
}

describe('CSV parser', () => {
  it('yields records keyed by the trimmed header with the line where each starts', async () => {
    const rows = await parse(' Post ID ,Date,Impressions\np1,2026-01-01,10\n\np2,2026-01-02,"1,5"\n', 'a.csv');
    expect(rows).toEqual([
      { line: 2, record: { 'Post ID': 'p1', Date: '2026-01-01', Impressions: '10' } },
      { line: 4, record: { 'Post ID': 'p2', Date: '2026-01-02', Impressions: '1,5' } },
    ]);
  });

  it('skips rows of bare delimiters that spreadsheets leave at the end', async () => {
    const rows = await parse('id,name\n1,a\n,\n2,b\n,\n ,\n', 'excel.csv');
    expect(rows).toEqual([
      { line: 2, record: { id: '1', name: 'a' } },
      { line: 4, record: { id: '2', name: 'b' } },
    ]);
  });

  it('strips a UTF-8 BOM', async () => {
    const rows = await parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\n1,Zoë\n')]), 'bom.csv');
    expect(rows).toEqual([{ line: 2, record: { id: '1', name: 'Zoë' } }]);
  });

  it('detects ";" and tab delimiters from the header line', async () => {
    expect(await parse('id;amount\n1;2,5\n', 'semi.csv')).toEqual([{ line: 2, record: { id: '1', amount: '2,5' } }]);
    expect(await parse('id\tname\n1\ta, b\n', 'tab.tsv')).toEqual([{ line: 2, record: { id: '1', name: 'a, b' } }]);
    expect(detectDelimiter('"a;b",c')).toBe(',');
    expect(await parse('id|name\n1|a, b; c\n', 'pipe.txt')).toEqual([{ line: 2, record: { id: '1', name: 'a, b; c' } }]);
    expect(detectDelimiter('single')).toBe(',');
  });

  it('keeps quoted line breaks, doubled quotes and CRLF, and counts lines physically', async () => {
    const rows = await parse('id,text\r\n1,"two\r\nlines"\r\n2,"say ""hi"""\r\n3,x', 'q.csv');
    expect(rows).toEqual([
      { line: 2, record: { id: '1', text: 'two\r\nlines' } },
      { line: 4, record: { id: '2', text: 'say "hi"' } },
      { line: 5, record: { id: '3', text: 'x' } },
    ]);
  });

  it('reads CR-only and mixed line endings, counting each break once', async () => {
    expect(await parse('id,v\r1,a\r2,b\r', 'mac.csv')).toEqual([
      { line: 2, record: { id: '1', v: 'a' } },
      { line: 3, record: { id: '2', v: 'b' } },
    ]);
    const mixed = await parse('id,v\r\n1,"x\ny"\n2,b\r\n\r\n3,c', 'mixed.csv');
    expect(mixed.map((r) => r.line)).toEqual([2, 4, 6]);
    // Whatever the chunking, a CRLF split across two chunks is one line break.
    const crlf = 'id,v\r\n1,a\r\n2,"b\r\nc"\r\n\r\n3,d\r\n';
    for (let size = 1; size <= 12; size++) {
      expect((await parse(crlf, 'crlf.csv', {}, size)).map((r) => [r.line, r.record.v])).toEqual([[2, 'a'], [3, 'b\r\nc'], [6, 'd']]);
    }
  });

  it('decodes UTF-16LE and UTF-16BE with a BOM', async () => {
    const text = 'id,name\n1,Zoë ✓\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(await parse(le, 'le.csv')).toEqual([{ line: 2, record: { id: '1', name: 'Zoë ✓' } }]);
    const be = Buffer.from(text, 'utf16le').swap16();
    expect(await parse(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'be.csv')).toEqual([{ line: 2, record: { id: '1', name: 'Zoë ✓' } }]);
  });

  it('rejects an empty file', async () => {
    const err = await parseError('', 'empty.csv');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/empty\.csv: the file is empty/);
    expect((await parseError('\n\n  \n', 'blank.csv')).message).toMatch(/empty/);
  });

  it('rejects a header with no rows', async () => {
    const err = await parseError('id,name\n', 'head.csv');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/head\.csv: the file has a header but no rows/);
  });

  it('rejects ragged rows, naming the line and the field counts', async () => {
    const more = await parseError('a,b\n1,2\n3,4,5\n6,7\n', 'ragged.csv');
    expect(more.code).toBe('INPUT_INVALID');
    expect(more.message).toMatch(/ragged\.csv, line 3: the row has 3 fields but the header has 2/);
    expect(more.problems[0]).toMatchObject({ file: 'ragged.csv', line: 3 });
    const fewer = await parseError('a,b,c\n1,2,3\n\n"x\ny",2,3\n4,5\n', 'fewer.csv');
    expect(fewer.message).toMatch(/line 6: the row has 2 fields but the header has 3/);
  });

  it('rejects an unclosed quote at the line where the quoted value starts', async () => {
    const err = await parseError('a,b\n1,2\n3,"open\n4,5\n6,7\n', 'quote.csv');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/quote\.csv, line 3: a quoted value that starts in this row is never closed/);
  });

  it('reads Windows-1252 (Excel\'s "CSV" on Windows): é, €, curly quotes and en dashes arrive as written', async () => {
    // "Café", "€ 5", “quoted”, 2026–01: bytes 0xE9, 0x80, 0x93/0x94 and 0x96 in Windows-1252.
    const bytes = Buffer.concat([
      Buffer.from('id,name\n1,Caf'), Buffer.from([0xe9]), Buffer.from('\n2,'), Buffer.from([0x80]), Buffer.from(' 5\n3,'),
      Buffer.from([0x93]), Buffer.from('quoted'), Buffer.from([0x94]), Buffer.from('\n4,2026'), Buffer.from([0x96]), Buffer.from('01\n'),
    ]);
    const records = await parse(bytes, 'cp1252.csv');
    expect(records.map((r) => r.record.name)).toEqual(['Café', '€ 5', '“quoted”', '2026–01']);
    expect(records.map((r) => r.line)).toEqual([2, 3, 4, 5]);
  });

  it('rejects a file that turns from UTF-8 into another encoding, naming the line and how to save it', async () => {
    const start = `id,name\n${Array.from({ length: 7000 }, (_, i) => `${i},Zoë ${i}`).join('\n')}\n`;
    const bytes = Buffer.concat([Buffer.from(start), Buffer.from('7000,Caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const err = await parseError(bytes, 'mixed.csv');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/mixed\.csv, line 7002: it starts as UTF-8 but is not UTF-8 from here on .*"CSV UTF-8 \(Comma delimited\)"/);
  });

  it('rejects binary content', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    const err = await parseError(png, 'image.csv');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/image\.csv: this is a PNG image/);
    const xlsx = await parseError(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(40, 1)]), 'report.csv');
    // A ZIP is read as a workbook whatever its name; this one is not a readable workbook.
    expect(xlsx.message).toMatch(/^report\.csv: this is not a readable XLSX workbook \(.+\); save it again from Excel/);
    const forced = await parseError(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(40, 1)]), 'report.csv', { format: 'csv' });
    expect(forced.message).toBe('report.csv: this is a ZIP archive or an Excel workbook (XLSX), not text; upload a workbook without forcing the CSV or JSON format');
    const nul = await parseError(Buffer.from('a,b\n1,2\n3,\u0000\n'), 'nul.csv');
    expect(nul.message).toMatch(/nul\.csv, line 3: the file contains a NUL character/);
  });

  it('rejects an over-long field instead of buffering it', async () => {
    const big = 'x'.repeat(5000);
    const err = await parseError(`a,b\n1,2\n3,"${big}"\n`, 'long.csv', { maxFieldBytes: 1000 });
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toMatch(/long\.csv, line 3: a row \(or a value in it\) is longer than the limit of 1000 characters/);
    // An unterminated quote in a big file hits the same limit rather than reading to the end.
    const runaway = await parseError(`a,b\n1,"${'y\n'.repeat(3000)}`, 'runaway.csv', { maxFieldBytes: 1000 });
    expect(runaway.message).toMatch(/line 2: a row \(or a value in it\) is longer than the limit/);
  });

  it('rejects a header that names a column twice', async () => {
    const err = await parseError('id,Name,name\n1,2,3\n', 'dup.csv');
    expect(err.message).toMatch(/dup\.csv, line 1: the header has the column "name" twice/);
  });

  it('reports the header once, and ignores columns with an empty header', async () => {
    let header: string[] = [];
    const rows = await parse('id,name,\n1,a,\n', 'trail.csv', { onHeader: (h) => (header = h) });
    expect(header).toEqual(['id', 'name']);
    expect(rows).toEqual([{ line: 2, record: { id: '1', name: 'a' } }]);
  });

  it('streams: a consumer that stops early does not read the rest', async () => {
    let pulled = 0;
    async function* many(): AsyncGenerator<Buffer> {
      yield Buffer.from('id\n');
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield Buffer.from(`${i}\n`);
      }
    }
    for await (const r of parseRecords(many(), { file: 'big.csv' })) {
      if (r.line === 10) break;
    }
    expect(pulled).toBeLessThan(100_000);
  });
});

describe('JSON parser', () => {
  it('streams a top-level array, flattening nested objects and keeping arrays as JSON text', async () => {
    const json = '[\n  {"id": 1, "post": {"id": "p1", "stats": {"likes": 3}}, "tags": ["a", "b"]},\n  {"id": 2,\n   "post": null}\n]\n';
    expect(await parse(json, 'a.json')).toEqual([
      { line: 2, record: { id: 1, post_id: 'p1', post_stats_likes: 3, tags: '["a","b"]' } },
      { line: 3, record: { id: 2, post: null } },
    ]);
  });

  it('reads NDJSON with physical line numbers and keeps big numbers exact', async () => {
    const rows = await parse('{"id": 1}\n\n{"id": 12345678901234567890, "v": 0.1}\n', 'a.ndjson');
    expect(rows).toEqual([
      { line: 1, record: { id: 1 } },
      { line: 3, record: { id: '12345678901234567890', v: 0.1 } },
    ]);
  });

  it('keeps the objects of json columns whole', async () => {
    const rows = await parse('[{"id": 1, "meta": {"a": {"b": 1}}}]', 'k.json', { keepAsJson: new Set(['meta']) });
    expect(rows).toEqual([{ line: 1, record: { id: 1, meta: '{"a":{"b":1}}' } }]);
  });

  it('sniffs the format when the extension says nothing', async () => {
    expect(formatOfName('x.bin')).toBeUndefined();
    expect(await parse('  [{"a": 1}]', 'upload')).toEqual([{ line: 1, record: { a: 1 } }]);
    expect(await parse('a\n1\n', 'upload')).toEqual([{ line: 2, record: { a: '1' } }]);
  });

  it('reads JSON with a UTF-8 BOM and UTF-16LE JSON', async () => {
    const text = '[{"id": 1, "name": "Zoë"}]';
    expect(await parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'bom.json')).toEqual([{ line: 1, record: { id: 1, name: 'Zoë' } }]);
    expect(await parse(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'le.json')).toEqual([{ line: 1, record: { id: 1, name: 'Zoë' } }]);
  });

  it('rejects JSON cut off mid-way', async () => {
    const err = await parseError('[\n{"id": 1},\n{"id": 2, "name": "ab', 'cut.json');
    expect(err.code).toBe('INPUT_INVALID');
    expect(err.message).toBe('cut.json, line 3: the JSON ends before it is complete (expected a string value); the file looks truncated');
    const nd = await parseError('{"id": 1}\n{"id": ', 'cut.ndjson');
    expect(nd.message).toMatch(/cut\.ndjson, line 2: the JSON ends before it is complete/);
  });

  it('rejects JSON syntax errors naming the line', async () => {
    const err = await parseError('[\n{"id": 1},\n{"id" 2}\n]', 'bad.json');
    expect(err.message).toMatch(/bad\.json, line 3: invalid JSON/);
  });

  it('rejects JSON that is not objects', async () => {
    const arr = await parseError('[\n{"id": 1},\n2\n]', 'nums.json');
    expect(arr.message).toMatch(/nums\.json, line 3: element 2 of the array is a number, not an object/);
    const top = await parseError('"hello"', 'str.json');
    expect(top.message).toMatch(/str\.json, line 1: expected a JSON array of objects or one JSON object per line/);
    const nested = await parseError('[[1, 2]]', 'nested.json');
    expect(nested.message).toMatch(/element 1 of the array is an array, not an object/);
  });

  it('rejects an empty file and an empty array', async () => {
    expect((await parseError('', 'e.json')).message).toMatch(/e\.json: the file is empty/);
    expect((await parseError('[]', 'e.json')).message).toMatch(/e\.json: the file has no records/);
  });

  it('rejects a JSON record too big to hold, though each value is within the limit', async () => {
    const fields = Array.from({ length: 400 }, (_, i) => `"f${i}": "${'v'.repeat(20)}"`).join(',\n');
    const err = await parseError(`[\n{"id": 1},\n{${fields}}\n]`, 'wide.json', { maxFieldBytes: 1000 });
    expect(err.message).toMatch(/wide\.json, line 3: the record starting on this line is longer than the limit of 4000 characters/);
  });

  it('reads a minified array on one line, whatever its total size', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `name ${i}` }));
    const rows = await parse(JSON.stringify(records), 'min.json', { maxFieldBytes: 1000 }, 4096);
    expect(rows).toHaveLength(2000);
    expect(rows[1999]).toEqual({ line: 1, record: { id: 1999, name: 'name 1999' } });
  });

  it('rejects an over-long JSON string', async () => {
    const err = await parseError(`[{"a": "${'z'.repeat(5000)}"}]`, 'long.json', { maxFieldBytes: 1000 });
    expect(err.message).toMatch(/long\.json, line 1: a value is longer than the limit of 1000 characters/);
  });
});
