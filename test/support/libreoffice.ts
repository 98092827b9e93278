/**
 * LibreOffice headless for the export tests: an export must open in a real spreadsheet program. Installs
 * Debian's headless Calc when `soffice` is missing (as services.ts does for PostgreSQL and Redis); when
 * it cannot be installed the test fails rather than skips.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { aptInstall } from './services.js';

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The path of `soffice`, installing `libreoffice-calc-nogui` when it is missing. */
export function ensureSoffice(): string {
  let soffice = which('soffice');
  if (!soffice) {
    aptInstall('libreoffice-calc-nogui');
    soffice = which('soffice');
  }
  if (!soffice) throw new Error('soffice is still missing after installing libreoffice-calc-nogui');
  return soffice;
}

/**
 * Converts a spreadsheet file to CSV with `soffice --headless --convert-to csv` (the first sheet, values
 * as shown, in US English) and answers the CSV text. A fresh profile folder per call, so runs do not share a lock.
 */
export function convertToCsv(file: string): string {
  const soffice = ensureSoffice();
  const work = mkdtempSync(join(tmpdir(), 'sextant-soffice-'));
  const outdir = join(work, 'out');
  // CSV filter options: comma, double quotes, UTF-8 (76), from line 1, US English (1033) so that the
  // number formats render the same on every machine, and the last token: save cell contents as shown.
  const filter = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true';
  execFileSync(soffice, ['--headless', '--norestore', `-env:UserInstallation=file://${join(work, 'profile')}`, '--convert-to', filter, '--outdir', outdir, file], {
    stdio: 'pipe',
    timeout: 120_000,
    env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
  });
  const produced = readdirSync(outdir).find((f) => f.startsWith(basename(file).replace(/\.[^.]+$/, '')));
  if (!produced) throw new Error(`soffice wrote no CSV for ${file} in ${outdir}`);
  return readFileSync(join(outdir, produced), 'utf8');
}

/**
 * Converts CSV files to XLSX with one `soffice --convert-to xlsx` (LibreOffice's default CSV import:
 * comma-separated, UTF-8, formulas evaluated) and answers the paths of the XLSX files, in order.
 */
export function convertCsvToXlsx(files: string[]): string[] {
  const soffice = ensureSoffice();
  const work = mkdtempSync(join(tmpdir(), 'sextant-soffice-'));
  const outdir = join(work, 'out');
  execFileSync(soffice, ['--headless', '--norestore', `-env:UserInstallation=file://${join(work, 'profile')}`, '--convert-to', 'xlsx', '--outdir', outdir, ...files], {
    stdio: 'pipe',
    timeout: 180_000,
    env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
  });
  return files.map((f) => {
    const out = join(outdir, `${basename(f).replace(/\.[^.]+$/, '')}.xlsx`);
    readFileSync(out);
    return out;
  });
}
