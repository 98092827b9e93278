/** Loading sources/*.yml: every problem at once with file, path and line; credentials only as ${ENV}. */
import { describe, expect, it } from 'vitest';
import { ProblemCollector } from '../../src/errors.js';
import { CONNECTOR_TYPES } from '../../src/ingest/connectors/registry.js';
import { parseSource, resolveCredentials } from '../../src/ingest/connectors/source-file.js';
import { parseTarget } from '../../src/ingest/targets.js';
import { runRange, splitWindows, nextState } from '../../src/ingest/connectors/windows.js';
import { redactor } from '../../src/ingest/connectors/source-runner.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { defaultVerdict, HttpClient, waitFromHeaders } from '../../src/ingest/connectors/http-client.js';

const problems0 = new ProblemCollector();
const POSTS = parseTarget('social_post_daily', 'targets/social_post_daily.yml', 'table: social.post_daily\nkey: [post_id]\ncolumns:\n  post_id: { type: string }\n', problems0)!;
const TARGETS = new Map([['social_post_daily', POSTS]]);

function parse(text: string) {
  const problems = new ProblemCollector();
  const source = parseSource('social_facebook', 'sources/social_facebook.yml', text, CONNECTOR_TYPES, TARGETS, problems);
  return { source, problems: problems.problems };
}

describe('sources/*.yml', () => {
  it('lists every problem at once, each with its file, path and line, and never repeats a literal secret', () => {
    const { source, problems } = parse(`type: facebook_pages
schedule: "61 * * * *"
start_date: 2025-02-30
lookback_days: -1
credentials:
  access_token: EAAliteralSecretValue123
settings:
  page_ids: [abc]
  colour: blue
streams:
  post_insights: social_post_dialy
  tweets: social_post_daily
`);
    expect(source).toBeUndefined();
    const text = problems.map((p) => `${p.file} → ${p.path} (line ${p.line}): ${p.message}`);
    expect(text).toEqual([
      expect.stringMatching(/^sources\/social_facebook\.yml → schedule \(line 2\): invalid cron pattern "61 \* \* \* \*"/),
      expect.stringMatching(/→ start_date \(line 3\): expected a day written YYYY-MM-DD, got "2025-02-30"/),
      expect.stringMatching(/→ lookback_days \(line 4\): expected a whole number of days from 0 to 3650/),
      expect.stringMatching(/→ credentials\.access_token \(line 6\): a credential must be a reference to an environment variable, written \$\{ENV_VAR\}/),
      expect.stringMatching(/→ settings\.colour \(line 9\): unknown setting "colour"/),
      expect.stringMatching(/→ settings\.page_ids \(line 8\): expected a non-empty list of numeric ids/),
    ]);
    expect(JSON.stringify(problems)).not.toContain('EAAliteralSecretValue123');
  });

  it('checks streams against the type and targets', () => {
    const { problems } = parse(`type: facebook_pages
credentials: { access_token: "\${FB}" }
settings: { page_ids: ["1"] }
streams:
  post_insights: social_post_dialy
  tweets: social_post_daily
`);
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      expect.stringMatching(/^streams\.post_insights: unknown target "social_post_dialy"; expected one of social_post_daily/),
      expect.stringMatching(/^streams\.tweets: type facebook_pages has no stream "tweets"; expected one of pages, page_insights, post_insights/),
    ]);
  });

  it('names unknown types and missing credentials', () => {
    expect(parse('type: tiktok\nstreams: { a: social_post_daily }\n').problems[0].message).toMatch(/^unknown source type "tiktok"; expected one of crimson_hexagon, facebook_pages, google_analytics, instagram, mailchimp, postgres, rest, unmetric, x/);
    expect(parse('type: x\nsettings: { user_ids: ["1"] }\nstreams: { tweets: social_post_daily }\n').problems[0].message).toMatch(/needs the credential "bearer_token"/);
  });

  it('reads credentials from the environment when a run starts, naming a missing variable and never a value', () => {
    const { source } = parse('type: x\ncredentials: { bearer_token: "${X_TOKEN}" }\nsettings: { user_ids: ["1"] }\nstreams: { tweets: social_post_daily }\n');
    expect(resolveCredentials(source!, { X_TOKEN: 'abc' })).toEqual({ bearer_token: 'abc' });
    expect(() => resolveCredentials(source!, {})).toThrow(/source "social_facebook": the environment variable of bearer_token \(\$\{X_TOKEN\}\) is not set/);
  });
});

describe('windows', () => {
  it('runs from the state minus the lookback to yesterday, split into the widest windows', () => {
    expect(runRange({ lastCompleteDay: '2026-03-10', lookbackDays: 3, today: '2026-03-20' })).toEqual({ from: '2026-03-08', to: '2026-03-19' });
    expect(runRange({ startDate: '2026-01-01', lookbackDays: 3, today: '2026-05-01' })).toEqual({ from: '2026-01-01', to: '2026-04-30' });
    expect(runRange({ lastCompleteDay: '2026-04-30', lookbackDays: 0, today: '2026-05-01' })).toBeUndefined();
    expect(runRange({ startDate: '2020-01-01', lookbackDays: 0, today: '2026-05-01', maxHistoryDays: 730 })?.from).toBe('2024-05-01');
    expect(splitWindows({ from: '2026-01-01', to: '2026-04-30' }, 90)).toEqual([{ from: '2026-01-01', to: '2026-03-31' }, { from: '2026-04-01', to: '2026-04-30' }]);
  });

  it('moves the state only over contiguous days', () => {
    expect(nextState('2026-03-10', undefined, { from: '2026-03-08', to: '2026-03-20' })).toBe('2026-03-20');
    expect(nextState('2026-03-10', undefined, { from: '2026-03-15', to: '2026-03-20' })).toBe('2026-03-10');
    expect(nextState(undefined, '2026-01-01', { from: '2026-02-01', to: '2026-02-10' })).toBeUndefined();
    expect(nextState('2026-03-10', undefined, { from: '2026-01-01', to: '2026-01-31' })).toBe('2026-03-10');
  });
});

