/// <reference types="office-js" />
/**
 * The add-in's task pane: sign in with a key, pick a model's measures and dimensions from the catalog,
 * insert the answer as an Excel table at the selected cell, refresh every table the add-in made, and
 * show how fresh each one's data is. The workbook work is in workbook.ts.
 */
import '../style.css';
import './taskpane.css';
import { ApiError, CATALOG_QUERY, METRICS_QUERY, createApi, type Catalog, type CatalogModel, type MetricsResult } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { formatAge } from '../format.js';
import { DATE_PRESETS, GRAINS, toQueryInput, type Grain, type Question } from '../question.js';
import { fetchAll } from './fetch-all.js';
import { insertTable, loadRecords, refreshTables, type RunQuery, type TableRecord } from './workbook.js';

const KEY = 'sextant.key';
let key = sessionStorage.getItem(KEY);
const api = createApi(() => key);
let catalog: Catalog | undefined;

const progress = (rows: number) => replace(messages, h('p', { class: 'muted' }, `Received ${rows.toLocaleString()} rows…`));
const run: RunQuery = (query) => fetchAll(query, async (page) => (await api.gql<{ metrics: MetricsResult }>(METRICS_QUERY, { query: page })).data.metrics, progress);
const inExcel = () => typeof Office !== 'undefined' && typeof Excel !== 'undefined' && Office.context?.document !== undefined;
const freshness = (model: string) => catalog?.teams.flatMap((t) => t.models).find((m) => m.id === model)?.lastLoadedAt ?? null;

const messages = h('div', { id: 'messages' });
const keyInput = h('input', { type: 'password', id: 'key', placeholder: 'API key', 'aria-label': 'API key', autocomplete: 'off', value: key ?? '' });
const modelSelect = h('select', { id: 'model', 'aria-label': 'model' });
const members = h('div', { id: 'members' });
const tablesBox = h('div', { id: 'tables' });

function fail(err: unknown): void {
  const text = err instanceof ApiError && err.code === 'UNAUTHENTICATED' ? `Sign in with an API key: ${err.message}` : err instanceof Error ? err.message : String(err);
  replace(messages, notice('error', text));
}

async function signIn(): Promise<void> {
  key = keyInput.value.trim() || null;
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  replace(messages, h('p', { class: 'muted' }, 'Loading the catalog…'));
  try {
    catalog = (await api.gql<{ catalog: Catalog }>(CATALOG_QUERY)).data.catalog;
    replace(messages);
    const models = catalog.teams.flatMap((t) => t.models);
    replace(modelSelect, catalog.teams.map((t) => h('optgroup', { label: t.name }, t.models.map((m) => h('option', { value: m.id }, m.name)))));
    if (models.length) showMembers(models[0]);
    else replace(members, h('p', null, 'This key reads no models.'));
    showTables();
  } catch (err) {
    fail(err);
  }
}

let read: () => Question = () => ({ model: '', measures: [], dimensions: [], filters: [] });

function showMembers(model: CatalogModel): void {
  const times = model.dimensions.filter((d) => d.type === 'time');
  const grain = h('select', { id: 'grain', 'aria-label': 'grain' }, h('option', { value: '' }, 'not over time'), GRAINS.map((g) => h('option', { value: g, selected: g === 'MONTH' }, g.toLowerCase())));
  const range = h('select', { id: 'range', 'aria-label': 'date range' }, h('option', { value: '' }, 'all time'), DATE_PRESETS.map((p) => h('option', { value: p }, p)));
  replace(
    members,
    h('p', { class: 'muted small' }, model.description ?? '', ' ', h('span', { class: 'fresh' }, `Data loaded ${formatAge(model.lastLoadedAt)}.`)),
    h('fieldset', null, h('legend', null, 'Measures'), model.measures.map((m, i) => h('label', { class: 'check', title: m.description ?? '' }, h('input', { type: 'checkbox', name: 'measure', value: m.name, checked: i === 0 }), ` ${m.name}`))),
    h('fieldset', null, h('legend', null, 'Dimensions'), model.dimensions.filter((d) => d.type !== 'time').map((d) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'dimension', value: d.name }), ` ${d.name}`))),
    times.length ? h('fieldset', null, h('legend', null, `Over ${times[0].name}`), h('div', { class: 'row' }, grain, range)) : null,
  );
  read = () => {
    const checked = (n: string) => [...members.querySelectorAll<HTMLInputElement>(`input[name=${n}]:checked`)].map((i) => i.value);
    const t = times[0];
    return {
      model: model.id,
      measures: checked('measure'),
      dimensions: checked('dimension'),
      ...(t && grain.value ? { time: { name: t.name, grain: grain.value as Grain } } : {}),
      ...(t && range.value ? { range: { member: t.name, phrase: range.value } } : {}),
      filters: [],
    };
  };
}

