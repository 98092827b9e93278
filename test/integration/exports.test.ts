/**
 * Exports end to end, over the whole service as `sextant serve` assembles it (DuckDB, the folder object
 * store, the in-process queue, the bundled agency project with demo data): `exportQuery` → EXPORT job →
 * `downloadUrl` → the file, `GET /exports/…`, and what a team-scoped key may and may not do. The files
 * are opened by LibreOffice (headless Calc, installed when missing) and read back with exceljs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUrlSigner } from '../../src/auth/signed-url.js';
import { downloadSubject } from '../../src/exports/export-service.js';
import { startWorker } from '../../src/main.js';
import { tableSpecOf } from '../../src/ingest/targets.js';
import { convertCsvToXlsx, convertToCsv, ensureSoffice } from '../support/libreoffice.js';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

const SECRET = 'security-test-secret';
const HYPERLINK = '=HYPERLINK("http://evil.example/","click")';

let s: SecurityServer;
let work: string;
let socialKey: { id: string; key: string };
let emailKey: { id: string; key: string };

const TRAFFIC_QUERY = {
  model: 'web.traffic',
  measures: ['sessions', 'engagement_rate', 'pages_per_session', 'avg_session_duration', 'revenue'],
  dimensions: [{ name: 'metric_date', grain: 'MONTH' }, { name: 'device' }],
  orderBy: [{ member: 'metric_date', grain: 'MONTH', direction: 'ASC' }, { member: 'device', direction: 'ASC' }],
};

/**
 * Retries a request once when the kept-alive connection was reset under it: after a LibreOffice
 * conversion (a minute on a busy machine) fetch may reuse a socket the server is closing for idleness.
 */
async function once<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    return request();
  }
}

