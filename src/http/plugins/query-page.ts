/**
 * A small, self-contained query page (served on `GET /graphql` to browsers) and a plain landing page
 * at `/`. Everything is inline: the service runs offline, and the Content-Security-Policy forbids
 * loading anything from elsewhere, so no CDN can sneak in.
 */
import type { FastifyInstance } from 'fastify';

/** No script, style or request may leave the service. */
export const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:16px;margin:0}header a{color:#9cc3ff}
main{display:grid;grid-template-columns:260px 1fr 1fr;gap:12px;padding:12px;height:calc(100vh - 70px);box-sizing:border-box}
section{display:flex;flex-direction:column;min-height:0}
textarea,pre{font:13px/1.4 ui-monospace,monospace;border:1px solid #c9ced8;border-radius:4px;padding:8px;background:#fff;margin:0}
textarea{flex:1;resize:none}pre{flex:1;overflow:auto;white-space:pre-wrap}
#catalog{overflow:auto;background:#fff;border:1px solid #c9ced8;border-radius:4px;padding:8px;flex:1}
#catalog button{display:block;width:100%;text-align:left;border:0;background:none;padding:2px 4px;cursor:pointer;color:#2456b8}
#catalog button:hover{background:#eef3fd}
.row{display:flex;gap:8px;align-items:center;margin-bottom:8px}
input{flex:1;padding:4px 6px;border:1px solid #c9ced8;border-radius:4px}
.run{background:#2456b8;color:#fff;border:0;border-radius:4px;padding:6px 14px;cursor:pointer}
small{color:#5b6475}`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const keyInput = $('key');
keyInput.value = sessionStorage.getItem('sextant-key') || '';
keyInput.addEventListener('change', () => { sessionStorage.setItem('sextant-key', keyInput.value); loadCatalog(); });
async function gql(query, variables) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (keyInput.value) headers.authorization = 'Bearer ' + keyInput.value;
  const res = await fetch(location.pathname, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}
async function run() {
  let variables;
  try { variables = $('variables').value.trim() ? JSON.parse($('variables').value) : undefined; }
  catch (e) { $('result').textContent = 'Variables are not valid JSON: ' + e.message; return; }
  $('result').textContent = 'Running…';
  try { $('result').textContent = JSON.stringify(await gql($('query').value, variables), null, 2); }
  catch (e) { $('result').textContent = 'Request failed: ' + e.message; }
}
function example(team, model) {
  const dims = model.dimensions.slice(0, 2).map((d) => d.type === 'time' ? d.fieldName + '(grain: MONTH)' : d.fieldName);
  const measures = model.measures.slice(0, 3).map((m) => m.fieldName);
  return '{\\n  ' + team.fieldName + ' {\\n    ' + model.fieldName + '(limit: 20) {\\n' +
    dims.concat(measures).map((f) => '      ' + f).join('\\n') + '\\n    }\\n  }\\n}\\n';
}
async function loadCatalog() {
  const box = $('catalog');
  box.textContent = 'Loading…';
  const res = await gql('{ catalog { teams { name fieldName models { id fieldName description dimensions { fieldName type } measures { fieldName } } } } }').catch((e) => ({ errors: [{ message: e.message }] }));
  box.textContent = '';
  if (res.errors) {
    box.textContent = res.errors.map((e) => e.message).join('\\n');
    // Keys exist: the page asks for one here (the browser shows no sign-in box of its own).
    if (res.errors.some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED')) { box.textContent = 'This service needs an API key: paste it in the field above.'; keyInput.focus(); }
    return;
  }
  for (const team of res.data.catalog.teams) {
    const h = document.createElement('strong'); h.textContent = team.name; box.appendChild(h);
    for (const model of team.models) {
      const b = document.createElement('button');
      b.textContent = model.fieldName; b.title = model.description || model.id;
      b.addEventListener('click', () => { $('query').value = example(team, model); });
      box.appendChild(b);
    }
  }
}
$('run').addEventListener('click', run);
$('query').addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run(); });
loadCatalog();`;

const DEFAULT_QUERY = `{
  catalog {
    teams { name models { id description } }
  }
}
`;

/** The query page: an editor, variables, an API key field and the catalog to start from. */
export function queryPageHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sextant · GraphQL</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><header><h1>Sextant GraphQL</h1><a href="/">home</a><small>Ctrl+Enter runs the query</small></header>
<main>
<section><div class="row"><input id="key" type="password" placeholder="API key (optional on loopback)" autocomplete="off"></div>
<div id="catalog"></div></section>
<section><div class="row"><button class="run" id="run">Run</button></div>
<textarea id="query" spellcheck="false">${DEFAULT_QUERY}</textarea>
<small>Variables (JSON)</small><textarea id="variables" spellcheck="false" style="flex:0 0 80px"></textarea></section>
<section><pre id="result"></pre></section>
</main><script>${SCRIPT}</script></body></html>`;
}

/** The landing page at `/`. */
export function landingPageHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sextant</title><style>${STYLE} main{display:block;height:auto;padding:16px}</style></head>
<body><header><h1>Sextant</h1></header><main>
<p>Curated marketing metrics, served over GraphQL.</p>
<ul>
<li><a href="/graphql">Query page</a> — ask questions of the metrics, browse the catalog</li>
<li><a href="/health/ready">Readiness</a> — warehouse, object store and queue</li>
<li><a href="/metrics">Prometheus metrics</a></li>
</ul>
<p><small>API clients: <code>POST /graphql</code> with <code>content-type: application/json</code>.</small></p>
</main></body></html>`;
}

export interface QueryPagePluginOptions {
  /** Also serve the landing page at `/` (off when another plugin, such as the console, owns `/`). */
  landing: boolean;
}

/** Registers the landing page; the query page itself is served by the GraphQL route. */
export async function queryPagePlugin(app: FastifyInstance, options: QueryPagePluginOptions): Promise<void> {
  if (!options.landing) return;
  const html = landingPageHtml();
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(html));
}
