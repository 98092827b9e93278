/**
 * The generic `metrics` query, the `catalog`, team scoping of the schema and error masking, on
 * DuckDB and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/warehouses.js';
import { authenticateByHeader, gql, startHarness, type Harness } from './graphql-harness.js';

const authenticate = authenticateByHeader;

const asSocial = { 'x-test-principal': 'social' };

describe.each(DIALECTS)('metrics, catalog and scoping on %s', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(dialect, { authenticate });
  });
  afterAll(async () => h?.close());

  it('answers a generic query with columns and rows in column order, equal to the typed answer', async () => {
    const generic = await gql(
      h.app,
      `query($q: SemanticQueryInput!) { metrics(query: $q) { columns { name key kind type grain format } rows } }`,
      {
        q: {
          model: 'social.post_performance',
          measures: ['impressions', 'engagement_rate'],
          dimensions: [{ name: 'platform' }, { name: 'metric_date', grain: 'MONTH' }],
          filters: [
            { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
            { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] },
            { member: 'impressions', operator: 'GT', values: [0] },
          ],
          orderBy: [{ member: 'platform', direction: 'ASC' }, { member: 'metric_date', grain: 'MONTH', direction: 'ASC' }],
        },
      },
    );
    expect(generic.body.errors).toBeUndefined();
    const result = generic.body.data!.metrics as { columns: Array<Record<string, unknown>>; rows: unknown[][] };
    expect(result.columns.map((c) => [c.name, c.kind, c.type, c.grain, c.format])).toEqual([
      ['platform', 'dimension', 'string', null, null],
      ['metric_date', 'dimension', 'date', 'MONTH', null],
      ['impressions', 'measure', 'number', null, 'integer'],
      ['engagement_rate', 'measure', 'number', null, 'percent'],
    ]);

    const typed = await gql(
      h.app,
      `{ social { postPerformance(where: { metricDate: { gte: "2026-01-01", lt: "2026-04-01" } }, having: { impressions: { gt: 0 } },
          orderBy: [{ platform: ASC }, { metricDate: ASC }]) { platform metricDate(grain: MONTH) impressions engagementRate } } }`,
    );
    const rows = (typed.body.data!.social as { postPerformance: Array<Record<string, unknown>> }).postPerformance;
    expect(result.rows).toEqual(rows.map((r) => [r.platform, r.metricDate, r.impressions, r.engagementRate]));
    expect(result.rows.length).toBeGreaterThan(3);
  });

  it('marks every GraphQL answer uncacheable for HTTP caches (cache-control: no-store), answers and errors alike', async () => {
    const ask = (query: string) => h.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ query }) });
    const answer = await ask(`{ social { postPerformance(limit: 2) { platform impressions } } }`);
    expect(answer.statusCode).toBe(200);
    expect(answer.json().errors).toBeUndefined();
    expect(answer.headers['cache-control']).toBe('no-store');
    const refused = await ask(`{ metrics(query: { model: "social.nope", measures: ["x"] }) { rows } }`);
    expect(refused.json().errors?.length).toBeGreaterThan(0);
    expect(refused.headers['cache-control']).toBe('no-store');
  });

  it('refuses a generic query with an unknown member or a bad filter, saying what was expected', async () => {
    const q = `query($q: SemanticQueryInput!) { metrics(query: $q) { rows } }`;
    const unknown = await gql(h.app, q, { q: { model: 'social.post_performance', measures: ['impresions'] } });
    expect(unknown.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(unknown.body.errors?.[0].message).toMatch(/unknown measure "impresions".*impressions/);

    const values = await gql(h.app, q, {
      q: { model: 'social.post_performance', measures: ['impressions'], filters: [{ member: 'platform', operator: 'EQUALS', values: ['a', 'b'] }] },
    });
    expect(values.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(values.body.errors?.[0].message).toMatch(/EQUALS takes exactly one value, got 2/);

    const model = await gql(h.app, q, { q: { model: 'social.nope', measures: ['impressions'] } });
    expect(model.body.errors?.[0].extensions?.code).toBe('UNKNOWN_MODEL');
  });

  it('lists the catalog with member types, formats and freshness from _loaded_at', async () => {
    const res = await gql(
      h.app,
      `{ catalog { teams { name models { id } } models { id fieldName table lastLoadedAt
          dimensions { name fieldName type } measures { name fieldName type format } joins { name model relationship } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const catalog = res.body.data!.catalog as {
      teams: Array<{ name: string; models: Array<{ id: string }> }>;
      models: Array<{ id: string; fieldName: string; lastLoadedAt: string | null; measures: Array<Record<string, unknown>>; joins: unknown[] }>;
    };
    expect(catalog.teams.map((t) => t.name)).toEqual(h.project.teams);
    const post = catalog.models.find((m) => m.id === 'social.post_performance')!;
    expect(post.fieldName).toBe('postPerformance');
    expect(post.measures).toContainEqual({ name: 'engagement_rate', fieldName: 'engagementRate', type: 'ratio', format: 'percent' });
    expect(post.joins).toEqual([{ name: 'accounts', model: 'social.accounts', relationship: 'many_to_one' }]);
    const [{ v }] = await h.raw.query('select max(_loaded_at) as v from social.post_daily');
    expect(post.lastLoadedAt).toBe(new Date(`${String(v).replace(' ', 'T').replace(/Z?$/, 'Z')}`).toISOString());
  });

  it('reads freshness once, and again after a load invalidates the table', async () => {
    const q = `{ catalog { models { id lastLoadedAt } } }`;
    const maxOf = () => h.statements.filter((s) => /max\("_loaded_at"\)/.test(s) && s.includes('"post_daily"')).length;
    await gql(h.app, q);
    const before = maxOf();
    const again = await gql(h.app, q);
    expect(again.body.errors).toBeUndefined();
    expect(maxOf()).toBe(before);
    h.serving.invalidateTables(['social.post_daily']);
    await gql(h.app, q);
    expect(maxOf()).toBe(before + 1);
  });

  it('shows a social reader only social: no email types in introspection, email forbidden by name', async () => {
    const res = await gql(h.app, `{ __schema { types { name } queryType { fields { name } } } }`, undefined, asSocial);
    expect(res.body.errors).toBeUndefined();
    const schema = res.body.data!.__schema as { types: Array<{ name: string }>; queryType: { fields: Array<{ name: string }> } };
    const names = schema.types.map((t) => t.name);
    expect(names).toContain('SocialPostPerformanceRow');
    expect(names.filter((n) => /^(Email|Web|Listening)/.test(n))).toEqual([]);
    expect(schema.queryType.fields.map((f) => f.name)).toContain('social');
    expect(schema.queryType.fields.map((f) => f.name)).not.toContain('email');

    const typed = await gql(h.app, `{ email { campaigns { sends } } }`, undefined, asSocial);
    expect(typed.status).toBe(400);
    // Not graphql-js's "Did you mean …?": the key is told it may not read that team.
    expect(typed.body.errors?.[0]).toMatchObject({ message: 'this API key cannot read team email', extensions: { code: 'FORBIDDEN' } });

    const generic = await gql(h.app, `{ metrics(query: { model: "email.campaigns", measures: ["sends"] }) { rows } }`, undefined, asSocial);
    expect(generic.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(generic.body.errors?.[0].message).toMatch(/^this API key cannot read team email; it reads: social$/);
    // A model of a team the key reads that does not exist is unknown, and the hint lists only what it may read.
    const unknown = await gql(h.app, `{ metrics(query: { model: "social.nope", measures: ["x"] }) { rows } }`, undefined, asSocial);
    expect(unknown.body.errors?.[0].extensions?.code).toBe('UNKNOWN_MODEL');
    expect(unknown.body.errors?.[0].message).not.toMatch(/email\.|list_growth|manual_campaigns/);

    const catalog = await gql(h.app, `{ catalog { teams { name } models { id } } }`, undefined, asSocial);
    const c = catalog.body.data!.catalog as { teams: Array<{ name: string }>; models: Array<{ id: string }> };
    expect(c.teams.map((t) => t.name)).toEqual(['social']);
    expect(c.models.every((m) => m.id.startsWith('social.'))).toBe(true);

    // The email reader gets its own schema, built separately.
    const email = await gql(h.app, `{ email { campaigns(limit: 1) { sends } } }`, undefined, { 'x-test-principal': 'email' });
    expect(email.body.errors).toBeUndefined();
  });

  it('answers 401 with a Basic challenge when authentication fails', async () => {
    const res = await gql(h.app, `{ catalog { models { id } } }`, undefined, { 'x-test-principal': 'nobody' });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('challenges BI tools and curl with Basic, but not a page script, so browsers show our key field instead of their sign-in box', async () => {
    const ask = (headers: Record<string, string>) =>
      h.app.inject({ method: 'POST', url: '/graphql', headers: { 'content-type': 'application/json', 'x-test-principal': 'nobody', ...headers }, payload: '{"query":"{ catalog { teams { name } } }"}' });
    const tool = await ask({ 'user-agent': 'Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)' });
    expect(tool.statusCode).toBe(401);
    expect(tool.headers['www-authenticate']).toBe('Basic realm="sextant", charset="UTF-8"');
    const page = await ask({ 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'same-origin', 'sec-fetch-site': 'same-origin' });
    expect(page.statusCode).toBe(401);
    expect(page.headers['www-authenticate']).toBeUndefined();
    // The pages themselves load without a key, and ask for it.
    const html = await h.app.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html', 'x-test-principal': 'nobody' } });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('This service needs an API key: paste it in the field above.');
  });
});

describe('unexpected errors', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('duckdb', {
      empty: true,
      plan: () => {
        throw new Error('planner exploded with secret detail');
      },
    });
  });
  afterAll(async () => h?.close());

  it('are masked to INTERNAL_SERVER_ERROR with an errorId that the log holds in full', async () => {
    const res = await gql(h.app, `{ social { postPerformance { impressions } } }`);
    const error = res.body.errors?.[0];
    expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res.body)).not.toMatch(/secret detail|stacktrace/);
    const errorId = error?.extensions?.errorId;
    expect(typeof errorId).toBe('string');
    const logged = h.errors.find((e) => e.fields?.errorId === errorId);
    expect(String((logged?.fields?.err as Error).message)).toMatch(/secret detail/);
  });
});
