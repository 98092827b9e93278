import { describe, expect, it } from 'vitest';
import { assertListenAllowed, createAuthenticator, extractKey, isLoopbackAddress, isLoopbackHost, redactApiKey, type KeyVerifier } from '../../src/auth/authenticate.js';
import { LOOPBACK_PRINCIPAL, type Principal } from '../../src/auth/principal.js';
import { UserError } from '../../src/errors.js';

const GOOD = 'sx_0123456789ab_' + 'A'.repeat(43);
const READER: Principal = { keyId: '0123456789ab', role: 'reader', teams: ['social'] };

/** A verifier that knows one key: the authenticator's logic is what is under test here (the KeyStore has its own tests). */
const verifier: KeyVerifier = { verify: async (key) => (key === GOOD ? READER : undefined) };

function auth(keyless: boolean) {
  return createAuthenticator({ keys: verifier, allowKeyless: async () => keyless });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return err instanceof UserError ? err.code : `not a UserError: ${String(err)}`;
  }
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('authenticator', () => {
  it('accepts the key as a Bearer token, a Basic password (any user name) and ?api_key=', async () => {
    const a = auth(false);
    expect(await a({ headers: { authorization: `Bearer ${GOOD}` } })).toBe(READER);
    expect(await a({ headers: { authorization: `bearer   ${GOOD}` } })).toBe(READER);
    expect(await a({ headers: { authorization: basic('tableau', GOOD) } })).toBe(READER);
    expect(await a({ headers: { authorization: basic('', GOOD) } })).toBe(READER);
    expect(await a({ headers: { authorization: basic(GOOD, '') } })).toBe(READER);
    expect(await a({ headers: {}, query: { api_key: GOOD } })).toBe(READER);
  });

  it('refuses a request without a key once keys exist, even from loopback', async () => {
    expect(await codeOf(auth(false)({ headers: {}, ip: '127.0.0.1' }))).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong, malformed or unknown key, also in keyless mode', async () => {
    for (const keyless of [false, true]) {
      const a = auth(keyless);
      expect(await codeOf(a({ headers: { authorization: 'Bearer sx_nope' }, ip: '127.0.0.1' }))).toBe('UNAUTHENTICATED');
      expect(await codeOf(a({ headers: { authorization: basic('u', 'wrong') }, ip: '127.0.0.1' }))).toBe('UNAUTHENTICATED');
      expect(await codeOf(a({ headers: {}, query: { api_key: 'wrong' }, ip: '127.0.0.1' }))).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses an unsupported scheme and empty credentials with a message that says how to send a key', async () => {
    const a = auth(false);
    await expect(a({ headers: { authorization: 'Digest abc' } })).rejects.toThrow(/unsupported Authorization scheme "digest".*Bearer/);
    await expect(a({ headers: { authorization: 'Bearer' } })).rejects.toThrow(/no key after "Bearer"/);
    await expect(a({ headers: { authorization: basic('user', '') } })).rejects.toThrow(/password field/);
    await expect(a({ headers: {}, query: { api_key: '' } })).rejects.toThrow(/api_key parameter is empty/);
  });

  it('serves keyless loopback clients as the loopback principal while no key exists', async () => {
    const a = auth(true);
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(await a({ headers: {}, ip })).toBe(LOOPBACK_PRINCIPAL);
    }
  });

  it('refuses keyless requests relayed by a local proxy, or naming another host (DNS rebinding)', async () => {
    const a = auth(true);
    await expect(a({ headers: { 'x-forwarded-for': '203.0.113.9' }, ip: '127.0.0.1' })).rejects.toThrow(/through a proxy \(x-forwarded-for header\)/);
    await expect(a({ headers: { forwarded: 'for=203.0.113.9' }, ip: '127.0.0.1' })).rejects.toThrow(/through a proxy \(forwarded header\)/);
    await expect(a({ headers: { 'x-real-ip': '203.0.113.9' }, ip: '::1' })).rejects.toThrow(/proxy/);
    await expect(a({ headers: { host: 'evil.example:4000' }, ip: '127.0.0.1' })).rejects.toThrow(/names the host "evil.example:4000"/);
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'localhost', '127.0.0.2']) {
      expect(await a({ headers: { host }, ip: '127.0.0.1' })).toBe(LOOPBACK_PRINCIPAL);
    }
  });

  it('refuses keyless clients that are not on loopback, and saying why', async () => {
    const a = auth(true);
    for (const ip of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1', undefined]) {
      await expect(a({ headers: {}, ip })).rejects.toThrow(/no API key exists yet.*loopback/);
    }
  });

  it('takes the header before the query parameter, and the first of repeated values', () => {
    expect(extractKey({ headers: { authorization: `Bearer ${GOOD}` }, query: { api_key: 'other' } })).toBe(GOOD);
    expect(extractKey({ headers: { authorization: [`Bearer ${GOOD}`, 'Bearer x'] } })).toBe(GOOD);
    expect(extractKey({ headers: {}, query: { api_key: [GOOD, 'x'] } })).toBe(GOOD);
    expect(extractKey({ headers: {} })).toBeUndefined();
  });
});

describe('loopback checks', () => {
  it('recognise loopback addresses and hosts', () => {
    expect(['127.0.0.1', '127.255.0.1', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '::', '10.1.1.1', '::ffff:10.0.0.1', '', undefined].some(isLoopbackAddress)).toBe(false);
    expect(['localhost', '127.0.0.1', '[::1]', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', 'example.com'].some(isLoopbackHost)).toBe(false);
  });

  it('refuse to listen beyond loopback while no key exists, saying why and what to do', () => {
    expect(() => assertListenAllowed('127.0.0.1', 0)).not.toThrow();
    expect(() => assertListenAllowed('0.0.0.0', 1)).not.toThrow();
    let error: unknown;
    try {
      assertListenAllowed('0.0.0.0', 0);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('CONFIG_INVALID');
    expect((error as UserError).message).toMatch(/no API key exists: Sextant only serves loopback until you create one with `sextant keys create/);
  });
});

describe('redactApiKey', () => {
  it('hides api_key values in URLs written to logs, wherever the parameter is', () => {
    expect(redactApiKey(`/odata/social/Posts?api_key=${GOOD}`)).toBe('/odata/social/Posts?api_key=REDACTED');
    expect(redactApiKey(`/graphql?query=x&API_KEY=${GOOD}&b=1#f`)).toBe('/graphql?query=x&API_KEY=REDACTED&b=1#f');
    expect(redactApiKey('/graphql?query=my_api_key=1')).toBe('/graphql?query=my_api_key=1');
  });
});
