/**
 * `sextant export` as a user runs it: a child process over a DuckDB file with the demo data, writing a
 * file with its progress on stderr; a bad question exits non-zero and leaves no file behind. DuckDB is
 * opened with a 64MB memory_limit for an export unless SEXTANT_DUCKDB_MEMORY_LIMIT is set.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo } from '../../src/demo/generate.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import { EXPORT_DUCKDB_MEMORY_LIMIT, exportConfig } from '../../src/cli/export.js';
import { loadConfig } from '../../src/config/env.js';
import { runSextant, type CliRun } from '../support/cli-process.js';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sextant-export-cli-'));
  const file = join(dir, 'warehouse.duckdb');
  const warehouse = await openWarehouse({ kind: 'duckdb', path: file }, { statementTimeoutMs: 0 });
  try {
    await generateDemo(warehouse, { rows: 3_000 });
  } finally {
    await warehouse.close();
  }
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SEXTANT_WAREHOUSE: `duckdb:${file}`,
    SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
    SEXTANT_DEMO: 'off',
    SEXTANT_LOG_LEVEL: 'error',
  };
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sextant(args: string[]): Promise<CliRun> {
  return runSextant(args, { cwd: dir, env });
}

describe('sextant export', () => {
  it('writes the file with a progress line', async () => {
    const out = join(dir, 'traffic.xlsx');
    const { code, output } = await sextant([
      'export', '--model', 'web.traffic', '--measures', 'sessions,revenue', '--dimensions', 'metric_date:month,device',
      '--filter', 'device=mobile,desktop', '--order', 'metric_date,device', '--format', 'xlsx', '--out', out,
    ]);
    expect(output).toMatch(/export .*traffic\.xlsx .*done: \d+ rows → /);
    expect(code).toBe(0);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(out);
    const data = wb.getWorksheet('Data')!;
    expect(data.getRow(1).values).toEqual([undefined, 'metric_date (month)', 'device', 'sessions', 'revenue']);
    expect(data.rowCount).toBeGreaterThan(1);
    const devices = new Set<string>();
    data.eachRow((row, n) => n > 1 && devices.add(String(row.getCell(2).value)));
    expect(devices).toEqual(new Set(['desktop', 'mobile']));
    expect(wb.getWorksheet('About')).toBeDefined();
  }, 120_000);

  it('writes CSV to <model>.csv by default', async () => {
    const { code } = await sextant(['export', '--model', 'social.post_performance', '--measures', 'impressions', '--dimensions', 'platform', '--format', 'csv']);
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'post_performance.csv'))).toBe(true);
  }, 120_000);

  it('exits non-zero on a bad question and leaves no file', async () => {
    const before = await readdir(dir);
    const { code, output } = await sextant(['export', '--model', 'web.traffic', '--measures', 'nonsense', '--format', 'xlsx', '--out', join(dir, 'bad.xlsx')]);
    expect(code).toBe(1);
    expect(output).toContain('nonsense');
    expect(await readdir(dir)).toEqual(before);
  }, 120_000);

  it('opens a DuckDB file with memory_limit 64MB unless SEXTANT_DUCKDB_MEMORY_LIMIT says otherwise', () => {
    expect(EXPORT_DUCKDB_MEMORY_LIMIT).toBe('64MB');
    expect(exportConfig(loadConfig({ SEXTANT_WAREHOUSE: 'duckdb:w.duckdb' }, dir)).duckdbMemoryLimit).toBe('64MB');
    expect(exportConfig(loadConfig({ SEXTANT_WAREHOUSE: 'duckdb:w.duckdb', SEXTANT_DUCKDB_MEMORY_LIMIT: '1GB' }, dir)).duckdbMemoryLimit).toBe('1GB');
    // An in-memory database cannot spill its tables; PostgreSQL has no such setting.
    expect(exportConfig(loadConfig({ SEXTANT_WAREHOUSE: 'duckdb::memory:' }, dir)).duckdbMemoryLimit).toBeUndefined();
    expect(exportConfig(loadConfig({ SEXTANT_WAREHOUSE: 'postgres://localhost/x' }, dir)).duckdbMemoryLimit).toBeUndefined();
  });

  it('exports under a memory limit set in the environment', async () => {
    const out = join(dir, 'limited.csv');
    const { code, output } = await runSextant(['export', '--model', 'web.traffic', '--measures', 'sessions', '--dimensions', 'device', '--format', 'csv', '--out', out], {
      cwd: dir,
      env: { ...env, SEXTANT_DUCKDB_MEMORY_LIMIT: '32MB' },
    });
    expect(output).toMatch(/done: \d+ rows/);
    expect(code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 120_000);
});
