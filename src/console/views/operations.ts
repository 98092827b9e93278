/**
 * Operations: sources (schedule, state, last run), jobs (status, progress, rows, errors with line and
 * column), and uploads by drag and drop (createUpload → PUT with progress → completeUpload → the job).
 */
import { ApiError } from '../api.js';
import { uploadTarget } from './upload-url.js';
import { h, notice, replace, time } from '../dom.js';
import type { ViewContext } from './context.js';

export interface Job {
  id: string;
  type: string;
  status: string;
  source: string | null;
  target: string | null;
  attempts: number;
  progress: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  rowsRead: number | null;
  rowsLoaded: number | null;
  rowsRejected: number | null;
  errors: Array<{ line: number | null; column: string | null; message: string }>;
  downloadUrl: string | null;
}

const JOB_FIELDS = 'id type status source target attempts progress createdAt startedAt finishedAt rowsRead rowsLoaded rowsRejected errors { line column message } downloadUrl';
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const POLL_MS = 1500;

const n = (v: number | null) => (v === null ? '—' : v.toLocaleString());

function badge(status: string): HTMLElement {
  return h('span', { class: `badge ${status.toLowerCase()}` }, status.toLowerCase());
}

function progressBar(value: number, label: string): HTMLElement {
  return h('progress', { max: 100, value: Math.round(value), 'aria-label': label }, `${Math.round(value)}%`);
}

function errorsTable(job: Job): HTMLElement | null {
  if (job.errors.length === 0) return null;
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'errors' },
      h('thead', null, h('tr', null, h('th', null, 'line'), h('th', null, 'column'), h('th', null, 'message'))),
      h('tbody', null, job.errors.map((e) => h('tr', null, h('td', { class: 'num' }, e.line ?? ''), h('td', null, e.column ?? ''), h('td', null, e.message)))),
    ),
  );
}

function fact(term: string, value: string | HTMLElement, cls?: string): HTMLElement {
  return h('div', null, h('dt', null, term), h('dd', cls ? { class: cls } : null, value));
}

/** One job as a card: used by the jobs list and after an upload. */
export function jobCard(job: Job, actions?: HTMLElement | null): HTMLElement {
  return h(
    'article',
    { class: 'card job', 'data-job': job.id, 'data-status': job.status },
    h('header', null, badge(job.status), h('strong', null, job.type.toLowerCase().replace(/_/g, ' ')), h('span', null, job.target ?? job.source ?? ''), h('code', { class: 'muted small', title: job.id }, job.id.slice(0, 8)), actions ?? null),
    h('div', { class: 'row' }, progressBar(job.progress, `progress of job ${job.id}`), h('span', { class: 'small' }, `${Math.round(job.progress)}%`)),
    h(
      'dl',
      { class: 'facts' },
      fact('rows read', n(job.rowsRead), 'rows-read'),
      fact('loaded', n(job.rowsLoaded), 'rows-loaded'),
      fact('rejected', n(job.rowsRejected), 'rows-rejected'),
      fact('created', time(job.createdAt)),
      fact('finished', time(job.finishedAt)),
      fact('attempts', String(job.attempts)),
    ),
    errorsTable(job),
    job.downloadUrl ? h('a', { href: job.downloadUrl }, 'Download the file') : null,
  );
}

