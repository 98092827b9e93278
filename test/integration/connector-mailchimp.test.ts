/**
 * `mailchimp` against the Mailchimp fake, on DuckDB and PostgreSQL: a 120-day backfill of campaign
 * activity and audience days through count/offset paging with a 429, an HTML 503 and a cut-off body in
 * the middle leaves exactly the fake's rows; a re-pull after counters grew replaces them; a key that is
 * wrong (or of another data centre) fails at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMAIL_LISTS } from '../../src/demo/catalog.js';
import { startMailchimpFake, type MailchimpFake } from '../fakes/mailchimp/mailchimp-fake.js';
import { DIALECTS } from '../support/warehouses.js';
import { openHarness, type Harness } from './connector-harness.js';

const LISTS = EMAIL_LISTS.map((l) => l.listId);
const WINDOW = { from: '2026-08-03', to: '2026-11-30' }; // 120 days

function sourceYaml(fake: MailchimpFake, lists = true): string {
  return `
type: mailchimp
base_url: ${fake.baseUrl}
lookback_days: 14
credentials:
  api_key: \${MAILCHIMP_KEY}
settings:
${lists ? `  list_ids: [${LISTS.join(', ')}]\n` : ''}  page_size: 5
streams:
  campaign_activity: email_campaign_daily
  list_activity: email_list_daily
`;
}

describe.each(DIALECTS)('mailchimp on %s', (dialect) => {
  let h: Harness;
  let mc: MailchimpFake;
  beforeEach(async () => {
    h = await openHarness(dialect);
    mc = await startMailchimpFake();
  });
  afterEach(async () => {
    await mc.close();
    await h.close();
  });

  it('pulls 120 days through paging, a 429, an HTML 503 and a cut-off body: exactly the fake’s rows, every page stored raw', async () => {
    mc.inject({ kind: 'throttle', at: 2 });
    mc.inject({ kind: 'server_error', at: 4 });
    mc.inject({ kind: 'truncate', at: 6 });
    const { result } = await h.pull('email_mailchimp', sourceYaml(mc, false), WINDOW, { MAILCHIMP_KEY: mc.apiKey });

    const campaigns = await h.tableLines('email_campaign_daily');
    expect(campaigns).toEqual(h.expectedLines('email_campaign_daily', mc.expectedCampaignRows(WINDOW.from, WINDOW.to)));
    expect(campaigns.length).toBeGreaterThan(300);
    const lists = await h.tableLines('email_list_daily');
    expect(lists).toEqual(h.expectedLines('email_list_daily', mc.expectedListRows(LISTS, WINDOW.from, WINDOW.to)));
    expect(lists).toHaveLength(LISTS.length * 120);

    expect(mc.requests.map((r) => r.fault).filter(Boolean)).toEqual(['throttle', 'server_error', 'truncate']);
    expect(h.waits.map((w) => w.reason)).toEqual([
      expect.stringContaining('rate limited (HTTP 429: Too Many Requests'),
      expect.stringContaining('server error (HTTP 503: 503 Service Unavailable'),
      expect.stringContaining('the response body was cut off'),
    ]);
    // count/offset paging: several report pages per window, Basic auth with the key as password.
    expect(mc.requests.filter((r) => r.path === '/3.0/reports' && r.query.get('offset') !== '0').length).toBeGreaterThan(5);
    expect(mc.requests[0].headers.authorization).toBe(`Basic ${Buffer.from(`sextant:${mc.apiKey}`).toString('base64')}`);

    const keys = await h.rawKeys('email_mailchimp');
    expect(keys).toHaveLength(result.pages);
    expect(keys.some((k) => /\/campaign_activity\/page-\d+\.json$/.test(k))).toBe(true);
    expect(keys.some((k) => /\/list_activity\/page-\d+\.json$/.test(k))).toBe(true);
  });

  it('re-pulling recent campaigns after their counters grew leaves the new values and no duplicates', async () => {
    await h.pull('email_mailchimp', sourceYaml(mc), WINDOW, { MAILCHIMP_KEY: mc.apiKey });
    const before = await h.tableLines('email_campaign_daily');
    mc.restate({ from: '2026-11-10', to: '2026-11-30', factor: 1.4 });
    // Activity of 2026-11-10 on belongs to campaigns sent from 2026-10-28 on (each is tracked 14 days):
    // the re-pull covers their sends, as a 14-day lookback does.
    await h.pull('email_mailchimp', sourceYaml(mc), { from: '2026-10-27', to: '2026-11-30' }, { MAILCHIMP_KEY: mc.apiKey });

    const after = await h.tableLines('email_campaign_daily');
    expect(after).toEqual(h.expectedLines('email_campaign_daily', mc.expectedCampaignRows(WINDOW.from, WINDOW.to)));
    expect(after).toHaveLength(before.length);
    expect(after).not.toEqual(before);
    expect(await h.tableLines('email_list_daily')).toEqual(h.expectedLines('email_list_daily', mc.expectedListRows(LISTS, WINDOW.from, WINDOW.to)));
  });

  it('a wrong key fails at once, naming the source and the problem, never the key', async () => {
    const err = await h.pullError('email_mailchimp', sourceYaml(mc), WINDOW, { MAILCHIMP_KEY: '1234567890abcdef1234567890abcdef-us20' });
    expect(err.code).toBe('SOURCE_AUTH');
    expect(err.message).toContain('source "email_mailchimp", stream campaign_activity');
    expect(err.message).toContain("API Key Invalid: Your API key may be invalid, or you've attempted to access the wrong datacenter");
    expect(err.message).not.toContain('1234567890abcdef');
    expect(mc.requests).toHaveLength(1);
  });
});
