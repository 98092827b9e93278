/**
 * An Excel workbook for the add-in's tests, built on office-addin-mock's OfficeMockObject: properties
 * such as `rowIndex`, `name` or `isNullObject` throw office-like errors unless `load`ed and synced,
 * exactly where real Office would. Cells live in a grid per sheet, tables in a list, and every
 * `context.sync()` records the payload (JSON bytes of values and formats) queued since the last one.
 */
import { OfficeMockObject } from 'office-addin-mock';
import type { SettingsLike } from '../../src/console/excel/workbook.js';

interface TableState {
  name: string;
  sheet: string;
  row: number;
  column: number;
  height: number;
  width: number;
  converted: boolean;
}

export interface FakeWorkbook {
  /** What `Excel` is in the add-in: `run(cb)` calls back with the context. */
  excel: { run<T>(cb: (context: Excel.RequestContext) => Promise<T>): Promise<T> };
  settings: SettingsLike;
  /** The values of a sheet's rectangle. */
  values(sheet: string, row: number, column: number, height: number, width: number): unknown[][];
  /** The number format of one cell. */
  format(sheet: string, row: number, column: number): unknown;
  /** Live tables (not converted back to ranges). */
  tables(): TableState[];
  /** JSON bytes queued before each sync. */
  syncBytes: number[];
  /** Selects a cell of a sheet (the sheet becomes the active one). */
  select(sheet: string, row: number, column: number): void;
  /** Deletes a table and its cells, as a user would. */
  deleteTable(name: string): void;
}

function parseAddress(address: string): { row: number; column: number; height: number; width: number } {
  const m = /^([A-Z]+)(\d+):([A-Z]+)(\d+)$/.exec(address.replace(/^.*!/, ''));
  if (!m) throw new Error(`unexpected address ${address}`);
  const col = (letters: string) => [...letters].reduce((a, ch) => a * 26 + ch.charCodeAt(0) - 64, 0) - 1;
  const row = Number(m[2]) - 1;
  const column = col(m[1]);
  return { row, column, height: Number(m[4]) - row, width: col(m[3]) - column + 1 };
}