describe('error policy', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('reads the waits the APIs ask for', () => {
    expect(waitFromHeaders(h({ 'retry-after': '7' }), 0)).toBe(7000);
    expect(waitFromHeaders(h({ 'x-rate-limit-reset': '1000' }), 990_000)).toBe(10_000);
  });
  it('classifies throttling, auth failures, transient and fatal errors', () => {
    expect(defaultVerdict(400, h({}), { error: { code: 613, message: 'Calls to this api have exceeded the rate limit.' } }, '', 0).kind).toBe('throttled');
    expect(defaultVerdict(400, h({}), { error: { code: 190, message: 'expired' } }, '', 0).kind).toBe('auth');
    expect(defaultVerdict(429, h({}), { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Exhausted property tokens' } }, '', 0).kind).toBe('throttled');
    expect(defaultVerdict(429, h({}), { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title: 'Too Many Requests', status: 429 }, '', 0).kind).toBe('throttled');
    expect(defaultVerdict(503, h({}), undefined, '<html>down</html>', 0).kind).toBe('retry');
    expect(defaultVerdict(403, h({}), { title: 'Forbidden' }, '', 0).kind).toBe('auth');
    expect(defaultVerdict(400, h({}), { error: { code: 100, message: 'invalid metric' } }, '', 0).kind).toBe('fail');
  });
  it('a 2xx is ok whatever its body says in passing; a 200 carrying a Google error envelope is not', () => {
    expect(defaultVerdict(200, h({}), { data: [{ name: 'page_impressions', values: [] }], message: 'not an error' }, '{"data":[]}', 0).kind).toBe('ok');
    expect(defaultVerdict(200, h({}), { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Exhausted' } }, '', 0).kind).toBe('throttled');
  });
  it('retries a request with no answer within its timeout, and ends one at once when the run is cancelled', async () => {
    let seen = 0;
    const server = createServer((_req, res) => {
      // The first request gets no answer at all; the next ones are answered.
      if (++seen > 1) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    try {
      const waits: string[] = [];
      const client = new HttpClient({ source: 's', timeoutMs: 200, sleep: async () => undefined, onWait: (w) => waits.push(w.reason) });
      const res = await client.get('items', url, {}, new AbortController().signal);
      expect(res.json).toEqual({ ok: true });
      expect(waits).toEqual([expect.stringContaining('no answer within 200 ms')]);

      seen = -1_000_000; // none answered from here on
      const run = new AbortController();
      const pending = new HttpClient({ source: 's', timeoutMs: 60_000 }).get('items', url, {}, run.signal);
      setTimeout(() => run.abort(new Error('cancelled by the test')), 50);
      await expect(pending).rejects.toThrow('cancelled by the test');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
  it('asks for compressed bodies and decodes gzip and br; keeps the decoded bytes as the page', async () => {
    const body = JSON.stringify({ data: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['accept-encoding']);
      const encoding = req.url === '/br' ? 'br' : req.url === '/gzip' ? 'gzip' : req.url === '/zstd' ? 'zstd' : undefined;
      const bytes = encoding === 'br' ? brotliCompressSync(body) : encoding === 'gzip' ? gzipSync(body) : Buffer.from(body);
      res.writeHead(200, { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}), 'x-rate-limit-reset': '7' }).end(bytes);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const waits: string[] = [];
      const client = new HttpClient({ source: 's', maxRetries: 1, sleep: async () => undefined, onWait: (w) => waits.push(w.reason) });
      for (const path of ['/gzip', '/br', '/plain']) {
        const res = await client.get('items', `${base}${path}`, {}, new AbortController().signal);
        expect(res.body.toString('utf8')).toBe(body);
        expect((res.json as { data: unknown[] }).data).toHaveLength(200);
        expect(res.headers.get('X-Rate-Limit-Reset')).toBe('7');
        expect(res.headers.get('link')).toBeNull();
      }
      expect(seen).toEqual(['gzip, deflate, br', 'gzip, deflate, br', 'gzip, deflate, br']);
      await expect(client.get('items', `${base}/zstd`, {}, new AbortController().signal)).rejects.toThrow(/encoded as "zstd".*gave up after 2 tries/);
      expect(waits).toEqual([expect.stringContaining('the response body was cut off (HTTP 200, the body is encoded as "zstd"')]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
  it('redacts secrets, also URL- and base64-encoded', () => {
    const redact = redactor(['s3cr3t/tok+en']);
    expect(redact(`a s3cr3t/tok+en b ${encodeURIComponent('s3cr3t/tok+en')} c ${Buffer.from('s3cr3t/tok+en').toString('base64')}`)).toBe('a [redacted] b [redacted] c [redacted]');
  });
});
