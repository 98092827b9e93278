/**
 * The OData feed as `sextant serve` assembles it (the composition root registers it), over real HTTP:
 * the three credential forms, the Basic challenge, and a social key finding nothing of another team.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

let svc: SecurityServer;
const keys = { socialReader: '', admin: '' };
beforeAll(async () => {
  svc = await startSecurityServer({ dialect: 'duckdb', env: { SEXTANT_CORS_ORIGINS: 'https://addin.example.com' } });
  keys.socialReader = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
  keys.admin = (await svc.app.keys.create({ role: 'admin', name: 'ops' })).key;
}, 180_000);
afterAll(async () => {
  await svc?.close();
});

const basic = (key: string) => `Basic ${Buffer.from(`tableau:${key}`).toString('base64')}`;
function forms(key: string, path: string): Array<[string, string, Record<string, string>]> {
  return [
    ['Bearer', path, { authorization: `Bearer ${key}` }],
    ['Basic', path, { authorization: basic(key) }],
    ['api_key', `${path}${path.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}`, {}],
  ];
}

describe('the OData feed in the assembled service', () => {
  it('challenges for Basic credentials', async () => {
    const res = await svc.http('/odata/social/PostPerformance');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(res.headers.get('odata-version')).toBe('4.0');
  });

  it('serves its own team by every credential form, with absolute links to itself', async () => {
    for (const [form, path, headers] of forms(keys.socialReader, '/odata/social/PostPerformance?$select=platform,impressions')) {
      const res = await svc.http(path, { headers: { ...headers, prefer: 'odata.maxpagesize=1' } });
      expect(res.status, form).toBe(200);
      expect(res.body['@odata.context']).toBe(`${svc.base}/odata/social/$metadata#PostPerformance(platform,impressions)`);
      const next = res.body['@odata.nextLink'] as string;
      expect(next.startsWith(`${svc.base}/odata/social/PostPerformance?`)).toBe(true);
      expect(next).not.toContain('api_key');
      // The link works with the credential alone (Power Query re-sends it, never the query string's key).
      const page2 = await svc.http(next.slice(svc.base.length), { headers: { authorization: `Bearer ${keys.socialReader}` } });
      expect(page2.status).toBe(200);
      expect(page2.body.value).toHaveLength(1);
    }
  });

  it('gives a social key nothing of another team, at any URL, by any form', async () => {
    for (const path of ['/odata/email/', '/odata/email/$metadata', '/odata/email/Campaigns', '/odata/email/Campaigns/$count', '/odata/email/Campaigns.odc', '/odata/web/connect.pbids']) {
      for (const [form, url, headers] of forms(keys.socialReader, path)) {
        const res = await svc.http(url, { headers });
        expect(res.status, `${form} ${path}`).toBe(403);
        expect(res.body.error?.code).toBe('FORBIDDEN');
        expect(res.text).not.toMatch(/"value"|EntityType|OData.Feed/);
      }
    }
    const admin = await svc.http('/odata/email/Campaigns/$count', { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(admin.status).toBe(200);
    expect(Number(admin.text)).toBeGreaterThan(0);
  });

  it('allows the configured browser origin', async () => {
    const res = await svc.http('/odata/social/', { method: 'OPTIONS', headers: { origin: 'https://addin.example.com', 'access-control-request-method': 'GET' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://addin.example.com');
  });
});