export function fakeWorkbook(): FakeWorkbook {
  const cells = new Map<string, Map<string, unknown>>();
  const formats = new Map<string, Map<string, unknown>>();
  const tables: TableState[] = [];
  const sheets = new Set<string>(['Sheet1']);
  const live: OfficeMockObject[] = [];
  const syncBytes: number[] = [];
  let pending = 0;
  let selected = { sheet: 'Sheet1', row: 0, column: 0 };
  const grid = (m: Map<string, Map<string, unknown>>, sheet: string) => {
    let g = m.get(sheet);
    if (!g) m.set(sheet, (g = new Map()));
    return g;
  };
  /** A mock object the context syncs (load → sync → readable). */
  const mock = (data: Record<string, unknown>): OfficeMockObject & Record<string, any> => {
    const o = new OfficeMockObject(data, 'excel' as never) as OfficeMockObject & Record<string, any>;
    live.push(o);
    return o;
  };

  const range = (sheet: string, row: number, column: number, height: number, width: number) => {
    const r = mock({
      rowIndex: row,
      columnIndex: column,
      clear: () => {
        for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) {
          grid(cells, sheet).delete(`${row + i},${column + j}`);
          grid(formats, sheet).delete(`${row + i},${column + j}`);
        }
      },
      format: { autofitColumns: () => undefined },
    });
    const write = (m: Map<string, Map<string, unknown>>) => (v: unknown[][]) => {
      if (v.length !== height || v.some((line) => line.length !== width)) throw new Error(`InvalidArgument: ${v.length} rows for a range of ${height} × ${width}`);
      pending += JSON.stringify(v).length;
      v.forEach((line, i) => line.forEach((x, j) => grid(m, sheet).set(`${row + i},${column + j}`, x)));
    };
    Object.defineProperty(r, 'values', { set: write(cells) });
    Object.defineProperty(r, 'numberFormat', { set: write(formats) });
    return r;
  };

  const table = (state: TableState) => {
    const t = mock({
      isNullObject: false,
      getRange: () => range(state.sheet, state.row, state.column, state.height, state.width),
      convertToRange: () => {
        state.converted = true;
      },
    });
    Object.defineProperty(t, 'name', { get: () => state.name, set: (v: string) => (state.name = v) });
    Object.defineProperty(t, 'worksheet', { get: () => worksheet(state.sheet) });
    return t;
  };

  const worksheet = (name: string) =>
    mock({
      name,
      isNullObject: false,
      getRangeByIndexes: (row: number, column: number, height: number, width: number) => range(name, row, column, height, width),
      tables: {
        add: (address: string, hasHeaders: boolean) => {
          if (!hasHeaders) throw new Error('the add-in always writes a header');
          const a = parseAddress(address);
          const state: TableState = { name: `Table${tables.length + 1}`, sheet: name, ...a, converted: false };
          tables.push(state);
          return table(state);
        },
      },
    });

  const nullObject = () => mock({ isNullObject: true });
  const liveTables = () => tables.filter((t) => !t.converted);

  const data = {
    context: {
      workbook: {
        getSelectedRange: () => range(selected.sheet, selected.row, selected.column, 1, 1),
        worksheets: {
          getActiveWorksheet: () => worksheet(selected.sheet),
          getItemOrNullObject: (name: string) => (sheets.has(name) ? worksheet(name) : nullObject()),
          add: (name: string) => {
            sheets.add(name);
            return worksheet(name);
          },
        },
        tables: {
          getItemOrNullObject: (name: string) => {
            const state = liveTables().find((t) => t.name.toLowerCase() === name.toLowerCase());
            return state ? table(state) : nullObject();
          },
        },
      },
    },
    run: async function (this: { context: unknown }, cb: (context: unknown) => Promise<unknown>) {
      return cb(this.context);
    },
  };
  const excel = new OfficeMockObject(data, 'excel' as never) as OfficeMockObject & Record<string, any>;
  const context = excel.context as OfficeMockObject & Record<string, any>;
  // The collection's items are whatever tables exist when it is loaded.
  const collection = context.workbook.tables as Record<string, any>;
  collection.load = (property: string) => {
    if (property !== 'items/name' && property !== 'items') throw new Error(`unexpected load ${property}`);
    collection.items = liveTables().map((s) => ({ name: s.name }));
    return collection;
  };
  const mockSync = context.sync.bind(context);
  context.sync = async () => {
    syncBytes.push(pending);
    pending = 0;
    await mockSync();
    for (const o of live) await o.sync();
  };

  const stored = new Map<string, unknown>();
  const settingsMock = new OfficeMockObject({
    get: (name: string) => stored.get(name) ?? null,
    set: (name: string, value: unknown) => void stored.set(name, JSON.parse(JSON.stringify(value))),
    saveAsync: (cb?: (r: { status: string }) => void) => cb?.({ status: 'succeeded' }),
  }) as unknown as SettingsLike;

  return {
    excel: excel as unknown as FakeWorkbook['excel'],
    settings: settingsMock,
    values: (sheet, row, column, height, width) =>
      Array.from({ length: height }, (_, i) => Array.from({ length: width }, (_, j) => grid(cells, sheet).get(`${row + i},${column + j}`))),
    format: (sheet, row, column) => grid(formats, sheet).get(`${row},${column}`),
    tables: liveTables,
    syncBytes,
    select: (sheet, row, column) => {
      sheets.add(sheet);
      selected = { sheet, row, column };
    },
    deleteTable: (name) => {
      const state = liveTables().find((t) => t.name === name);
      if (!state) return;
      state.converted = true;
      for (let i = 0; i < state.height; i++) for (let j = 0; j < state.width; j++) grid(cells, state.sheet).delete(`${state.row + i},${state.column + j}`);
    },
  };
}
