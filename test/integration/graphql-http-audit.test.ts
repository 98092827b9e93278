/**
 * GraphQL-over-HTTP compliance: graphql-http's own server audits (the suite its CI runs against Apollo,
 * Yoga and Mercurius) against the real service on a loopback port — keyless, and with an API key the
 * way a BI tool sends it. Every MUST audit passes; SHOULD/MAY results are allowed to be warnings.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecurityServer, type SecurityServer } from './security-harness.js';

let svc: SecurityServer;
let readerKey: string;

beforeAll(async () => {
  svc = await startSecurityServer({ dialect: 'duckdb' });
});
afterAll(async () => {
  await svc?.close();
});

function describeFailure(result: AuditResult): string {
  return result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason}`;
}

describe('graphql-http server audits, keyless on loopback', () => {
  // The audits are listed before the server starts; the URL is read when each audit runs.
  for (const audit of serverAudits({ url: () => `${svc.base}/graphql` })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST')) expect(describeFailure(result)).toBe('ok');
      else expect(result.status).not.toBe('error');
    });
  }
});

describe('graphql-http server audits, with an API key', () => {
  const withKey: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${readerKey}`);
    return fetch(input, { ...init, headers });
  };
  beforeAll(async () => {
    readerKey = (await svc.app.keys.create({ role: 'reader', teams: ['social'] })).key;
  });

  for (const audit of serverAudits({ url: () => `${svc.base}/graphql`, fetchFn: withKey })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST')) expect(describeFailure(result)).toBe('ok');
      else expect(result.status).not.toBe('error');
    });
  }

  it('refuses the same requests without the key once one exists', async () => {
    const res = await svc.gql('{ __typename }');
    expect(res.status).toBe(401);
  });
});