async function gqlData(query: string, key: string | undefined, variables?: Record<string, unknown>) {
  const res = await once(() => s.gql(query, { ...(key ? { key } : {}), ...(variables ? { variables } : {}) }));
  if (res.body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.body.errors)}`);
  return res.body.data;
}

/** Runs exportQuery and waits for the job to finish; answers the finished job. */
async function exportJob(key: string, query: Record<string, unknown>, format: 'XLSX' | 'CSV') {
  const data = await gqlData('mutation($q: SemanticQueryInput!, $f: ExportFormat!) { exportQuery(query: $q, format: $f) { id status type } }', key, { q: query, f: format });
  const id = data.exportQuery.id as string;
  expect(data.exportQuery.type).toBe('EXPORT');
  for (let i = 0; i < 600; i++) {
    const job = (await gqlData('query($id: ID!) { job(id: $id) { id status rowsRead errors { message } downloadUrl } }', key, { id })).job;
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return job as { id: string; status: string; rowsRead: number; errors: Array<{ message: string }>; downloadUrl: string | null };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`export job ${id} did not finish`);
}

/** A download link of this deployment, pointed at the test server (the app signs with its configured base URL). */
function onServer(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

async function download(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  return once(async () => {
    const res = await fetch(`${s.base}${path}`, init);
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  });
}

async function workbookOf(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return wb;
}

beforeAll(async () => {
  ensureSoffice();
  work = await mkdtemp(join(tmpdir(), 'sextant-exports-test-'));
  s = await startSecurityServer({ dialect: 'duckdb', demoRows: 3_000 });
  // A post whose account name is a formula: text a spreadsheet would run.
  // Loaded through a merge, as every load is, so the rollups that answer by account see it too.
  const target = [...s.app.project.targets.values()].find((t) => t.table === 'social.post_daily')!;
  const spec = tableSpecOf(target);
  const [row] = await s.app.warehouse.query(`select ${spec.columns.map((c) => c.name).join(', ')} from social.post_daily limit 1`);
  const values = spec.columns.map((c) => (c.name === 'post_id' ? 'zz-formula-post' : c.name === 'account_name' ? HYPERLINK : row[c.name]));
  await s.app.warehouse.merge({ spec, columns: spec.columns.map((c) => c.name), rows: [values] });
  socialKey = await s.app.keys.create({ role: 'reader', teams: ['social', 'web'], name: 'social+web reader' });
  emailKey = await s.app.keys.create({ role: 'reader', teams: ['email'], name: 'email reader' });
  await startWorker(s.app);
}, 300_000);

afterAll(async () => {
  await s?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('exportQuery', () => {
  it('writes an XLSX that LibreOffice opens with the same values as the query, with formats, frozen header and About sheet', async () => {
    const expected = (await gqlData('query($q: SemanticQueryInput!) { metrics(query: $q) { columns { name } rows } }', socialKey.key, { q: { ...TRAFFIC_QUERY, limit: 50000 } })).metrics;
    expect(expected.rows.length).toBeGreaterThan(3);

    const job = await exportJob(socialKey.key, TRAFFIC_QUERY, 'XLSX');
    expect(job.errors).toEqual([]);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.rowsRead).toBe(expected.rows.length);
    expect(job.downloadUrl).toMatch(/\/downloads\/[^?]+\?by=.+&exp=\d+&sig=/);

    const file = await download(onServer(job.downloadUrl!));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="traffic.xlsx"');

    // exceljs: types, formats, frozen header, autofilter, About sheet.
    const wb = await workbookOf(file.bytes);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Data', 'About']);
    const data = wb.getWorksheet('Data')!;
    expect(data.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(data.autoFilter).toBe('A1:G1');
    expect(data.getRow(1).values).toEqual([undefined, 'metric_date (month)', 'device', 'sessions', 'engagement_rate', 'pages_per_session', 'avg_session_duration', 'revenue']);
    expect(data.getRow(1).getCell(1).font?.bold).toBe(true);
    expect(data.rowCount).toBe(expected.rows.length + 1);
    const first = data.getRow(2);
    expect(first.getCell(1).value).toEqual(new Date(`${expected.rows[0][0]}T00:00:00Z`));
    expect([1, 3, 4, 5, 6, 7].map((c) => first.getCell(c).numFmt)).toEqual(['yyyy-mm-dd', '#,##0', '0.00%', '#,##0.00', '[h]:mm:ss', '#,##0.00_);(#,##0.00)']);
    expect(first.getCell(3).value).toBe(expected.rows[0][2]);
    expect(first.getCell(4).value).toBe(expected.rows[0][3]);
    const about: string[] = [];
    wb.getWorksheet('About')!.eachRow((row) => about.push((row.values as unknown[]).slice(1).join(' | ')));
    expect(about).toContain(`Rows | ${expected.rows.length}`);
    expect(about.find((l) => l.startsWith('Question | '))).toContain('by metric_date (month), device');
    expect(about.find((l) => l.startsWith('Data freshness | '))).toMatch(/^Data freshness \| last loaded \d{4}-/);
    expect(about.find((l) => l.startsWith('Generated at (UTC) | '))).toMatch(/^Generated at \(UTC\) \| \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(about).toContain('engagement_rate | percent | engaged_sessions / sessions, each summed over the group first (not additive: do not sum or average it again) | Share of sessions that were engaged');

    // LibreOffice: the values as shown, US English.
    const path = join(work, 'traffic.xlsx');
    await writeFile(path, file.bytes);
    const shown = parse(convertToCsv(path), { relax_column_count: false }) as string[][];
    expect(shown[0]).toEqual(['metric_date (month)', 'device', 'sessions', 'engagement_rate', 'pages_per_session', 'avg_session_duration', 'revenue']);
    expect(shown.length).toBe(expected.rows.length + 1);
    const money = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const seconds = (hms: string) => hms.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
    expected.rows.forEach((row: Array<string | number | null>, i: number) => {
      const got = shown[i + 1];
      const [date, device, sessions, rate, pages, duration, revenue] = row as [string, string, number, number | null, number | null, number | null, number | null];
      expect(got[0]).toBe(date);
      expect(got[1]).toBe(device);
      expect(got[2]).toBe(sessions.toLocaleString('en-US'));
      expect(got[3]).toBe(rate === null ? '' : `${(rate * 100).toFixed(2)}%`);
      expect(got[4]).toBe(pages === null ? '' : money(pages));
      if (duration === null) expect(got[5]).toBe('');
      else expect(Math.abs(seconds(got[5]) - duration)).toBeLessThanOrEqual(1);
      expect(got[6].trim()).toBe(revenue === null ? '' : revenue < 0 ? `(${money(-revenue)})` : money(revenue));
    });
  }, 240_000);

  it('writes CSV with the query’s own values', async () => {
    const q = { model: 'social.post_performance', measures: ['impressions', 'engagement_rate'], dimensions: [{ name: 'platform' }], orderBy: [{ member: 'platform', direction: 'ASC' }] };
    const expected = (await gqlData('query($q: SemanticQueryInput!) { metrics(query: $q) { rows } }', socialKey.key, { q })).metrics;
    const job = await exportJob(socialKey.key, q, 'CSV');
    expect(job.status).toBe('SUCCEEDED');
    const file = await download(onServer(job.downloadUrl!));
    expect(file.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect([...file.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(file.bytes.subarray(3).toString('utf8')) as string[][];
    expect(rows).toEqual([['platform', 'impressions', 'engagement_rate'], ...expected.rows.map((r: Array<string | number | null>) => r.map((v) => (v === null ? '' : String(v))))]);
  }, 120_000);

  it('fails the mutation at once for a bad question', async () => {
    const res = await s.gql('mutation { exportQuery(query: { model: "social.post_performance", measures: ["impressions"], filters: [{ member: "platform", operator: IN, values: [{ a: 1 }] }] }, format: CSV) { id } }', { key: socialKey.key });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('formula neutralisation', () => {
  it('leaves "=HYPERLINK(…)" text inert in XLSX and CSV, where LibreOffice would otherwise run it', async () => {
    const params = 'measures=impressions&dimensions=account&order=account';
    const xlsx = await download(`/exports/social/post_performance.xlsx?${params}`, { headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(xlsx.status).toBe(200);
    const data = (await workbookOf(xlsx.bytes)).getWorksheet('Data')!;
    const cells: ExcelJS.Cell[] = [];
    data.eachRow((row, n) => n > 1 && cells.push(row.getCell(1)));
    const formulaCell = cells.find((c) => String(c.value).includes('HYPERLINK'))!;
    expect(formulaCell.type).toBe(ExcelJS.ValueType.String);
    expect(formulaCell.value).toBe(`'${HYPERLINK}`);
    expect(cells.some((c) => c.type === ExcelJS.ValueType.Formula)).toBe(false);

    const csv = await download(`/exports/social/post_performance.csv?${params}`, { headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(csv.status).toBe(200);
    const text = csv.bytes.toString('utf8');
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/"",""click"")"`);
    // LibreOffice imports our CSV with the value as text; the same value without the apostrophe (the control) becomes a formula.
    const ours = join(work, 'ours.csv');
    const control = join(work, 'control.csv');
    await writeFile(ours, csv.bytes);
    await writeFile(control, text.replace(`"'=HYPERLINK`, '"=HYPERLINK'));
    const [oursXlsx, controlXlsx] = convertCsvToXlsx([ours, control]);
    const cellOf = async (file: string) => {
      const sheet = (await workbookOf(await readFile(file))).worksheets[0];
      let found: ExcelJS.Cell | undefined;
      sheet.eachRow((row) => row.eachCell((cell) => {
        if (JSON.stringify(cell.value).includes('HYPERLINK')) found = cell;
      }));
      return found!;
    };
    expect((await cellOf(controlXlsx)).type).toBe(ExcelJS.ValueType.Formula);
    const inert = await cellOf(oursXlsx);
    expect(inert.type).toBe(ExcelJS.ValueType.String);
    expect(String(inert.value)).toContain('HYPERLINK("http://evil.example/","click")');
  }, 240_000);
});

