/**
 * The console and the add-in in a real browser (Debian's chromium through playwright-core) against the
 * whole service on DuckDB with demo data: a question's chart shows exactly the query's rows; a file
 * dropped on the upload page becomes a job that succeeds; with keys created, the page still loads,
 * asks for the key itself (no browser sign-in box), and a reader key sees only its teams; the add-in's
 * code path writes the service's answer into an Excel table (office-addin-mock). Screenshots go to
 * test-artifacts/console/ (gitignored). Sizes and timings are printed, not asserted.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfficeAddinManifest } from 'office-addin-manifest';
import { createApi, METRICS_QUERY, type MetricsResult } from '../../src/console/api.js';
import { fetchAll, stableOrder, type AskPage } from '../../src/console/excel/fetch-all.js';
import { insertTable } from '../../src/console/excel/workbook.js';
import { toQueryInput, type Question } from '../../src/console/question.js';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { fakeWorkbook } from '../support/excel-mock.js';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');

// Code run inside the page, as strings: the test program is compiled without the DOM's types.
/** The points uPlot draws: its data arrays and its series' labels. */
const CHART_POINTS = `(() => {
  const u = document.querySelector('#chart').uplot;
  return { data: u.data.map((d) => Array.from(d)), labels: u.series.map((x) => x.label ?? '') };
})()`;
/** A drop of one file on the upload page, as the browser dispatches it when a file is dragged in. */
const drop = (name: string, text: string) => `(() => {
  const dt = new DataTransfer();
  dt.items.add(new File([${JSON.stringify(text)}], ${JSON.stringify(name)}, { type: 'text/csv' }));
  document.querySelector('#dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
})()`;