function showTables(): void {
  if (!inExcel()) {
    replace(tablesBox, h('p', { class: 'muted small' }, 'Open this pane from Excel to insert tables (sideload ', h('a', { href: '/excel/manifest.xml' }, 'manifest.xml'), ').'));
    return;
  }
  const records = loadRecords(Office.context.document.settings);
  replace(
    tablesBox,
    records.length === 0
      ? h('p', { class: 'muted small' }, 'No tables yet.')
      : h(
          'ul',
          { class: 'tables' },
          records.map((r: TableRecord) =>
            h('li', null, h('strong', null, r.name), ` — ${r.query.model}, ${r.rows.toLocaleString()} rows on ${r.sheet}. `, h('span', { class: 'small muted' }, `Refreshed ${formatAge(r.refreshedAt)}; data loaded ${formatAge(r.lastLoadedAt ?? freshness(r.query.model))}.`), r.truncated ? h('span', { class: 'small' }, ' Only the first rows: an Excel sheet holds no more.') : null),
          ),
        ),
  );
}

async function insert(): Promise<void> {
  const q = read();
  if (q.measures.length === 0) return replace(messages, notice('error', 'Pick at least one measure.'));
  if (!inExcel()) return replace(messages, notice('error', 'This pane writes tables only inside Excel.'));
  replace(messages, h('p', { class: 'muted' }, 'Asking…'));
  try {
    const record = await Excel.run((context) => insertTable(context, Office.context.document.settings, toQueryInput(q, false), run, freshness(q.model)));
    replace(messages, notice(record.truncated ? 'info' : 'ok', `Inserted ${record.name} (${record.rows.toLocaleString()} rows${record.truncated ? ', as many as a sheet holds' : ''}).`));
    showTables();
  } catch (err) {
    fail(err);
  }
}

async function refreshAll(): Promise<void> {
  if (!inExcel()) return replace(messages, notice('error', 'This pane refreshes tables only inside Excel.'));
  replace(messages, h('p', { class: 'muted' }, 'Refreshing…'));
  try {
    const done = await Excel.run((context) => refreshTables(context, Office.context.document.settings, run, freshness));
    replace(messages, notice('ok', `Refreshed ${done.length} table${done.length === 1 ? '' : 's'}.`));
    showTables();
  } catch (err) {
    fail(err);
  }
}

modelSelect.addEventListener('change', () => {
  const m = catalog?.teams.flatMap((t) => t.models).find((x) => x.id === modelSelect.value);
  if (m) showMembers(m);
});

document.body.append(
  h('header', { class: 'pane-top' }, h('strong', null, 'Sextant'), h('span', { class: 'small' }, 'metrics into Excel tables')),
  h(
    'main',
    { class: 'pane' },
    h('form', { class: 'row', onsubmit: (e: Event) => (e.preventDefault(), void signIn()) }, keyInput, h('button', { type: 'submit' }, 'Sign in')),
    messages,
    h('label', { class: 'stack' }, 'Model', modelSelect),
    members,
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'insert', onclick: () => void insert() }, 'Insert table'), h('button', { type: 'button', id: 'refresh', onclick: () => void refreshAll() }, 'Refresh all')),
    h('h3', null, 'Tables in this workbook'),
    tablesBox,
  ),
);

const start = () => void signIn();
if (typeof Office !== 'undefined' && typeof Office.onReady === 'function') void Office.onReady(start);
else start();