export async function sourcesView(root: HTMLElement, ctx: ViewContext): Promise<void> {
  replace(root, h('h2', null, 'Sources'), h('p', { class: 'muted' }, 'Loading…'));
  try {
    const res = await ctx.api.gql<{ sources: Array<{ name: string; type: string; schedule: string | null; targets: string[]; lastRun: Job | null }> }>(`{ sources { name type schedule targets lastRun { ${JOB_FIELDS} } } }`);
    const sources = res.data.sources;
    const messages = h('div');
    const runSource = async (name: string) => {
      try {
        const job = await ctx.api.gql<{ runSource: Job }>(`mutation($name: String!) { runSource(name: $name) { id } }`, { name });
        replace(messages, notice('ok', `Started job ${job.data.runSource.id}: see `, h('a', { href: '#/jobs' }, 'Jobs'), '.'));
      } catch (err) {
        ctx.fail(err, messages);
      }
    };
    replace(
      root,
      h('h2', null, 'Sources'),
      messages,
      sources.length === 0
        ? h('p', null, 'No connector sources are configured for your teams. A project adds them as ', h('code', null, 'sources/<name>.yml'), '; files come in through ', h('a', { href: '#/upload' }, 'Upload'), '.')
        : h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { class: 'list', id: 'sources' },
              h('thead', null, h('tr', null, ['source', 'type', 'schedule (UTC)', 'targets', 'last run', 'state', 'rows loaded', ''].map((t) => h('th', { scope: 'col' }, t)))),
              h(
                'tbody',
                null,
                sources.map((s) =>
                  h(
                    'tr',
                    null,
                    h('td', null, h('strong', null, s.name)),
                    h('td', null, s.type),
                    h('td', null, s.schedule ? h('code', null, s.schedule) : h('span', { class: 'muted' }, 'manual')),
                    h('td', null, s.targets.join(', ')),
                    h('td', null, time(s.lastRun?.finishedAt ?? s.lastRun?.createdAt)),
                    h('td', null, s.lastRun ? badge(s.lastRun.status) : h('span', { class: 'muted' }, 'never run')),
                    h('td', { class: 'num' }, n(s.lastRun?.rowsLoaded ?? null)),
                    h('td', null, h('div', { class: 'row' }, h('a', { href: `#/jobs?source=${encodeURIComponent(s.name)}` }, 'runs'), h('button', { type: 'button', onclick: () => void runSource(s.name) }, 'Run now'))),
                  ),
                ),
              ),
            ),
          ),
    );
  } catch (err) {
    replace(root, h('h2', null, 'Sources'));
    ctx.fail(err, root);
  }
}

export async function jobsView(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const status = h('select', { id: 'job-status', 'aria-label': 'status' }, h('option', { value: '' }, 'all'), ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'].map((s) => h('option', { value: s }, s.toLowerCase())));
  const list = h('div', { id: 'jobs', class: 'jobs' });
  // `#/jobs?source=<name>`: the runs of one source (linked from Sources).
  const source = ctx.params.get('source');
  const messages = h('div');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let left = false;
  ctx.onLeave(() => {
    left = true;
    clearTimeout(timer);
  });
  const act = async (mutation: 'retryJob' | 'cancelJob', id: string) => {
    try {
      await ctx.api.gql(`mutation($id: ID!) { ${mutation}(id: $id) { id } }`, { id });
      await load();
    } catch (err) {
      ctx.fail(err, messages);
    }
  };
  const load = async () => {
    clearTimeout(timer);
    try {
      const variables: Record<string, unknown> = {};
      if (status.value) variables.status = status.value;
      if (source) variables.source = source;
      const res = await ctx.api.gql<{ jobs: Job[] }>(`query($status: JobStatus, $source: String) { jobs(status: $status, source: $source, limit: 50) { ${JOB_FIELDS} } }`, variables);
      if (left) return;
      const jobs = res.data.jobs;
      replace(
        list,
        jobs.length === 0
          ? h('p', null, 'No jobs yet. ', h('a', { href: '#/upload' }, 'Upload a file'), ' to start one.')
          : jobs.map((j) =>
              jobCard(
                j,
                FINAL.has(j.status)
                  ? j.status !== 'SUCCEEDED' ? h('button', { type: 'button', onclick: () => void act('retryJob', j.id) }, 'Retry') : null
                  : h('button', { type: 'button', onclick: () => void act('cancelJob', j.id) }, 'Cancel'),
              ),
            ),
      );
      // Poll while anything is moving.
      if (jobs.some((j) => !FINAL.has(j.status))) timer = setTimeout(() => void load(), POLL_MS);
    } catch (err) {
      replace(list);
      ctx.fail(err, messages);
    }
  };
  status.addEventListener('change', () => void load());
  replace(
    root,
    h('h2', null, source ? `Runs of ${source}` : 'Jobs'),
    source ? h('p', null, h('a', { href: '#/jobs' }, 'All jobs')) : null,
    h('div', { class: 'row' }, h('label', null, 'Status ', status), h('button', { type: 'button', onclick: () => void load() }, 'Refresh')),
    messages,
    list,
  );
  await load();
}

/** PUTs `file` to `url`, reporting progress; XHR because fetch cannot report upload progress. */
function put(url: string, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    if (file.type) xhr.setRequestHeader('content-type', file.type);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let message = `the upload was refused (${xhr.status})`;
      try {
        const body = JSON.parse(xhr.responseText) as { error?: { message: string } };
        if (body.error) message = body.error.message;
      } catch {
        /* not JSON (S3 answers XML): keep the status */
      }
      reject(new ApiError(message, 'UPLOAD_FAILED', xhr.status));
    };
    xhr.onerror = () => reject(new ApiError('the upload did not reach the store (network error, or CORS on the bucket)', 'UPLOAD_FAILED', 0));
    xhr.send(file);
  });
}

