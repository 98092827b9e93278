/**
 * Every fake `npm run fakes` starts, and what the example project's sources need to use it: the base
 * URL override and the credentials, as environment variables. Each helper that adds a fake adds one
 * entry here.
 */
import { startCrimsonHexagonFake } from './crimson-hexagon/crimson-hexagon-fake.js';
import type { FakeServer } from './fake-server.js';
import { startGa4Fake } from './ga4/ga4-fake.js';
import { startMailchimpFake } from './mailchimp/mailchimp-fake.js';
import { startUnmetricFake } from './unmetric/unmetric-fake.js';
import { startFacebookFake } from './facebook/facebook-fake.js';
import { startInstagramFake } from './instagram/instagram-fake.js';
import { startXFake } from './x/x-fake.js';
import { startRestFake } from './rest/rest-fake.js';

/** A started fake and the environment that points the example project's source at it. */
export interface StartedFake {
  server: FakeServer;
  /** The URL a source's `base_url` takes (the API's root, version included). */
  baseUrl: string;
  /** Variables to export: the base URL override of the example source and its credentials. */
  env: Record<string, string>;
}

/** One fake of `npm run fakes`. */
export interface FakeEntry {
  name: string;
  /** The example project's source that reads this API (examples/agency/sources/<source>.yml). */
  source: string;
  start(port?: number): Promise<StartedFake>;
}

/** The environment variable that replaces a source's base_url at run time. */
export function baseUrlVariable(source: string): string {
  return `SEXTANT_SOURCE_${source.toUpperCase()}_BASE_URL`;
}

export const FAKES: readonly FakeEntry[] = [
  {
    name: 'ga4',
    source: 'web_ga4',
    async start(port) {
      const f = await startGa4Fake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('web_ga4')]: f.baseUrl, GA4_ACCESS_TOKEN: f.token } };
    },
  },
  {
    name: 'mailchimp',
    source: 'email_mailchimp',
    async start(port) {
      const f = await startMailchimpFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('email_mailchimp')]: f.baseUrl, MAILCHIMP_API_KEY: f.apiKey } };
    },
  },
  {
    name: 'crimson_hexagon',
    source: 'listening_crimson_hexagon',
    async start(port) {
      const f = await startCrimsonHexagonFake({ port });
      return {
        server: f,
        baseUrl: f.baseUrl,
        env: { [baseUrlVariable('listening_crimson_hexagon')]: f.baseUrl, CRIMSON_HEXAGON_USERNAME: f.username, CRIMSON_HEXAGON_PASSWORD: f.password },
      };
    },
  },
  {
    name: 'unmetric',
    source: 'listening_unmetric',
    async start(port) {
      const f = await startUnmetricFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('listening_unmetric')]: f.baseUrl, UNMETRIC_API_KEY: f.apiKey } };
    },
  },
  {
    name: 'facebook',
    source: 'social_facebook',
    async start(port) {
      const f = await startFacebookFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('social_facebook')]: f.baseUrl, FACEBOOK_PAGE_TOKEN: f.token } };
    },
  },
  {
    name: 'instagram',
    source: 'social_instagram',
    async start(port) {
      const f = await startInstagramFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('social_instagram')]: f.baseUrl, INSTAGRAM_ACCESS_TOKEN: f.token } };
    },
  },
  {
    name: 'x',
    source: 'social_x',
    async start(port) {
      const f = await startXFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('social_x')]: f.baseUrl, X_BEARER_TOKEN: f.token } };
    },
  },
  {
    name: 'rest',
    source: 'web_microsites',
    async start(port) {
      const f = await startRestFake({ port });
      return { server: f, baseUrl: f.baseUrl, env: { [baseUrlVariable('web_microsites')]: f.baseUrl, MICROSITES_API_TOKEN: f.token } };
    },
  },
];
