/**
 * Node-side CPU of an upload's parse + convert, without a warehouse: a generated CSV like bench/ingest.ts
 * writes (`platform,Post ID,Date,impressions,likes`, into `social.manual_posts` of examples/agency) held in
 * memory as 64 KiB byte chunks, then read three ways in one run:
 *
 * - `csv-parse`: csv-parse alone (records as arrays, no line bookkeeping) — the floor of the old parser;
 * - `old parse`, `old parse+convert`: the path before the own tokenizer and the conversion fast path
 *   (bench/support/old-csv-parser.ts and old-convert.ts, verbatim copies), on the same decoded text;
 * - `parse`, `parse+convert`: parseRecords (decode, CSV, line numbers, header mapping) and the loader's
 *   RecordConverter, as the loader runs them now.
 *
 * Prints CPU seconds (user + system of this process) per 1M rows and the load average before and after.
 *
 *   npx tsx bench/parse.ts [--rows 1000000] [--runs 2]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as csvParse } from 'csv-parse';
import { Readable } from 'node:stream';
import { parseRecords } from '../src/ingest/parsers/parse-records.js';
import { RecordConverter } from '../src/ingest/convert.js';
import { loadTargets } from '../src/ingest/targets.js';
import { decodeText } from '../src/ingest/parsers/decode-text.js';
import { parseCsv as oldParseCsv } from './support/old-csv-parser.js';
import { RecordConverter as OldRecordConverter } from './support/old-convert.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '2' } } });
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

function makeCsv(rows: number): Buffer[] {
  const chunks: Buffer[] = [];
  const platforms = ['facebook', 'instagram', 'x'];
  let buf = 'platform,Post ID,Date,impressions,likes\n';
  for (let i = 0; i < rows; i++) {
    const d = new Date(Date.UTC(2025, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10);
    buf += `${platforms[i % 3]},p${i},${d},${(i * 7919) % 100000},${(i * 31) % 5000}\n`;
    if (buf.length > 1 << 16) {
      chunks.push(Buffer.from(buf));
      buf = '';
    }
  }
  chunks.push(Buffer.from(buf));
  return chunks;
}

async function* replay(chunks: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function cpu(run: () => Promise<number>): Promise<{ seconds: number; rows: number }> {
  const before = process.cpuUsage();
  const rows = await run();
  const used = process.cpuUsage(before);
  return { seconds: (used.user + used.system) / 1e6, rows };
}

const { targets } = await loadTargets(resolve(import.meta.dirname, '../examples/agency'));
const target = targets.get('social_manual_posts');
if (!target) throw new Error('examples/agency has no target social_manual_posts');
const chunks = makeCsv(ROWS);

const ways: Record<string, () => Promise<number>> = {
  'csv-parse': async () => {
    let n = 0;
    for await (const _ of Readable.from(replay(chunks)).pipe(csvParse({ delimiter: ',', bom: true, record_delimiter: ['\r\n', '\n', '\r'], skip_empty_lines: true }))) n++;
    return n - 1;
  },
  'old parse': async () => {
    let n = 0;
    for await (const _ of oldParseCsv(decodeText(replay(chunks), { file: 'bench.csv' }), { file: 'bench.csv' })) n++;
    return n;
  },
  'old parse+convert': async () => {
    const converter = new OldRecordConverter(target);
    let n = 0;
    for await (const { line, record } of oldParseCsv(decodeText(replay(chunks), { file: 'bench.csv' }), { file: 'bench.csv' })) {
      const r = converter.convert(line, record);
      if (!r.ok) throw new Error(`line ${line}: ${r.errors[0].message}`);
      n++;
    }
    return n;
  },
  parse: async () => {
    let n = 0;
    for await (const _ of parseRecords(replay(chunks), { file: 'bench.csv' })) n++;
    return n;
  },
  'parse+convert': async () => {
    const converter = new RecordConverter(target);
    let n = 0;
    for await (const { line, record } of parseRecords(replay(chunks), { file: 'bench.csv' })) {
      const r = converter.convert(line, record);
      if (!r.ok) throw new Error(`line ${line}: ${r.errors[0].message}`);
      n++;
    }
    return n;
  },
};

console.log(`bench/parse: ${ROWS} rows, ${RUNS} run(s) each; load average before: ${load()}`);
for (let run = 1; run <= RUNS; run++) {
  for (const [name, way] of Object.entries(ways)) {
    const { seconds, rows } = await cpu(way);
    if (rows !== ROWS) throw new Error(`${name} read ${rows} rows, expected ${ROWS}`);
    console.log(`run ${run}  ${name.padEnd(18)} ${((seconds * 1e6) / ROWS).toFixed(2)} CPU s per 1M rows`);
  }
}
console.log(`load average after: ${load()}`);
