/**
 * postToSlack against a local webhook that answers like Slack's: accepted messages, retries on 429 and
 * 5xx (honouring Retry-After), no retry on a refused payload, and an error naming Slack's answer
 * without the webhook's secret path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToSlack } from '../../src/notify/slack.js';
import { startSlackWebhook, type SlackWebhook } from '../fakes/slack-webhook.js';

describe('postToSlack', () => {
  let hook: SlackWebhook;
  beforeAll(async () => {
    hook = await startSlackWebhook();
  });
  afterAll(async () => hook.close());

  it('posts text and blocks', async () => {
    await postToSlack(hook.url, { text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }] });
    expect(hook.messages.at(-1)).toEqual({ text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }] });
  });

  it('tries again after a 429 (Retry-After) and a 503', async () => {
    const before = hook.requests;
    hook.failNext({ status: 429, retryAfter: 0 }, { status: 503, retryAfter: 0 });
    await postToSlack(hook.url, { text: 'third time' });
    expect(hook.requests - before).toBe(3);
    expect(hook.messages.at(-1)?.text).toBe('third time');
  });

  it('gives up after three attempts, and at once on a refused payload', async () => {
    let before = hook.requests;
    hook.failNext({ status: 500, retryAfter: 0 }, { status: 500, retryAfter: 0 }, { status: 500, retryAfter: 0 });
    await expect(postToSlack(hook.url, { text: 'never' })).rejects.toThrow(/Slack webhook answered HTTP 500/);
    expect(hook.requests - before).toBe(3);
    before = hook.requests;
    const error = await postToSlack(hook.url, { text: '' }).catch((e: Error) => e);
    expect(hook.requests - before).toBe(1);
    expect(String(error)).toMatch(/HTTP 400 \(no_text\)/);
    expect(String(error)).not.toContain('XXXXXXXX');
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      seen.push(String(init?.body));
      return fetch(input, init);
    };
    await postToSlack(hook.url, { text: 'via spy' }, { fetch: spy });
    expect(seen).toEqual([JSON.stringify({ text: 'via spy' })]);
  });
});
