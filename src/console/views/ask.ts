/**
 * The question builder: a model's measures and dimensions, a time grain, a date range (presets or two
 * dates), filters → the generic `metrics` query → a formatted table and a chart, the downloads, and
 * the GraphQL of the question to copy. Times the question in the page against the API's own time.
 */
import { ApiError, METRICS_QUERY, type CatalogModel, type MetricsResult } from '../api.js';
import { chartData } from '../chart-data.js';
import { followWidth, renderChart, type ChartElement } from '../chart.js';
import { h, notice, replace } from '../dom.js';
import { formatAge, formatCell } from '../format.js';
import { DATE_PRESETS, GRAINS, OPERATORS, exportPath, toGraphql, toQueryInput, type FilterRow, type Grain, type Operator, type Question } from '../question.js';
import type { ViewContext } from './context.js';

const OPERATOR_LABELS: Record<string, string> = {
  EQUALS: '=',
  NOT_EQUALS: '≠',
  IN: 'is one of',
  NOT_IN: 'is none of',
  CONTAINS: 'contains',
  STARTS_WITH: 'starts with',
  GT: '>',
  GTE: '≥',
  LT: '<',
  LTE: '≤',
  IS_NULL: 'is empty',
  IS_NOT_NULL: 'is not empty',
};

interface Form {
  model: CatalogModel;
  el: HTMLFormElement;
  read(): Question;
}

function option(value: string, label: string, selected = false): HTMLOptionElement {
  return h('option', { value, selected }, label);
}

function filterRow(model: CatalogModel, list: HTMLElement, initial?: FilterRow): HTMLElement {
  const members = [
    ...model.dimensions.filter((d) => d.type !== 'time').map((d) => ({ name: d.name, numeric: d.type === 'number', kind: 'dimension' })),
    ...model.measures.map((m) => ({ name: m.name, numeric: true, kind: 'measure' })),
  ];
  const member = h('select', { 'aria-label': 'filter on', class: 'f-member' }, members.map((m) => option(m.name, `${m.name}${m.kind === 'measure' ? ' (measure)' : ''}`)));
  const operator = h('select', { 'aria-label': 'operator', class: 'f-op' }, OPERATORS.map((o) => option(o, OPERATOR_LABELS[o], o === 'EQUALS')));
  const value = h('input', { 'aria-label': 'value', class: 'f-value', placeholder: 'value (a, b for lists)' });
  if (initial) {
    member.value = initial.member;
    operator.value = initial.operator;
    value.value = initial.value;
  }
  const row = h('div', { class: 'filter-row' }, member, operator, value);
  row.appendChild(h('button', { type: 'button', class: 'icon', 'aria-label': 'remove filter', title: 'remove filter', onclick: () => row.remove() }, '×'));
  (row as HTMLElement & { read?: () => FilterRow }).read = () => ({
    member: member.value,
    operator: operator.value as Operator,
    value: value.value,
    numeric: members.find((m) => m.name === member.value)?.numeric ?? false,
  });
  list.appendChild(row);
  return row;
}

