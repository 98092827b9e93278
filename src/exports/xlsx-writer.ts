/**
 * XLSX through exceljs's streaming WorkbookWriter: each data sheet has a bold header row, frozen, with an
 * autofilter; cells hold real numbers and dates with the number formats of the measures (percent,
 * currency, integer, decimal, duration); widths come from the header and the first batch. Past Excel's
 * 1,048,575 data rows the export goes on in a new sheet ("Data 2", …). A last sheet, "About", says what
 * the file answers: the question in words, the filters, when it was made, how fresh the data was, the
 * row count (and which sheet holds which rows), and each measure's definition.
 *
 * Memory. exceljs commits a row into a buffer that it hands on to the zip without waiting for it
 * (research: 1M rows fed in one loop peak at ~470 MB RSS, all of it queued buffers). So after each
 * batch the writer waits until the zip has taken the sheet's queued bytes, which makes the warehouse
 * wait for the client in turn: memory stays flat whatever the row count.
 */
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Row } from '../warehouse/port.js';
import type { AnswerStream, ServedColumn } from '../serving/types.js';
import { cellText, numFmtOf, xlsxValue, type XlsxValue } from './cell-values.js';
import { columnHeader, describeFilter, describeMeasure, describeQuestion } from './describe.js';
import { EXCEL_MAX_DATA_ROWS, type ExportOptions, type ExportSummary } from './export-options.js';
import { waitFor } from './stream-wait.js';

/** Bytes a sheet may have queued for the zip before the writer waits for it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Rows written between two looks at the queue, within a large batch. */
const ROWS_PER_CHECK = 2_000;
const MIN_WIDTH = 8;
const MAX_WIDTH = 60;

/** The part of exceljs's internals the writer watches: the queue between a sheet and the zip. */
interface QueuedStream {
  _writableState?: { length: number };
  on(event: string, listener: () => void): unknown;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/** The stream the zip reads a sheet from (archiver wraps exceljs's StreamBuf in a PassThrough), if found. */
function zipQueueOf(sheet: ExcelJS.Worksheet): QueuedStream | undefined {
  const buf = (sheet as unknown as { stream?: { pipes?: QueuedStream[] } }).stream;
  const queue = buf?.pipes?.[0];
  return queue && typeof queue._writableState?.length === 'number' ? queue : undefined;
}

/** A column's width in characters: its header or its longest value in the sample, within bounds. */
function widthOf(column: ServedColumn, sample: readonly Row[]): number {
  let longest = columnHeader(column).length + 2; // room for the autofilter button
  const fmt = numFmtOf(column);
  for (const row of sample) {
    const v = row[column.key];
    let len: number;
    if (v === null || v === undefined) continue;
    if (typeof v === 'number') {
      const digits = String(Math.trunc(Math.abs(v))).length;
      len = digits + Math.floor((digits - 1) / 3) + (fmt && fmt.includes('.') ? 3 : 0) + (v < 0 ? 2 : 0) + (fmt?.includes('%') ? 3 : 0);
    } else if (column.type === 'date') len = 10;
    else if (column.type === 'timestamp') len = 19;
    else len = String(v).length;
    if (len > longest) longest = len;
  }
  return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, longest + 1));
}

const BOLD = Object.freeze({ font: { bold: true } });

