/**
 * Slack incoming webhooks (SLACK_WEBHOOK_URL): one JSON POST of `{ text, blocks }` (Block Kit; `text` is
 * the notification's fallback). Slack answers 429 with Retry-After when a webhook posts too fast, and
 * occasionally 5xx: a couple of retries cover both; anything else fails with the status and Slack's
 * short reason (`invalid_payload`, `no_service`) — never the URL, which is itself the secret.
 */

export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

export interface SlackOptions {
  fetch?: typeof fetch;
  /** Retries after a 429 or 5xx (default 2). */
  retries?: number;
  /** Waits between retries (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Posts one message to a Slack incoming webhook. */
export async function postToSlack(webhookUrl: string, message: { text: string; blocks?: unknown[] }, options?: { fetch?: typeof fetch } & SlackOptions): Promise<void> {
  const doFetch = options?.fetch ?? globalThis.fetch;
  const retries = options?.retries ?? 2;
  const sleep = options?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const body = JSON.stringify(message.blocks ? { text: message.text, blocks: message.blocks } : { text: message.text });
  for (let attempt = 0; ; attempt++) {
    let status: number;
    let reason = '';
    let retryAfterMs: number | undefined;
    try {
      const res = await doFetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
      status = res.status;
      reason = (await res.text()).slice(0, 100);
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra > 0) retryAfterMs = Math.min(ra * 1000, 30_000);
      if (res.ok) return;
    } catch (err) {
      status = 0;
      reason = (err as Error).message;
    }
    const transient = status === 0 || status === 429 || status >= 500;
    if (!transient || attempt >= retries) {
      throw new Error(`Slack webhook answered ${status === 0 ? 'nothing' : `HTTP ${status}`}${reason ? ` (${reason})` : ''}`);
    }
    await sleep(retryAfterMs ?? 500 * 2 ** attempt);
  }
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
