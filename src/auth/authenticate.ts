/**
 * Turns a request into a {@link Principal} (docs/http.md). The key may come as `Authorization: Bearer`, as
 * the password of HTTP Basic (Tableau, Power BI, Excel), or as `?api_key=` (Power BI "Web API"). While
 * no key exists the service is keyless, and then only loopback clients are served.
 */
import { UserError } from '../errors.js';
import { LOOPBACK_PRINCIPAL, type Principal } from './principal.js';

/** What the authenticator reads of a request; fastify's request satisfies it. */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: unknown;
  /** The client's address as the socket sees it. */
  ip?: string;
}

/** Resolves a request to its principal, or throws UNAUTHENTICATED. */
export type Authenticator = (req: AuthRequest) => Promise<Principal>;

/** The part of the KeyStore the authenticator needs. */
export interface KeyVerifier {
  verify(key: string): Promise<Principal | undefined>;
}

/** The challenge the HTTP layer sends with a 401, so that BI tools prompt for Basic credentials. */
export const WWW_AUTHENTICATE = 'Basic realm="sextant", charset="UTF-8"';

const HOW_TO_SEND =
  'send it as `Authorization: Bearer <key>`, as the password of HTTP Basic, or as `?api_key=<key>`';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (`::ffff:127.x.y.z`). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.trim().toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** True when a listen host only accepts loopback connections (`localhost`, 127.x, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || isLoopbackAddress(h);
}

/**
 * Throws CONFIG_INVALID when the service would listen beyond loopback while no key exists: keyless
 * mode trusts whoever can connect, which is only safe for the machine itself.
 */
export function assertListenAllowed(host: string, activeKeys: number): void {
  if (activeKeys > 0 || isLoopbackHost(host)) return;
  throw new UserError(
    'CONFIG_INVALID',
    `HOST=${host} would expose Sextant beyond this machine, but no API key exists: Sextant only serves loopback until you create one with \`sextant keys create --role admin\` (or \`sextant keys create --team <team> --role reader\`), or set HOST=127.0.0.1`,
  );
}

function header(headers: AuthRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The key a request carries, if any; throws for a malformed Authorization header. */
export function extractKey(req: AuthRequest): string | undefined {
  const auth = header(req.headers, 'authorization')?.trim();
  if (auth) {
    const space = auth.indexOf(' ');
    const scheme = (space < 0 ? auth : auth.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : auth.slice(space + 1).trim();
    if (scheme === 'bearer') {
      if (!value) throw new UserError('UNAUTHENTICATED', `the Authorization header has no key after "Bearer": ${HOW_TO_SEND}`);
      return value;
    }
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      // The key is the password (any user name); some tools only have one field, so a key typed as the user name counts too.
      const key = password || (user.startsWith('sx_') ? user : '');
      if (!key) throw new UserError('UNAUTHENTICATED', 'HTTP Basic credentials carry no API key: put the key in the password field (any user name)');
      return key;
    }
    throw new UserError('UNAUTHENTICATED', `unsupported Authorization scheme "${scheme}": ${HOW_TO_SEND}`);
  }
  const query = req.query;
  if (query && typeof query === 'object' && 'api_key' in query) {
    const raw = (query as Record<string, unknown>).api_key;
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string' && value !== '') return value;
    throw new UserError('UNAUTHENTICATED', `the api_key parameter is empty: ${HOW_TO_SEND}`);
  }
  return undefined;
}

/** The name part of a Host header: `[::1]:4000` → `::1`, `localhost:4000` → `localhost`. */
function hostName(host: string): string {
  const h = host.trim();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  return h.split(':').length === 2 ? h.slice(0, h.indexOf(':')) : h;
}

const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

/**
 * Why a keyless request is not from this machine's own client, or undefined when it is. Besides the
 * socket address: a reverse proxy on the same machine connects from loopback on behalf of anyone (it
 * says so in Forwarded / X-Forwarded-For), and a web page whose DNS name was rebound to 127.0.0.1
 * reaches us from the user's own browser but with its own name in Host (DNS rebinding).
 */
function keylessRefusal(req: AuthRequest): string | undefined {
  if (!isLoopbackAddress(req.ip)) return `this request comes from ${req.ip ?? 'an unknown address'}`;
  const proxied = PROXY_HEADERS.find((h) => header(req.headers, h) !== undefined);
  if (proxied) return `this request came through a proxy (${proxied} header)`;
  const host = header(req.headers, 'host');
  if (host !== undefined && !isLoopbackHost(hostName(host))) return `this request names the host "${host}", not this machine`;
  return undefined;
}

/**
 * Builds the authenticator. `allowKeyless` answers whether no key exists (keyless mode); it is asked
 * only for requests that carry no key.
 */
export function createAuthenticator(deps: { keys: KeyVerifier; allowKeyless: () => Promise<boolean> }): Authenticator {
  return async (req) => {
    const key = extractKey(req);
    if (key !== undefined) {
      const principal = await deps.keys.verify(key);
      if (!principal) throw new UserError('UNAUTHENTICATED', 'the API key is not valid: it is malformed, unknown or revoked');
      return principal;
    }
    if (await deps.allowKeyless()) {
      const refusal = keylessRefusal(req);
      if (refusal === undefined) return LOOPBACK_PRINCIPAL;
      throw new UserError('UNAUTHENTICATED', `no API key exists yet, and without one Sextant serves only this machine's own (loopback) clients: ${refusal}; create a key with \`sextant keys create\` and send it`);
    }
    throw new UserError('UNAUTHENTICATED', `this request needs an API key: ${HOW_TO_SEND}`);
  };
}

/** The URL with the value of any `api_key` parameter hidden, for logs: a key must never be written out. */
export function redactApiKey(url: string): string {
  return url.replace(/([?&]api_key=)[^&#]*/gi, '$1REDACTED');
}