/** Writes the answer as XLSX to `out` and ends it. */
export async function writeXlsx(answer: AnswerStream, out: Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  const { signal } = options;
  const generatedAt = options.generatedAt ?? new Date();
  const perSheet = options.maxRowsPerSheet ?? EXCEL_MAX_DATA_ROWS;
  const columns = answer.columns;
  // One style object per column: exceljs caches a style by object identity, so sharing it keeps the
  // per-cell cost to a lookup.
  const styles = columns.map((c) => {
    const numFmt = numFmtOf(c);
    return numFmt ? { numFmt } : {};
  });
  const headerStyles = columns.map(() => BOLD);
  const headers = columns.map((c) => cellText(columnHeader(c)));

  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  workbook.creator = 'Sextant';
  workbook.created = generatedAt;
  const sheets: Array<{ name: string; first: number; last: number }> = [];
  let widths: number[] | undefined;
  let sheet: ExcelJS.Worksheet | undefined;
  let onSheet = 0;
  let rows = 0;

  const openSheet = () => {
    const name = sheets.length === 0 ? 'Data' : `Data ${sheets.length + 1}`;
    // Views are written when the sheet is created, columns before its first row (exceljs's order).
    const ws = workbook.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1, xSplit: 0, activeCell: 'A2' }] });
    ws.columns = columns.map((c, i) => ({ key: c.key, width: widths?.[i] ?? MIN_WIDTH }));
    if (columns.length > 0) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
    const header = ws.addRow(headers);
    for (let i = 0; i < columns.length; i++) header.getCell(i + 1).style = headerStyles[i];
    header.commit();
    sheets.push({ name, first: rows + 1, last: rows });
    onSheet = 0;
    sheet = ws;
  };

  /** Waits while the current sheet has more than MAX_QUEUED_BYTES waiting for the zip. */
  const relieve = async () => {
    const queue = sheet ? zipQueueOf(sheet) : undefined;
    if (queue && (queue._writableState?.length ?? 0) > MAX_QUEUED_BYTES) await waitFor(queue as unknown as Writable, 'drain', out, signal);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  };

  try {
    for await (const batch of answer.batches) {
      signal?.throwIfAborted();
      if (!widths) widths = columns.map((c) => widthOf(c, batch.slice(0, 1000)));
      for (let b = 0; b < batch.length; b++) {
        if (!sheet || onSheet >= perSheet) {
          if (sheet) {
            sheet.commit();
            await relieve();
          }
          openSheet();
        }
        const source = batch[b];
        const values: XlsxValue[] = new Array(columns.length);
        for (let i = 0; i < columns.length; i++) values[i] = xlsxValue(source[columns[i].key], columns[i]);
        const row = sheet!.addRow(values);
        for (let i = 0; i < columns.length; i++) row.getCell(i + 1).style = styles[i];
        row.commit();
        onSheet++;
        rows++;
        sheets[sheets.length - 1].last = rows;
        if (rows % ROWS_PER_CHECK === 0) await relieve();
      }
      options.onRows?.(rows);
    }
    if (!sheet) {
      widths = columns.map((c) => widthOf(c, []));
      openSheet();
    }
    sheet!.commit();
    writeAbout(workbook, answer, options, { generatedAt, rows, sheets, perSheet });
    await workbook.commit();
    return { rows, sheets: sheets.map((s) => s.name) };
  } catch (err) {
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/** The About sheet: what the file answers, for whoever opens it later. */
function writeAbout(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  answer: AnswerStream,
  options: ExportOptions,
  done: { generatedAt: Date; rows: number; sheets: Array<{ name: string; first: number; last: number }>; perSheet: number },
): void {
  const ws = workbook.addWorksheet('About');
  ws.columns = [{ width: 22 }, { width: 80 }, { width: 60 }, { width: 60 }];
  const line = (label: string, ...values: Array<string | number>) => {
    const row = ws.addRow([cellText(label), ...values.map((v) => (typeof v === 'string' ? cellText(v) : v))]);
    row.getCell(1).style = BOLD;
    row.commit();
  };
  const model = options.model;
  line('Model', model?.description ? `${answer.query.model} — ${model.description}` : answer.query.model);
  line('Question', describeQuestion(answer.query));
  if (answer.query.filters.length === 0) line('Filters', 'none');
  answer.query.filters.forEach((f, i) => line(i === 0 ? 'Filters' : '', describeFilter(f)));
  line('Generated at (UTC)', done.generatedAt.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC'));
  line('Data freshness', answer.lastLoadedAt ? `last loaded ${answer.lastLoadedAt}` : 'unknown (no load recorded for this model)');
  line('Rows', done.rows);
  if (done.sheets.length > 1) {
    line('Sheets', `${done.sheets.length} data sheets: a sheet holds at most ${done.perSheet.toLocaleString('en-US')} rows (Excel's limit), so the rows go on from sheet to sheet`);
    for (const s of done.sheets) line('', `${s.name}: rows ${s.first.toLocaleString('en-US')} to ${s.last.toLocaleString('en-US')}`);
  }
  ws.addRow([]).commit();
  const head = ws.addRow(['Measure', 'Format', 'Definition', 'Description']);
  for (let i = 1; i <= 4; i++) head.getCell(i).style = BOLD;
  head.commit();
  for (const column of answer.columns.filter((c) => c.kind === 'measure')) {
    const m = describeMeasure(column, model);
    ws.addRow([cellText(m.name), cellText(m.format), cellText(m.definition), cellText(m.description)]).commit();
  }
  ws.addRow([]).commit();
  line('Notes', 'Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) starts with an apostrophe here.');
  if (answer.columns.some((c) => c.format === 'duration')) line('', 'Durations are time values ([h]:mm:ss); the warehouse holds them in seconds (multiply by 86,400).');
  if (answer.columns.some((c) => c.format === 'percent')) line('', 'Percentages are fractions formatted as percent (0.05 shows as 5.00%).');
  ws.commit();
}