function buildForm(model: CatalogModel, models: CatalogModel[], onModel: (id: string) => void, onRun: () => void, initial?: Question): Form {
  const teams = [...new Set(models.map((m) => m.team))];
  const modelSelect = h(
    'select',
    { id: 'model', onchange: (e: Event) => onModel((e.target as HTMLSelectElement).value) },
    teams.map((t) => h('optgroup', { label: t }, models.filter((m) => m.team === t).map((m) => option(m.id, m.name, m.id === model.id)))),
  );
  const timeDims = model.dimensions.filter((d) => d.type === 'time');
  const otherDims = model.dimensions.filter((d) => d.type !== 'time');
  const measures = h(
    'fieldset',
    { id: 'measures' },
    h('legend', null, 'Measures'),
    model.measures.map((m, i) =>
      h('label', { class: 'check', title: m.description ?? '' }, h('input', { type: 'checkbox', name: 'measure', value: m.name, checked: i === 0 }), ` ${m.name}`, m.format ? h('span', { class: 'tag' }, m.format) : null),
    ),
  );
  const time = h('select', { id: 'time' }, option('', '(not over time)'), timeDims.map((d, i) => option(d.name, d.name, i === 0)));
  const grain = h('select', { id: 'grain', 'aria-label': 'grain' }, GRAINS.map((g) => option(g, g.toLowerCase(), g === 'MONTH')));
  const dims = h(
    'fieldset',
    { id: 'dimensions' },
    h('legend', null, 'Group by'),
    otherDims.length ? otherDims.map((d) => h('label', { class: 'check', title: d.description ?? '' }, h('input', { type: 'checkbox', name: 'dimension', value: d.name }), ` ${d.name}`)) : h('p', { class: 'muted small' }, 'No other dimensions.'),
  );
  const range = h('select', { id: 'range' }, option('', 'all time'), DATE_PRESETS.map((p) => option(p, p)), option('custom', 'between dates…'));
  const from = h('input', { type: 'date', id: 'from', 'aria-label': 'from (first day)' });
  const to = h('input', { type: 'date', id: 'to', 'aria-label': 'to (last day)' });
  const custom = h('div', { class: 'row', hidden: true }, from, h('span', null, 'to'), to);
  range.addEventListener('change', () => (custom.hidden = range.value !== 'custom'));
  const filters = h('div', { id: 'filters' });
  const limit = h('input', { id: 'limit', type: 'number', min: 1, max: 50000, value: 1000, 'aria-label': 'row limit' });

  const el = h(
    'form',
    { class: 'builder', onsubmit: (e: Event) => (e.preventDefault(), onRun()) },
    h('label', { class: 'stack' }, 'Model', modelSelect),
    model.description ? h('p', { class: 'muted small' }, model.description, ' · ', h('span', { class: 'fresh' }, `loaded ${formatAge(model.lastLoadedAt)}`)) : null,
    measures,
    timeDims.length ? h('fieldset', null, h('legend', null, 'Over time'), h('div', { class: 'row' }, h('label', { class: 'sr-only', for: 'time' }, 'time dimension'), time, grain)) : null,
    dims,
    timeDims.length ? h('fieldset', null, h('legend', null, 'Date range'), h('label', { class: 'sr-only', for: 'range' }, 'date range'), range, custom) : null,
    h('fieldset', null, h('legend', null, 'Filters'), filters, h('button', { type: 'button', class: 'link', onclick: () => filterRow(model, filters).querySelector('select')?.focus() }, '+ add a filter')),
    h('label', { class: 'stack' }, 'Row limit', limit),
    h('button', { type: 'submit', class: 'primary', id: 'run' }, 'Run'),
  );

  const read = (): Question => {
    const checked = (name: string) => [...el.querySelectorAll<HTMLInputElement>(`input[name=${name}]:checked`)].map((i) => i.value);
    const timeName = timeDims.length ? time.value : '';
    const rangeMember = timeName || timeDims[0]?.name;
    let r: Question['range'];
    if (rangeMember && range.value === 'custom' && (from.value || to.value)) r = { member: rangeMember, ...(from.value ? { from: from.value } : {}), ...(to.value ? { to: to.value } : {}) };
    else if (rangeMember && range.value && range.value !== 'custom') r = { member: rangeMember, phrase: range.value };
    return {
      model: model.id,
      measures: checked('measure'),
      dimensions: checked('dimension'),
      ...(timeName ? { time: { name: timeName, grain: grain.value as Grain } } : {}),
      ...(r ? { range: r } : {}),
      filters: [...filters.querySelectorAll<HTMLElement & { read?: () => FilterRow }>('.filter-row')].map((row) => row.read!()),
      limit: Number(limit.value) || 1000,
    };
  };
  if (initial) {
    for (const box of el.querySelectorAll<HTMLInputElement>('input[name=measure]')) box.checked = initial.measures.includes(box.value);
    for (const box of el.querySelectorAll<HTMLInputElement>('input[name=dimension]')) box.checked = initial.dimensions.includes(box.value);
    time.value = initial.time?.name ?? '';
    if (initial.time) grain.value = initial.time.grain;
    if (initial.range?.phrase) range.value = initial.range.phrase;
    else if (initial.range) {
      range.value = 'custom';
      custom.hidden = false;
      from.value = initial.range.from ?? '';
      to.value = initial.range.to ?? '';
    }
    for (const f of initial.filters) filterRow(model, filters, f);
    if (initial.limit) limit.value = String(initial.limit);
  }
  return { model, el, read };
}

