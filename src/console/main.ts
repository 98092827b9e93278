/**
 * The console's shell: the API key (kept in sessionStorage for the tab's session), the navigation,
 * and a hash router over the views. Every view asks only through the GraphQL API with the key.
 */
import './style.css';
import { ApiError, CATALOG_QUERY, createApi, serverHasInDateRange, type Catalog } from './api.js';
import { h, notice, replace } from './dom.js';
import { askView } from './views/ask.js';
import { catalogView } from './views/catalog.js';
import type { ViewContext } from './views/context.js';
import { jobsView, sourcesView, uploadView } from './views/operations.js';

const KEY = 'sextant.key';
const VIEWS: Record<string, { title: string; render: (root: HTMLElement, ctx: ViewContext) => Promise<void> }> = {
  ask: { title: 'Ask', render: askView },
  catalog: { title: 'Catalog', render: catalogView },
  jobs: { title: 'Jobs', render: jobsView },
  upload: { title: 'Upload', render: uploadView },
  sources: { title: 'Sources', render: sourcesView },
};

let key = sessionStorage.getItem(KEY);
const api = createApi(() => key);
let catalog: Promise<Catalog> | undefined;
let inDateRange: Promise<boolean> | undefined;
let leave: Array<() => void> = [];

const keyInput = h('input', { type: 'password', id: 'key', autocomplete: 'off', placeholder: 'API key', 'aria-label': 'API key', value: key ?? '' });
const keyState = h('span', { class: 'key-state small' });
const keyForm = h(
  'form',
  { class: 'key', onsubmit: (e: Event) => (e.preventDefault(), setKey(keyInput.value.trim() || null)) },
  keyInput,
  h('button', { type: 'submit' }, 'Use key'),
  h('button', { type: 'button', onclick: () => ((keyInput.value = ''), setKey(null)) }, 'Forget'),
  keyState,
);
const nav = h('nav', { 'aria-label': 'sections' }, Object.entries(VIEWS).map(([id, v]) => h('a', { href: `#/${id}`, 'data-view': id }, v.title)));
const banner = h('div', { id: 'banner' });
const main = h('main', { id: 'view', tabindex: -1 });

function setKey(value: string | null): void {
  key = value;
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
  catalog = undefined;
  showKeyState();
  void route();
}

function showKeyState(): void {
  keyState.textContent = key ? 'key in use for this session' : 'no key (works on this machine when no key exists)';
}

function fail(err: unknown, where: HTMLElement): void {
  if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
    catalog = undefined;
    replace(
      banner,
      key
        ? notice('error', 'This key was not accepted (', err.message, '). Enter another key above.')
        : notice('error', 'This service needs an API key: enter yours above. An admin makes one with ', h('code', null, 'sextant keys create'), '.'),
    );
    keyInput.focus();
    return;
  }
  if (err instanceof ApiError && err.code === 'FORBIDDEN') {
    where.appendChild(notice('error', `Your key may not do this: ${err.message}`));
    return;
  }
  where.appendChild(notice('error', err instanceof Error ? err.message : String(err)));
}

async function route(): Promise<void> {
  for (const fn of leave) fn();
  leave = [];
  replace(banner);
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const id = VIEWS[path] ? path : 'ask';
  for (const a of nav.querySelectorAll('a')) a.setAttribute('aria-current', a.dataset.view === id ? 'page' : 'false');
  document.title = `Sextant · ${VIEWS[id].title}`;
  const ctx: ViewContext = {
    api,
    catalog: () => {
      catalog ??= api.gql<{ catalog: Catalog }>(CATALOG_QUERY).then((r) => r.data.catalog);
      catalog.catch(() => (catalog = undefined));
      return catalog;
    },
    hasInDateRange: () => (inDateRange ??= serverHasInDateRange(api)),
    params: new URLSearchParams(query ?? ''),
    fail,
    onLeave: (fn) => leave.push(fn),
  };
  await VIEWS[id].render(main, ctx);
}

document.body.append(
  h('a', { href: '#view', class: 'skip' }, 'Skip to content'),
  h('header', { class: 'top' }, h('a', { href: '#/ask', class: 'brand' }, 'Sextant'), nav, keyForm),
  banner,
  main,
  h('footer', { class: 'small muted' }, h('a', { href: '/graphql' }, 'GraphQL query page'), ' · ', h('a', { href: '/excel/manifest.xml' }, 'Excel add-in manifest'), ' · ', h('a', { href: '/health/ready' }, 'health')),
);
showKeyState();
window.addEventListener('hashchange', () => void route());
void route();