describe('the console in a browser', () => {
  let s: SecurityServer;
  let browser: TestBrowser;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The assets the service serves are the ones `npm run build` makes, built from the sources under test —
    // into a fresh folder swapped in by rename, so servers other tests start meanwhile never read half a build.
    const dist = join(process.cwd(), 'dist');
    const fresh = join(dist, `console.build-${process.pid}`);
    await build({ configFile: join(process.cwd(), 'console.vite.config.ts'), logLevel: 'error', build: { outDir: fresh, emptyOutDir: true } });
    const old = join(dist, `console.old-${process.pid}`);
    if (existsSync(join(dist, 'console'))) renameSync(join(dist, 'console'), old);
    renameSync(fresh, join(dist, 'console'));
    rmSync(old, { recursive: true, force: true });
    s = await startSecurityServer({ dialect: 'duckdb', demoRows: 20_000 });
    s.app.queue.handle('INGEST_FILE', s.app.ingest.handleIngestJob);
    await s.app.queue.start({ concurrency: 1 });
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  async function open(path: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await browser.context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(`${path}: ${m.text()}`));
    page.on('pageerror', (e) => consoleErrors.push(`${path}: ${e.message}`));
    await page.goto(`${s.base}${path}`);
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  /** Sets the builder's checkboxes to exactly `names`. */
  async function check(page: Page, group: 'measure' | 'dimension', names: string[]): Promise<void> {
    for (const box of await page.locator(`input[name=${group}]`).all()) {
      await box.setChecked(names.includes(await box.inputValue()));
    }
  }

  it('answers a question: the chart draws exactly the query’s rows, the table is formatted', async () => {
    const scripts: Array<{ url: string; bytes: Buffer }> = [];
    const page = await browser.context.newPage();
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(`ask: ${m.text()}`));
    page.on('pageerror', (e) => consoleErrors.push(`ask: ${e.message}`));
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push({ url: r.url(), bytes: await r.body() });
    });
    await page.goto(`${s.base}/#/ask?model=social.post_performance`);
    await page.waitForSelector('#run');
    const firstPaintGzip = scripts.reduce((a, x) => a + gzipSync(x.bytes).length, 0);

    await check(page, 'measure', ['engagement_rate']);
    await page.selectOption('#time', 'metric_date');
    await page.selectOption('#grain', 'MONTH');
    await check(page, 'dimension', ['platform']);
    await page.click('#run');
    await page.waitForSelector('#status[data-total-ms]');

    // The same question straight to the API.
    const question: Question = { model: 'social.post_performance', measures: ['engagement_rate'], dimensions: ['platform'], time: { name: 'metric_date', grain: 'MONTH' }, filters: [], limit: 1000 };
    const res = await s.gql(METRICS_QUERY, { variables: { query: toQueryInput(question, false) } });
    expect(res.body.errors).toBeUndefined();
    const result = res.body.data.metrics as MetricsResult;
    expect(result.rows.length).toBeGreaterThan(10);

    const drawn = (await page.evaluate(CHART_POINTS)) as { data: Array<Array<number | null>>; labels: string[] };
    const points = new Map<string, number | null>();
    for (let i = 1; i < drawn.data.length; i++) {
      drawn.data[0].forEach((x, j) => {
        if (drawn.data[i][j] !== null) points.set(`${drawn.labels[i]}|${new Date(x! * 1000).toISOString().slice(0, 10)}`, drawn.data[i][j]);
      });
    }
    const expected = new Map(result.rows.filter((r) => r[2] !== null).map((r) => [`${r[1]}|${r[0]}`, r[2] as number]));
    expect(points).toEqual(expected);
    expect(await page.getAttribute('#chart', 'data-kind')).toBe('line');

    // The table: one line per row, the ratio as a percent with one decimal.
    expect(await page.locator('#result-table tbody tr').count()).toBe(result.rows.length);
    const firstRate = await page.locator('#result-table tbody tr:first-child td:nth-child(3)').textContent();
    expect(firstRate).toBe(`${((result.rows[0][2] as number) * 100).toFixed(1)}%`);
    expect(await page.locator('#graphql').textContent()).toContain('model: "social.post_performance"');

    // The same question again, a few times: the first answer also pays for warming the page's code.
    const timings: string[] = [];
    for (let i = 0; i < 4; i++) {
      if (i > 0) {
        await page.click('#run');
        await page.waitForSelector('#status[data-total-ms]');
      }
      const totalMs = Number(await page.getAttribute('#status', 'data-total-ms'));
      const apiMs = Number(await page.getAttribute('#status', 'data-api-ms'));
      timings.push(`${totalMs.toFixed(0)} ms (API ${apiMs.toFixed(0)} ms, page +${(totalMs - apiMs).toFixed(0)} ms)`);
    }
    console.log(`console first paint: ${scripts.length} script(s), ${(firstPaintGzip / 1024).toFixed(1)} KB of JavaScript gzip`);
    console.log(`question (${result.rows.length} rows) → table and chart: ${timings.join('; ')}`);
    await shot(page, 'ask-line');

    // The address bar now holds the question: opened elsewhere, it comes back answered, with the same rows.
    const link = page.url();
    expect(link).toContain('#/ask?q=');
    const again = await browser.context.newPage();
    again.on('pageerror', (e) => consoleErrors.push(`link: ${e.message}`));
    await again.goto(link);
    await again.waitForSelector('#status[data-total-ms]');
    expect(await again.getAttribute('#status', 'data-rows')).toBe(String(result.rows.length));
    expect(await again.locator('input[name=measure]:checked').evaluateAll((els) => els.map((e) => e.getAttribute('value')))).toEqual(['engagement_rate']);
    // Keyboard: Enter in a field runs the question.
    await again.evaluate("document.querySelector('#status').removeAttribute('data-total-ms')");
    await again.focus('#limit');
    await again.keyboard.press('Enter');
    await again.waitForSelector('#status[data-total-ms]');
    await again.close();

    // Without a time dimension the chart is bars, one per row.
    await page.selectOption('#time', '');
    await check(page, 'measure', ['impressions', 'engagement_rate']);
    await page.click('#run');
    await page.waitForSelector('#chart[data-kind="bars"]');
    const bars = ((await page.evaluate(CHART_POINTS)) as { data: number[][] }).data[1].length;
    expect(bars).toBe(await page.locator('#result-table tbody tr').count());
    await shot(page, 'ask-bars');

    // A narrow screen: the builder stacks above the result.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.selectOption('#time', 'metric_date');
    await page.click('#run');
    await page.waitForSelector('#status[data-total-ms]');
    await shot(page, 'ask-narrow');
    await page.close();
  });

  it('shows the catalog with definitions and freshness', async () => {
    const page = await open('/#/catalog');
    await page.waitForSelector('[data-model="social.post_performance"]');
    const card = page.locator('[data-model="social.post_performance"]');
    await card.locator('summary').first().click();
    await expect(card.locator('table.members').first().textContent()).resolves.toContain('engagement_rate');
    expect(await card.locator('.fresh').textContent()).toMatch(/^loaded /);
    expect(await page.locator('[data-team]').count()).toBe(4);
    // Connect: the model's OData entity set, and Excel's connection file fetched with the page's key.
    await card.locator('details.connect summary').click();
    expect(await card.locator('[data-odata]').textContent()).toBe(`${s.base}/odata/social/PostPerformance`);
    const [odc] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Excel connection (.odc)' }).click()]);
    expect(odc.suggestedFilename()).toBe('PostPerformance.odc');
    const file = await odc.path();
    expect(readFileSync(file, 'utf8')).toContain('/odata/social/');
    await shot(page, 'catalog');
    await page.close();
  });

  it('uploads a dropped file and follows its job to success', async () => {
    const page = await open('/#/upload');
    await page.waitForSelector('#dropzone');
    await page.selectOption('#target', 'social_manual_posts');
    const csv = readFileSync(join(EXAMPLE_PROJECT, 'samples', 'social_manual_posts.csv'), 'utf8');
    const rows = csv.split('\n').filter((l) => l.trim()).length - 1;
    // A real drop event with a DataTransfer, as the browser makes when a file is dragged in.
    await page.evaluate(drop('posts.csv', csv));
    const job = page.locator('#uploads .job[data-status="SUCCEEDED"]');
    await job.waitFor({ timeout: 60_000 });
    expect(await page.locator('#uploads progress').first().getAttribute('value')).toBe('100');
    expect(await job.locator('.rows-read').textContent()).toBe(rows.toLocaleString('en-US'));
    expect(await job.locator('.rows-rejected').textContent()).toBe('0');
    await shot(page, 'upload');

    // A bad file: the job fails and shows line, column and message.
    await page.evaluate(drop('bad.csv', 'platform,Post ID,Date,impressions\nx,p1,2026-01-01,1\nx,p2,01/02/2026,2\n'));
    const failed = page.locator('#uploads .job[data-status="FAILED"]');
    await failed.waitFor({ timeout: 60_000 });
    expect(await failed.locator('table.errors tbody tr').first().textContent()).toMatch(/^3/);

    await page.goto(`${s.base}/#/jobs`);
    await page.waitForSelector('#jobs .job');
    expect(await page.locator('#jobs .job[data-status="SUCCEEDED"]').count()).toBeGreaterThanOrEqual(1);
    await shot(page, 'jobs');
    await page.goto(`${s.base}/#/sources`);
    await page.waitForSelector('main h2');
    await page.waitForLoadState('networkidle');
    await shot(page, 'sources');
    await page.close();
  });

  it('renders the add-in’s task pane outside Excel', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => consoleErrors.push(`excel: ${e.message}`));
    // Offline: Office.js from Microsoft's CDN is answered with nothing, as when the pane opens outside Office.
    await page.route('https://appsforoffice.microsoft.com/**', (r) => r.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    await page.setViewportSize({ width: 360, height: 720 });
    await page.goto(`${s.base}/excel/`);
    await page.waitForSelector('input[name=measure]');
    expect(await page.locator('#model option').count()).toBeGreaterThan(5);
    await shot(page, 'excel-pane');
    await page.close();
  });

  it('serves the add-in manifest pointing at the service', async () => {
    const res = await s.http('/excel/manifest.xml');
    expect(res.status).toBe(200);
    const file = join(tmpdir(), `sextant-manifest-${process.pid}.xml`);
    writeFileSync(file, res.text);
    const info = await OfficeAddinManifest.readManifestFile(file);
    expect(info.hosts).toEqual(['Workbook']);
    expect(info.defaultSettings?.sourceLocation).toBe(`${s.base}/excel/`);
    expect(info.iconUrl).toBe(`${s.base}/excel/icon-32.png`);
    expect((await s.http('/excel/icon-32.png')).status).toBe(200);
    // Behind a TLS-terminating proxy, the manifest names the proxy's https address.
    const proxied = await s.http('/excel/manifest.xml', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'metrics.example.com' } });
    expect(proxied.text).toContain('<SourceLocation DefaultValue="https://metrics.example.com/excel/"/>');
    // The pages and their assets need no key; the CSP keeps the console to its own origin.
    const page = await s.http('/');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)![1];
    expect((await s.http(script)).status).toBe(200);
    expect((await s.http('/assets/../package.json')).status).toBe(404);
  });

  it('writes the service’s answer into an Excel table through the add-in’s code path', async () => {
    const api = createApi(() => null, s.base);
    const query = toQueryInput({ model: 'social.post_performance', measures: ['impressions', 'engagement_rate'], dimensions: ['platform'], time: { name: 'metric_date', grain: 'MONTH' }, filters: [] }, false);
    const wb = fakeWorkbook();
    const ask: AskPage = async (page) => (await api.gql<{ metrics: MetricsResult }>(METRICS_QUERY, { query: page })).data.metrics;
    const record = await wb.excel.run((ctx) => insertTable(ctx, wb.settings, query, (q) => fetchAll(q, ask), null));
    const direct = (await s.gql(METRICS_QUERY, { variables: { query: { ...stableOrder(query), limit: 50_000 } } })).body.data.metrics as MetricsResult;
    expect(record.rows).toBe(direct.rows.length);
    expect(record.lastLoadedAt).toBe(direct.lastLoadedAt);
    expect(record.truncated).toBe(direct.hasMore);
    const cells = wb.values('Sheet1', 1, 1, direct.rows.length, 3);
    expect(cells).toEqual(direct.rows.map((r) => [r[1], r[2], r[3] ?? '']));
  });

  it('with keys: the page loads without one, asks for it itself, and a reader key sees only its teams', async () => {
    const admin = await s.app.keys.create({ role: 'admin' });
    const reader = await s.app.keys.create({ role: 'reader', teams: ['social'] });
    expect(admin.key).toBeTruthy();

    // Scripts get a 401 without the Basic challenge; BI tools (no X-Requested-With) still get it.
    const scripted = await s.gql('{ catalog { teams { name } } }', { headers: { 'x-requested-with': 'XMLHttpRequest' } });
    expect(scripted.status).toBe(401);
    expect(scripted.headers.get('www-authenticate')).toBeNull();
    const bi = await s.gql('{ catalog { teams { name } } }');
    expect(bi.headers.get('www-authenticate')).toMatch(/^Basic /);

    const challenges: string[] = [];
    const page = await browser.context.newPage();
    page.on('response', (r) => r.headers()['www-authenticate'] && challenges.push(r.url()));
    page.on('pageerror', (e) => consoleErrors.push(`keys: ${e.message}`));
    await page.goto(`${s.base}/#/catalog`);
    await page.waitForSelector('#banner .notice.error');
    expect(await page.locator('#banner').textContent()).toContain('needs an API key');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('key');
    expect(challenges).toEqual([]);
    await shot(page, 'key-needed');

    await page.fill('#key', reader.key);
    await page.press('#key', 'Enter');
    await page.waitForSelector('[data-team]');
    expect(await page.locator('[data-team]').evaluateAll((els) => els.map((e) => e.getAttribute('data-team')))).toEqual(['social']);
    expect(await page.locator('[data-model^="web."], [data-model^="email."], [data-model^="listening."]').count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('sextant.key')")).toBe(reader.key);
    await shot(page, 'reader-catalog');
    // The builder offers only the reader's models too.
    await page.goto(`${s.base}/#/ask`);
    await page.waitForSelector('#model');
    const offered = await page.locator('#model option').evaluateAll((els) => els.map((e) => e.getAttribute('value') ?? ''));
    expect(offered.every((id) => id.startsWith('social.'))).toBe(true);
    await page.close();
  });

  it('logged no errors in the browser console', () => {
    expect(consoleErrors).toEqual([]);
  });
});