describe('GET /exports', () => {
  it('streams a download with the key as Bearer, Basic password or api_key; refuses without one', async () => {
    const path = '/exports/social/post_performance.csv?measures=impressions,engagement_rate&dimensions=metric_date:month,platform&platform=facebook,instagram&metric_date.gte=2020-01-01';
    const basic = `Basic ${Buffer.from(`excel:${socialKey.key}`).toString('base64')}`;
    const a = await download(path, { headers: { authorization: `Bearer ${socialKey.key}` } });
    const b = await download(path, { headers: { authorization: basic } });
    const c = await download(`${path}&api_key=${socialKey.key}`);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect(b.bytes.equals(a.bytes) && c.bytes.equals(a.bytes)).toBe(true);
    expect(a.headers.get('content-disposition')).toBe('attachment; filename="post_performance.csv"');
    const rows = parse(a.bytes.subarray(3).toString('utf8')) as string[][];
    expect(rows[0]).toEqual(['metric_date (month)', 'platform', 'impressions', 'engagement_rate']);
    expect(new Set(rows.slice(1).map((r) => r[1]))).toEqual(new Set(['facebook', 'instagram']));

    // HEAD (some tools probe a URL first) answers the headers; the export it started is stopped, and the
    // next download is whole.
    const head = await fetch(`${s.base}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect((await download(path, { headers: { authorization: `Bearer ${socialKey.key}` } })).bytes.equals(a.bytes)).toBe(true);

    const none = await download(path);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('answers a bad question with a JSON error before any file', async () => {
    const res = await s.http('/exports/social/post_performance.xlsx?measures=impressions&colour=red', { headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('BAD_USER_INPUT');
    expect(res.body.error?.message).toContain('unknown parameter "colour"');
    const unknown = await s.http('/exports/social/post_performance.xlsx?measures=reach', { headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.message).toContain('reach');
  });
});

describe('a key scoped to teams', () => {
  it('cannot export another team’s model, through GraphQL or /exports', async () => {
    const res = await s.gql('mutation { exportQuery(query: { model: "email.campaigns", measures: ["sends"] }, format: XLSX) { id } }', { key: socialKey.key });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const http = await s.http('/exports/email/campaigns.csv?measures=sends', { headers: { authorization: `Bearer ${socialKey.key}` } });
    expect(http.status).toBe(403);
    expect(http.body.error?.code).toBe('FORBIDDEN');
  });

  it('cannot see, or download, another team’s export, nor use an expired, altered or revoked link', async () => {
    const emailJob = await exportJob(emailKey.key, { model: 'email.campaigns', measures: ['sends'] }, 'CSV');
    expect(emailJob.errors).toEqual([]);
    expect(emailJob.status).toBe('SUCCEEDED');
    const socialJob = await exportJob(socialKey.key, { model: 'social.post_performance', measures: ['impressions'] }, 'CSV');
    const link = new URL(socialJob.downloadUrl!, s.base);
    expect((await download(onServer(link.href))).status).toBe(200);

    // The email job is invisible to the social key: no record, no link.
    expect((await gqlData('query($id: ID!) { job(id: $id) { id downloadUrl } }', socialKey.key, { id: emailJob.id })).job).toBeNull();

    // The social link pointed at the email job, or with a later expiry, or for another key: the signature no longer matches.
    const altered = (change: (u: URL) => void) => {
      const u = new URL(link.href);
      change(u);
      return onServer(u.href);
    };
    for (const path of [
      altered((u) => (u.pathname = `/downloads/${emailJob.id}`)),
      altered((u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600))),
      altered((u) => u.searchParams.set('by', emailKey.id)),
      altered((u) => u.searchParams.set('sig', `${u.searchParams.get('sig')!.slice(0, -2)}AA`)),
    ]) {
      const res = await download(path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.bytes.toString()).error.message).toContain('not valid');
    }

    // Correctly signed links that are nevertheless refused: for a team the key may not read, and expired.
    const signer = createUrlSigner(SECRET);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const otherTeam = await download(`/downloads/${emailJob.id}?by=${socialKey.id}&exp=${exp}&sig=${signer.sign(downloadSubject(emailJob.id, socialKey.id), exp)}`);
    expect(otherTeam.status).toBe(403);
    expect(JSON.parse(otherTeam.bytes.toString()).error.message).toContain('may not read team "email"');
    const past = Math.floor(Date.now() / 1000) - 1;
    const expired = await download(`/downloads/${socialJob.id}?by=${socialKey.id}&exp=${past}&sig=${signer.sign(downloadSubject(socialJob.id, socialKey.id), past)}`);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.bytes.toString()).error.message).toContain('expired');

    // A revoked key's links stop working.
    const temp = await s.app.keys.create({ role: 'reader', teams: ['social'] });
    const tempJob = await exportJob(temp.key, { model: 'social.post_performance', measures: ['impressions'] }, 'CSV');
    const tempLink = onServer(tempJob.downloadUrl!);
    expect((await download(tempLink)).status).toBe(200);
    await s.app.keys.revoke(temp.id);
    const revoked = await download(tempLink);
    expect(revoked.status).toBe(403);
    expect(JSON.parse(revoked.bytes.toString()).error.message).toContain('revoked');
  }, 120_000);
});