function resultTable(result: MetricsResult): HTMLElement {
  const numeric = result.columns.map((c) => c.kind === 'measure' || c.type === 'number');
  return h(
    'div',
    { class: 'scroll table-wrap', tabindex: 0, 'aria-label': 'result table' },
    h(
      'table',
      { id: 'result-table', class: 'result' },
      h('thead', null, h('tr', null, result.columns.map((c, i) => h('th', { scope: 'col', class: numeric[i] ? 'num' : '', title: [c.description, c.format ?? c.type].filter(Boolean).join(' · ') }, c.grain ? `${c.name} (${c.grain.toLowerCase()})` : c.name)))),
      h('tbody', null, result.rows.map((row) => h('tr', null, row.map((v, i) => h('td', { class: `${numeric[i] ? 'num' : ''}${v === null ? ' null' : ''}` }, formatCell(v, result.columns[i])))))),
    ),
  );
}

/** Fetches `path` with the key (no browser sign-in box) and saves the answer as `filename`. */
export async function download(ctx: ViewContext, path: string, filename: string, where: HTMLElement): Promise<void> {
  replace(where, h('span', { class: 'muted' }, `Preparing ${filename}…`));
  try {
    const res = await fetch(path, { headers: ctx.api.headers() });
    if (!res.ok) {
      let message = `the service answered ${res.status}`;
      try {
        const body = (await res.json()) as { error?: { code: string; message: string } };
        if (body.error) message = res.status === 404 && body.error.code === 'NOT_FOUND' ? 'this service has no /exports downloads yet' : body.error.message;
        if (body.error?.code === 'UNAUTHENTICATED') throw new ApiError(body.error.message, 'UNAUTHENTICATED', 401);
      } catch (err) {
        if (err instanceof ApiError) throw err;
      }
      throw new ApiError(message, 'DOWNLOAD_FAILED', res.status);
    }
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    replace(where, h('span', { class: 'muted' }, `Downloaded ${filename}.`));
  } catch (err) {
    replace(where);
    ctx.fail(err, where);
  }
}