export async function uploadView(root: HTMLElement, ctx: ViewContext): Promise<void> {
  replace(root, h('h2', null, 'Upload'), h('p', { class: 'muted' }, 'Loading targets…'));
  let targets: Array<{ name: string; table: string; key: string[]; columns: Array<{ name: string; from: string | null; type: string; required: boolean }> }>;
  try {
    targets = (await ctx.api.gql<{ targets: typeof targets }>('{ targets { name table key columns { name from type required } } }')).data.targets;
  } catch (err) {
    replace(root, h('h2', null, 'Upload'));
    ctx.fail(err, root);
    return;
  }
  if (targets.length === 0) {
    replace(root, h('h2', null, 'Upload'), h('p', null, 'No ingestion target is open to this key.'));
    return;
  }
  const target = h('select', { id: 'target' }, targets.map((t) => h('option', { value: t.name }, `${t.name} → ${t.table}`)));
  const columns = h('div', { class: 'small' });
  const showColumns = () => {
    const t = targets.find((x) => x.name === target.value)!;
    replace(
      columns,
      h('p', { class: 'muted' }, `Key: ${t.key.join(', ')}. Columns the file may carry (header name → column):`),
      h('ul', { class: 'columns' }, t.columns.map((c) => h('li', null, h('code', null, c.from ?? c.name), c.from ? ` → ${c.name}` : '', ` (${c.type}${c.required ? ', required' : ''})`))),
    );
  };
  target.addEventListener('change', showColumns);
  showColumns();
  const input = h('input', { type: 'file', id: 'file', accept: '.csv,.json,.ndjson,.jsonl,.xlsx,text/csv,application/json', class: 'sr-only' });
  const drop = h(
    'label',
    { class: 'dropzone', for: 'file', tabindex: 0, id: 'dropzone' },
    h('strong', null, 'Drop a file here'),
    h('span', null, ' or press Enter to choose one (CSV, JSON, NDJSON, XLSX)'),
  );
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  const runs = h('div', { id: 'uploads' });
  const upload = async (file: File) => {
    const bar = h('progress', { max: 100, value: 0, 'aria-label': `upload of ${file.name}` });
    const line = h('span', { class: 'small' }, 'starting…');
    const box = h('article', { class: 'card upload' }, h('header', null, h('strong', null, file.name), h('span', { class: 'muted' }, `${(file.size / 1024).toFixed(1)} KB → ${target.value}`)), h('div', { class: 'row' }, bar, line));
    runs.prepend(box);
    try {
      const created = await ctx.api.gql<{ createUpload: { id: string; uploadUrl: string } }>(
        'mutation($target: String!, $filename: String!, $contentType: String) { createUpload(target: $target, filename: $filename, contentType: $contentType) { id uploadUrl } }',
        { target: target.value, filename: file.name, contentType: file.type || null },
      );
      await put(uploadTarget(created.data.createUpload.uploadUrl, location.origin), file, (f) => {
        bar.value = Math.round(f * 100);
        line.textContent = `${Math.round(f * 100)}% uploaded`;
      });
      bar.value = 100;
      line.textContent = 'uploaded; queueing the load…';
      const completed = await ctx.api.gql<{ completeUpload: Job }>(`mutation($id: ID!) { completeUpload(id: $id) { ${JOB_FIELDS} } }`, { id: created.data.createUpload.id });
      let job = completed.data.completeUpload;
      const jobBox = h('div');
      box.appendChild(jobBox);
      line.textContent = 'uploaded';
      for (;;) {
        replace(jobBox, jobCard(job));
        if (FINAL.has(job.status)) break;
        await new Promise((r) => setTimeout(r, 500));
        const next = (await ctx.api.gql<{ job: Job | null }>(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: job.id })).data.job;
        if (!next) break;
        job = next;
      }
    } catch (err) {
      line.textContent = 'failed';
      ctx.fail(err, box);
    }
  };
  input.addEventListener('change', () => {
    for (const f of input.files ?? []) void upload(f);
    input.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer?.files ?? []) void upload(f);
  });
  replace(root, h('h2', null, 'Upload'), h('label', { class: 'stack' }, 'Target', target), columns, input, drop, runs);
}
