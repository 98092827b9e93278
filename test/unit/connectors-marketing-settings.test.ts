/**
 * The settings of google_analytics, mailchimp, crimson_hexagon and unmetric are checked when the
 * project loads: every problem at once, each with its file, path and line.
 */
import { describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { loadSources, parseSource } from '../../src/ingest/connectors/source-file.js';
import { loadTargets } from '../../src/ingest/targets.js';

const { targets } = await loadTargets(new URL('../../examples/agency', import.meta.url).pathname);

function problemsOf(name: string, yaml: string) {
  const problems = new ProblemCollector();
  const source = parseSource(name, `sources/${name}.yml`, yaml, CONNECTOR_TYPES, targets, problems);
  return { source, problems: problems.problems.map((p) => `${p.path ?? ''} (line ${p.line ?? '?'}): ${p.message}`) };
}

describe('settings of the marketing API types', () => {
  it('google_analytics: property ids must be numeric, sites must name listed properties, page_size within GA4’s 250,000', () => {
    const { source, problems } = problemsOf(
      'ga',
      `type: google_analytics
credentials:
  access_token: \${T}
settings:
  property_ids: ["312456780", "properties/42"]
  sites: { "999": example.com }
  page_size: 300000
  dimensions: [date]
streams: { traffic: web_ga4_daily }
`,
    );
    expect(source).toBeUndefined();
    expect(problems).toEqual([
      'settings.dimensions (line 8): unknown setting "dimensions"; expected property_ids, sites, page_size',
      'settings.property_ids.1 (line 5): expected a numeric GA4 property id (Admin → Property settings), got "properties/42"',
      'settings.sites.999 (line 6): property 999 is not in property_ids',
      'settings.page_size (line 7): expected a whole number of rows from 1 to 250000, got 300000',
    ]);
  });

  it('mailchimp: audience ids and the data centre are checked; a key is read at run time', () => {
    const { problems } = problemsOf(
      'mc',
      `type: mailchimp
credentials:
  api_key: \${K}
settings: { list_ids: [ab6c0d6df6, "not-a-list"], dc: "US-20", page_size: 0 }
streams: { campaign_activity: email_campaign_daily, list_activity: email_list_daily }
`,
    );
    expect(problems).toEqual([
      'settings.list_ids.1 (line 4): expected a Mailchimp audience id (10 hexadecimal characters), got "not-a-list"',
      'settings.dc (line 4): expected a Mailchimp data centre such as us20, got "US-20"',
      'settings.page_size (line 4): expected a whole number from 1 to 1000, got 0',
    ]);
  });

  it('crimson_hexagon needs monitor ids and both credentials; unmetric knows its channels', () => {
    expect(problemsOf('ch', `type: crimson_hexagon\ncredentials:\n  username: \${U}\nsettings: { monitor_ids: [] }\nstreams: { results: listening_mentions_daily }\n`).problems).toEqual([
      'credentials (line 2): type crimson_hexagon needs the credential "password" (as ${ENV_VAR})',
      'settings.monitor_ids (line 4): expected a list of monitor ids, e.g. [9846117000]',
    ]);
    expect(problemsOf('um', `type: unmetric\ncredentials:\n  api_key: \${K}\nsettings: { channels: [fb, linkedin] }\nstreams: { brand_daily: listening_brand_daily, posts: listening_brand_daily }\n`).problems).toEqual([
      'settings.channels (line 4): expected a list of channels out of fb, ig, tw',
    ]);
  });

  it('the example project’s four sources load without a problem', async () => {
    const { sources, problems } = await loadSources(new URL('../../examples/agency', import.meta.url).pathname, CONNECTOR_TYPES, targets);
    expect(problems).toEqual([]);
    expect(['web_ga4', 'email_mailchimp', 'listening_crimson_hexagon', 'listening_unmetric'].map((n) => sources.get(n)?.type)).toEqual(['google_analytics', 'mailchimp', 'crimson_hexagon', 'unmetric']);
  });
});
