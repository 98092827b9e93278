/**
 * docs/http.md end to end over real HTTP: how keys are sent, what 401/403/429 look like, the keyless
 * loopback mode, and team scoping at every face — a `social` reader key finds nothing of `email`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

let svc: SecurityServer;
const keys = { admin: '', socialReader: '', socialIngest: '', emailIngest: '' };
let emailJobId = '';
let socialJobId = '';

beforeAll(async () => {
  svc = await startSecurityServer({ dialect: 'duckdb' });
  keys.admin = (await svc.app.keys.create({ role: 'admin', name: 'ops' })).key;
  keys.socialReader = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
  keys.socialIngest = (await svc.app.keys.create({ role: 'ingest', teams: ['social'] })).key;
  keys.emailIngest = (await svc.app.keys.create({ role: 'ingest', teams: ['email'] })).key;
  emailJobId = (await svc.app.jobStore.create({ type: 'INGEST_FILE', team: 'email', target: 'email_manual_campaigns' })).id;
  socialJobId = (await svc.app.jobStore.create({ type: 'INGEST_FILE', team: 'social', target: 'social_manual_posts' })).id;
});
afterAll(async () => {
  await svc?.close();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('sending a key', () => {
  const query = JSON.stringify({ query: '{ catalog { teams { name } } }' });
  const post = (path: string, headers: Record<string, string> = {}) =>
    svc.http(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: query });

  it('accepts it as a Bearer token, as the Basic password and as ?api_key=', async () => {
    for (const res of [
      await post('/graphql', { authorization: `Bearer ${keys.socialReader}` }),
      await post('/graphql', { authorization: basic('powerbi', keys.socialReader) }),
      await post(`/graphql?api_key=${encodeURIComponent(keys.socialReader)}`),
    ]) {
      expect(res.status).toBe(200);
      expect(res.body.data.catalog.teams).toEqual([{ name: 'social' }]);
    }
  });

  it('answers 401 UNAUTHENTICATED with a Basic challenge without a key, or with a bad one', async () => {
    const variants: Array<Record<string, string>> = [{}, { authorization: 'Bearer sx_000000000000_' + 'A'.repeat(43) }, { authorization: basic('u', 'guess') }];
    for (const headers of variants) {
      const res = await post('/graphql', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="sextant"/);
      expect(res.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.body.data).toBeUndefined();
    }
    expect((await svc.http('/health/live')).status).toBe(200);
  });

  it('stops a revoked key at once', async () => {
    const { id, key } = await svc.app.keys.create({ role: 'reader', teams: ['web'] });
    expect((await svc.gql('{ catalog { teams { name } } }', { key })).status).toBe(200);
    await svc.app.keys.revoke(id);
    const res = await svc.gql('{ catalog { teams { name } } }', { key });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].message).toMatch(/revoked/);
  });
});

describe('operational endpoints', () => {
  it('serves Prometheus metrics, which name every team\'s models, only to an admin key', async () => {
    expect((await svc.http('/metrics')).status).toBe(401);
    const reader = await svc.http('/metrics', { headers: { authorization: `Bearer ${keys.socialReader}` } });
    expect(reader.status).toBe(403);
    expect(reader.body.error?.code).toBe('FORBIDDEN');
    const admin = await svc.http('/metrics', { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(admin.status).toBe(200);
    expect(admin.text).toMatch(/^# (HELP|TYPE) /m);
  });

  it('leaves liveness and readiness open for orchestrators', async () => {
    expect((await svc.http('/health/live')).status).toBe(200);
    expect((await svc.http('/health/ready')).status).toBe(200);
  });
});

describe('keyless mode', () => {
  it('serves loopback without a key while no key exists, and nobody else', async () => {
    const fresh = await startSecurityServer({ dialect: 'duckdb', demoRows: 500 });
    try {
      const asked = (remoteAddress: string) =>
        fresh.server.inject({ method: 'POST', url: '/graphql', remoteAddress, headers: { 'content-type': 'application/json' }, payload: { query: '{ catalog { teams { name } } }' } });
      const local = await asked('127.0.0.1');
      expect(local.statusCode).toBe(200);
      expect(local.json().data.catalog.teams.map((t: { name: string }) => t.name).sort()).toEqual(['email', 'listening', 'social', 'web']);
      // A page rebound to 127.0.0.1 (DNS rebinding) or a local reverse proxy relaying someone else.
      const rebound = await fresh.server.inject({ method: 'POST', url: '/graphql', remoteAddress: '127.0.0.1', headers: { host: 'evil.example:4000', 'content-type': 'application/json' }, payload: { query: '{ __typename }' } });
      expect(rebound.statusCode).toBe(401);
      const proxied = await fresh.server.inject({ method: 'POST', url: '/graphql', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7', 'content-type': 'application/json' }, payload: { query: '{ __typename }' } });
      expect(proxied.statusCode).toBe(401);
      const remote = await asked('10.1.2.3');
      expect(remote.statusCode).toBe(401);
      expect(remote.json().errors[0].message).toMatch(/no API key exists yet.*loopback/);
      // Creating the first key ends keyless mode for everyone.
      await fresh.app.keys.create({ role: 'admin' });
      expect((await asked('127.0.0.1')).statusCode).toBe(401);
    } finally {
      await fresh.close();
    }
  });
});

describe('roles', () => {
  it('lets a reader read but not ingest (FORBIDDEN), and an ingest key ingest its own team', async () => {
    const q = 'mutation { createUpload(target: "social_manual_posts", filename: "posts.csv") { id uploadUrl } }';
    const reader = await svc.gql(q, { key: keys.socialReader });
    expect(reader.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(reader.body.data).toBeNull();
    const ingest = await svc.gql(q, { key: keys.socialIngest });
    expect(ingest.body.errors).toBeUndefined();
    expect(ingest.body.data.createUpload.uploadUrl).toMatch(/\/uploads\//);
  });

  it('lets only the team of a job (with ingest) or an admin cancel it', async () => {
    const cancel = (key: string) => svc.gql(`mutation { cancelJob(id: "${emailJobId}") { id status } }`, { key });
    expect((await cancel(keys.socialIngest)).body.errors?.[0].extensions?.code).toMatch(/^(UNKNOWN_JOB|FORBIDDEN)$/);
    expect((await cancel(keys.socialReader)).body.errors?.[0].extensions?.code).toMatch(/^(UNKNOWN_JOB|FORBIDDEN)$/);
    expect((await svc.app.jobStore.get(emailJobId))?.status).toBe('QUEUED');
  });
});

describe('team scoping: a social reader key sees nothing of email', () => {
  const asReader = (query: string, variables?: Record<string, unknown>) => svc.gql(query, { key: keys.socialReader, ...(variables ? { variables } : {}) });

  it('in introspection: no email field, type or enum value', async () => {
    const res = await asReader('{ __schema { types { name fields { name } } queryType { fields { name } } } }');
    expect(res.body.errors).toBeUndefined();
    const text = JSON.stringify(res.body.data).toLowerCase();
    expect(res.body.data.__schema.queryType.fields.map((f: { name: string }) => f.name)).toContain('social');
    expect(text).not.toContain('email');
    expect(text).not.toContain('campaign');
    expect((await asReader('{ __type(name: "EmailCampaignsRow") { name } }')).body.data.__type).toBeNull();
  });

  it('in the catalog', async () => {
    const res = await asReader('{ catalog { teams { name } models { id team } } }');
    expect(res.body.data.catalog.teams).toEqual([{ name: 'social' }]);
    expect(res.body.data.catalog.models.every((m: { team: string }) => m.team === 'social')).toBe(true);
  });

  it('in the generic metrics query', async () => {
    const res = await asReader('query($q: SemanticQueryInput!) { metrics(query: $q) { rows } }', {
      q: { model: 'email.campaigns', measures: ['sends'] },
    });
    // Forbidden by team name: the message names no model of another team.
    expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(res.body.errors?.[0].message).toBe('this API key cannot read team email; it reads: social');
    expect(res.body.data).toBeNull();
  });

  it('in the typed fields', async () => {
    const res = await asReader('{ email { campaigns { sends } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ message: 'this API key cannot read team email', extensions: { code: 'FORBIDDEN' } });
    expect(res.body.errors?.[0].message).not.toMatch(/Did you mean/);
  });

  it('in jobs and job', async () => {
    const list = await asReader('{ jobs(limit: 100) { id team: target } }');
    const ids = list.body.data.jobs.map((j: { id: string }) => j.id);
    expect(ids).toContain(socialJobId);
    expect(ids).not.toContain(emailJobId);
    expect((await asReader(`{ job(id: "${emailJobId}") { id } }`)).body.data.job).toBeNull();
    expect((await asReader(`{ job(id: "${socialJobId}") { id } }`)).body.data.job.id).toBe(socialJobId);
    expect((await asReader('{ targets { name } }')).body.data.targets.every((t: { name: string }) => t.name.startsWith('social_'))).toBe(true);
  });

  it('in uploads and object-store ingestion', async () => {
    for (const key of [keys.socialReader, keys.socialIngest]) {
      const upload = await svc.gql('mutation { createUpload(target: "email_manual_campaigns", filename: "c.csv") { id uploadUrl } }', { key });
      expect(upload.body.errors?.[0].extensions?.code).toMatch(/^(FORBIDDEN|UNKNOWN_TARGET)$/);
      expect(upload.body.data).toBeNull();
      const ingest = await svc.gql('mutation { ingestObject(target: "email_manual_campaigns", key: "inbox/email_manual_campaigns/c.csv") { id } }', { key });
      expect(ingest.body.errors?.[0].extensions?.code).toMatch(/^(FORBIDDEN|UNKNOWN_TARGET)$/);
    }
    // An email upload ticket completed by a social ingest key: the upload is not found for it.
    const ticket = await svc.gql('mutation { createUpload(target: "email_manual_campaigns", filename: "c.csv") { id } }', { key: keys.emailIngest });
    const uploadId = ticket.body.data.createUpload.id as string;
    const complete = await svc.gql(`mutation { completeUpload(id: "${uploadId}") { id } }`, { key: keys.socialIngest });
    expect(complete.body.errors?.[0].extensions?.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
  });

  it('in exports, retries and cancels', async () => {
    const exported = await svc.gql('mutation { exportQuery(query: { model: "email.campaigns", measures: ["sends"] }, format: CSV) { id } }', { key: keys.socialIngest });
    expect(exported.body.errors?.[0].extensions?.code).toMatch(/^(UNKNOWN_MODEL|FORBIDDEN)$/);
    for (const op of ['retryJob', 'cancelJob']) {
      const res = await svc.gql(`mutation { ${op}(id: "${emailJobId}") { id } }`, { key: keys.socialIngest });
      expect(res.body.errors?.[0].extensions?.code).toMatch(/^(UNKNOWN_JOB|FORBIDDEN)$/);
    }
    expect((await svc.app.jobStore.get(emailJobId))?.status).toBe('QUEUED');
  });

  it('in signed upload URLs: a URL whose id or signature was changed is refused', async () => {
    const ticket = await svc.gql('mutation { createUpload(target: "social_manual_posts", filename: "p.csv") { id uploadUrl } }', { key: keys.socialIngest });
    const url = new URL(ticket.body.data.createUpload.uploadUrl as string);
    const other = await svc.gql('mutation { createUpload(target: "email_manual_campaigns", filename: "c.csv") { id uploadUrl } }', { key: keys.emailIngest });
    const emailId = other.body.data.createUpload.id as string;
    // Re-point the social URL (and its signature) at the email upload.
    const forged = `${svc.base}/uploads/${emailId}${url.search}`;
    const res = await fetch(forged, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    expect(res.status).toBe(403);
    const tampered = new URL(url);
    tampered.searchParams.set('sig', 'A'.repeat(43));
    expect((await fetch(`${svc.base}${tampered.pathname}${tampered.search}`, { method: 'PUT', body: 'x' })).status).toBe(403);
  });

  it('while an admin key sees every team', async () => {
    const res = await svc.gql('{ catalog { teams { name } } }', { key: keys.admin });
    expect(res.body.data.catalog.teams.map((t: { name: string }) => t.name).sort()).toEqual(['email', 'listening', 'social', 'web']);
    const job = await svc.gql(`{ job(id: "${emailJobId}") { id } }`, { key: keys.admin });
    expect(job.body.data.job.id).toBe(emailJobId);
  });
});