export async function askView(root: HTMLElement, ctx: ViewContext): Promise<void> {
  replace(root, h('p', { class: 'muted' }, 'Loading the catalog…'));
  let models: CatalogModel[];
  let inDateRange: boolean;
  try {
    const catalog = await ctx.catalog();
    models = catalog.teams.flatMap((t) => t.models);
    inDateRange = await ctx.hasInDateRange();
  } catch (err) {
    replace(root);
    ctx.fail(err, root);
    return;
  }
  if (models.length === 0) {
    replace(root, h('p', null, 'This key reads no models.'));
    return;
  }
  const wanted = ctx.params.get('model');
  const aside = h('aside', { class: 'panel' });
  const status = h('div', { id: 'status', role: 'status', 'aria-live': 'polite', class: 'muted' }, 'Pick measures and dimensions, then Run.');
  const toolbar = h('div', { class: 'toolbar', hidden: true });
  const chart: ChartElement = h('div', { id: 'chart', class: 'chart', role: 'img', 'aria-label': 'chart of the result' });
  followWidth(chart);
  const chartNote = h('p', { class: 'muted small' });
  const tableBox = h('div');
  const gqlText = h('pre', { id: 'graphql', class: 'code', tabindex: 0 });
  const gqlBox = h('details', { class: 'graphql', hidden: true }, h('summary', null, 'GraphQL of this question'), gqlText);
  const messages = h('div');
  const result = h('section', { class: 'result-panel' }, status, messages, toolbar, chart, chartNote, tableBox, gqlBox);
  replace(root, h('div', { class: 'ask' }, aside, result));

  let form: Form;
  const setModel = (id: string, initial?: Question) => {
    const model = models.find((m) => m.id === id) ?? models[0];
    form = buildForm(model, models, (other) => setModel(other), () => void run(), initial?.model === model.id ? initial : undefined);
    replace(aside, form.el);
  };
  // A link to a question (`#/ask?q=…`, what the address bar shows after a run) opens it answered.
  let shared: Question | undefined;
  try {
    const q = ctx.params.get('q');
    if (q) shared = JSON.parse(q) as Question;
  } catch {
    shared = undefined;
  }
  setModel(shared?.model ?? wanted ?? 'social.post_performance', shared);

  const run = async () => {
    replace(messages);
    const question = form.read();
    if (question.measures.length === 0) {
      replace(messages, notice('error', 'Pick at least one measure.'));
      return;
    }
    let input;
    try {
      input = toQueryInput(question, inDateRange);
    } catch (err) {
      replace(messages, notice('error', (err as Error).message));
      return;
    }
    // The address bar holds the question, so it can be bookmarked or sent; replaceState fires no hashchange.
    history.replaceState(null, '', `#/ask?${new URLSearchParams({ q: JSON.stringify(question) }).toString()}`);
    const started = performance.now();
    replace(status, 'Running…');
    status.removeAttribute('data-total-ms');
    try {
      const answer = await ctx.api.gql<{ metrics: MetricsResult }>(METRICS_QUERY, { query: input });
      const data = answer.data.metrics;
      replace(tableBox, data.rows.length ? resultTable(data) : h('p', null, 'No rows: nothing matches this question.'));
      const measureCols = data.columns.filter((c) => c.kind === 'measure');
      const chartMeasure = h('select', { id: 'chart-measure', 'aria-label': 'measure on the chart' }, measureCols.map((c) => option(c.key, c.name)));
      const draw = () => {
        const cd = data.rows.length ? chartData(data, chartMeasure.value) : undefined;
        if (!cd) {
          chart.uplot?.destroy();
          chart.uplot = undefined;
          replace(chart);
          replace(chartNote);
          return;
        }
        chart.dataset.kind = cd.kind;
        renderChart(chart, cd);
        replace(chartNote, cd.omitted ? `${cd.omitted} more ${cd.kind === 'line' ? 'series' : 'bars'} left out of the chart (all are in the table).` : '');
      };
      chartMeasure.addEventListener('change', draw);
      draw();
      const csv = exportPath(input, 'csv');
      const xlsx = exportPath(input, 'xlsx');
      const dl = h('span', { class: 'muted small' });
      const base = input.model.replace('.', '-');
      replace(
        toolbar,
        measureCols.length > 1 ? h('label', null, 'Chart ', chartMeasure) : null,
        h('button', { type: 'button', id: 'download-csv', onclick: () => void download(ctx, csv, `${base}.csv`, dl) }, 'Download CSV'),
        h('button', { type: 'button', id: 'download-xlsx', onclick: () => void download(ctx, xlsx, `${base}.xlsx`, dl) }, 'Download XLSX'),
        h('button', {
          type: 'button',
          id: 'copy-graphql',
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(gqlText.textContent ?? '');
              replace(dl, 'GraphQL copied.');
            } catch {
              gqlBox.open = true;
              getSelection()?.selectAllChildren(gqlText);
              replace(dl, 'Press Ctrl+C to copy the selected GraphQL.');
            }
          },
        }, 'Copy GraphQL'),
        dl,
      );
      toolbar.hidden = false;
      gqlText.textContent = toGraphql(input);
      gqlBox.hidden = false;
      const total = performance.now() - started;
      const loadedAt = data.lastLoadedAt ?? models.find((m) => m.id === input.model)?.lastLoadedAt ?? null;
      status.dataset.totalMs = total.toFixed(1);
      status.dataset.apiMs = answer.ms.toFixed(1);
      status.dataset.rows = String(data.rows.length);
      replace(
        status,
        `${data.rows.length.toLocaleString()} rows · answered in ${Math.round(total)} ms (API ${Math.round(answer.ms)} ms)`,
        ` · data loaded ${formatAge(loadedAt)}`,
        data.hasMore ? ' · more rows than the limit: raise it, or download the whole answer' : '',
      );
    } catch (err) {
      replace(status, 'The question failed.');
      ctx.fail(err, messages);
    }
  };
  if (shared?.model === form!.model.id) void run();
}
