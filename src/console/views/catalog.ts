/** The catalog: every team and model this key reads, each member with type, format and description, and freshness. */
import type { CatalogModel } from '../api.js';
import { h, replace } from '../dom.js';
import { formatAge } from '../format.js';
import { pascalCase } from '../../semantic/names.js';
import { download } from './ask.js';
import type { ViewContext } from './context.js';

/**
 * Connect: how Power BI, Excel and Tableau read this model through the OData feed (docs/bi-tools.md) —
 * the entity set's URL to paste, and the one-click connection files, fetched with the key.
 */
function connectSection(model: CatalogModel, ctx: ViewContext): HTMLElement {
  const team = encodeURIComponent(model.team);
  const set = pascalCase(model.name);
  const feed = `${location.origin}/odata/${team}/`;
  const status = h('span', { class: 'muted small', role: 'status' });
  return h(
    'details',
    { class: 'connect' },
    h('summary', null, 'Connect from Power BI, Excel or Tableau'),
    h('p', { class: 'small' }, 'OData feed: ', h('code', { 'data-odata': model.id }, `${feed}${set}`)),
    h('p', { class: 'small muted' }, 'Sign in with Basic: any user name, your API key as the password (Power BI: or Web API with the key). See docs/bi-tools.md.'),
    h(
      'p',
      null,
      h('button', { type: 'button', onclick: () => void download(ctx, `/odata/${team}/${set}.odc`, `${set}.odc`, status) }, 'Excel connection (.odc)'),
      ' ',
      h('button', { type: 'button', onclick: () => void download(ctx, `/odata/${team}/connect.pbids`, `${model.team}.pbids`, status) }, 'Power BI file (.pbids)'),
      ' ',
      status,
    ),
  );
}

function modelCard(model: CatalogModel, ctx: ViewContext): HTMLElement {
  const age = formatAge(model.lastLoadedAt);
  return h(
    'article',
    { class: 'card model', 'data-model': model.id },
    h(
      'header',
      null,
      h('h3', null, model.name),
      h('span', { class: 'muted' }, model.id),
      h('a', { class: 'button', href: `#/ask?model=${encodeURIComponent(model.id)}`, 'aria-label': `Ask ${model.id}` }, 'Ask'),
    ),
    model.description ? h('p', null, model.description) : null,
    h(
      'p',
      { class: 'muted small' },
      h('span', { class: `fresh ${model.lastLoadedAt ? '' : 'stale'}`, title: model.lastLoadedAt ?? 'no load recorded' }, `loaded ${age}`),
      ' · ',
      model.table ? `table ${model.table} · ` : '',
      `one row per ${model.grain.join(', ')}`,
    ),
    h(
      'details',
      null,
      h('summary', null, `${model.measures.length} measures, ${model.dimensions.length} dimensions`),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'members' },
          h('thead', null, h('tr', null, h('th', null, 'measure'), h('th', null, 'type'), h('th', null, 'format'), h('th', null, 'description'))),
          h('tbody', null, model.measures.map((m) => h('tr', null, h('td', null, h('code', null, m.name)), h('td', null, m.type), h('td', null, m.format ?? ''), h('td', null, m.description ?? '')))),
        ),
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'members' },
          h('thead', null, h('tr', null, h('th', null, 'dimension'), h('th', null, 'type'), h('th', null, 'description'))),
          h('tbody', null, model.dimensions.map((d) => h('tr', null, h('td', null, h('code', null, d.name)), h('td', null, d.type), h('td', null, d.description ?? '')))),
        ),
      ),
      model.joins.length ? h('p', { class: 'small' }, 'Joins: ', model.joins.map((j) => `${j.name} → ${j.model} (${j.relationship})`).join('; ')) : null,
    ),
    connectSection(model, ctx),
  );
}

export async function catalogView(root: HTMLElement, ctx: ViewContext): Promise<void> {
  replace(root, h('p', { class: 'muted' }, 'Loading the catalog…'));
  try {
    const catalog = await ctx.catalog();
    const teams = catalog.teams.filter((t) => t.models.length);
    replace(
      root,
      h('h2', null, 'Catalog'),
      teams.length === 0 ? h('p', null, 'This key reads no models.') : null,
      teams.map((team) => h('section', { class: 'team', 'data-team': team.name }, h('h2', { class: 'team-name' }, team.name), h('div', { class: 'cards' }, team.models.map((m) => modelCard(m, ctx))))),
    );
  } catch (err) {
    replace(root);
    ctx.fail(err, root);
  }
}
