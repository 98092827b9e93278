/**
 * Every fake `npm run fakes` starts, and what the example project's sources need to use it: the base
 * URL override and the credentials, as environment variables. Each helper that adds a fake adds one
 * entry here.
 */
import { startCrimsonHexagonFake } from './crimson-hexagon/crimson-hexagon-fake.js';
import { startFacebookFake } from './facebook/facebook-fake.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { FakeServer } from './fake-server.js';
import { startGa4Fake } from './ga4/ga4-fake.js';
import { startInstagramFake } from './instagram/instagram-fake.js';
import { startMailchimpFake } from './mailchimp/mailchimp-fake.js';
import { startRestFake } from './rest/rest-fake.js';
import { startUnmetricFake } from './unmetric/unmetric-fake.js';
import { startXFake } from './x/x-fake.js';

/** A started fake and the credentials it accepts. */
export interface StartedFake {
  server: FakeServer;
  /** The URL a source's `base_url` takes (the API's root, version included). */
  baseUrl: string;
  /** Credential name (as under a source's `credentials:`) → the value the fake accepts. */
  credentials: Record<string, string>;
}

/** One fake of `npm run fakes`. */
export interface FakeEntry {
  name: string;
  /** The example project's source that reads this API (examples/agency/sources/<source>.yml), if any. */
  source?: string;
  start(port?: number): Promise<StartedFake>;
}

/** The environment variable that replaces a source's base_url at run time. */
export function baseUrlVariable(source: string): string {
  return `SEXTANT_SOURCE_${source.toUpperCase()}_BASE_URL`;
}

/**
 * An entry of {@link FAKES}: the fake `start` starts (on `port`, or a free one) and the credentials of
 * the example project's source that it accepts.
 */
function fakeEntry<F extends FakeServer & { baseUrl: string }>(
  name: string,
  source: string,
  start: (port?: number) => Promise<F>,
  credentials: (fake: F) => Record<string, string>,
): FakeEntry {
  return {
    name,
    source,
    async start(port) {
      const f = await start(port);
      return { server: f, baseUrl: f.baseUrl, credentials: credentials(f) };
    },
  };
}

export const FAKES: readonly FakeEntry[] = [
  fakeEntry('facebook', 'social_facebook', (port) => startFacebookFake({ port }), (f) => ({ access_token: f.token })),
  fakeEntry('instagram', 'social_instagram', (port) => startInstagramFake({ port }), (f) => ({ access_token: f.token })),
  fakeEntry('x', 'social_x', (port) => startXFake({ port }), (f) => ({ bearer_token: f.token })),
  fakeEntry('ga4', 'web_ga4', (port) => startGa4Fake({ port }), (f) => ({ access_token: f.token })),
  fakeEntry('mailchimp', 'email_mailchimp', (port) => startMailchimpFake({ port }), (f) => ({ api_key: f.apiKey })),
  fakeEntry('crimson_hexagon', 'listening_crimson_hexagon', (port) => startCrimsonHexagonFake({ port }), (f) => ({ username: f.username, password: f.password })),
  fakeEntry('unmetric', 'listening_unmetric', (port) => startUnmetricFake({ port }), (f) => ({ api_key: f.apiKey })),
  // A generic API for `rest` sources written in YAML alone: cursor-paged /v1/events, Link-paged
  // /v1/sessions (what the example project's web_microsites source reads).
  fakeEntry('rest', 'web_microsites', (port) => startRestFake({ port }), (f) => ({ token: f.token })),
];

/** The example project's folder. */
export const EXAMPLE_PROJECT = join(import.meta.dirname, '../../examples/agency');

/**
 * The environment that points the example project's source of `entry` at its started fake: the base
 * URL override, and each credential under the variable the source's YAML names (`access_token:
 * ${GA4_ACCESS_TOKEN}` → `GA4_ACCESS_TOKEN`). Undefined when the example project has no such source.
 */
export async function exampleEnvironment(entry: FakeEntry, fake: StartedFake): Promise<Record<string, string> | undefined> {
  if (!entry.source) return undefined;
  let text: string;
  try {
    text = await readFile(join(EXAMPLE_PROJECT, 'sources', `${entry.source}.yml`), 'utf8');
  } catch {
    return undefined;
  }
  const env: Record<string, string> = { [baseUrlVariable(entry.source)]: fake.baseUrl };
  const credentials = ((parse(text) as { credentials?: Record<string, unknown> } | null)?.credentials ?? {}) as Record<string, unknown>;
  for (const [name, ref] of Object.entries(credentials)) {
    const variable = typeof ref === 'string' ? /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(ref.trim())?.[1] : undefined;
    if (variable && fake.credentials[name] !== undefined) env[variable] = fake.credentials[name];
  }
  return env;
}
