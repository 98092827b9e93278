/**
 * Posts a message to a Slack incoming webhook (SLACK_WEBHOOK_URL). Slack answers 200 "ok"; 429 carries
 * Retry-After (seconds) and 5xx is Slack's own trouble, so both are tried again a couple of times;
 * anything else (400 invalid_payload, 403, 404 no_service) is final and thrown with Slack's answer.
 */

/** Attempts in all, including the first. */
const ATTEMPTS = 3;
/** Wait before the second attempt when Slack names none; doubled before the third. */
const BASE_DELAY_MS = 1_000;
/** Longest wait honoured from a Retry-After header. */
const MAX_DELAY_MS = 30_000;
/** Give up on one request after this long. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A message: `text` is the fallback shown in notifications; `blocks` the Block Kit layout. */
export interface SlackMessage {
  text: string;
  blocks?: unknown[];
}

export interface SlackOptions {
  /** The fetch to use (tests, proxies); default the global one. */
  fetch?: typeof fetch;
}

/** The webhook URL without its secret path, for error messages and logs. */
function redacted(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(an invalid URL)';
  }
}

function delayOf(response: Response, attempt: number): number {
  const retryAfter = Number(response.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(MAX_DELAY_MS, retryAfter * 1000);
  return BASE_DELAY_MS * 2 ** (attempt - 1);
}

/** Posts `message` to the webhook; resolves once Slack accepted it, throws after the last failed attempt. */
export async function postToSlack(webhookUrl: string, message: { text: string; blocks?: unknown[] }, options?: { fetch?: typeof fetch }): Promise<void> {
  const doFetch = options?.fetch ?? fetch;
  const body = JSON.stringify(message);
  let lastError = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let response: Response;
    try {
      response = await doFetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      // A network failure or timeout: worth another try, like a 5xx.
      lastError = err instanceof Error ? err.message : String(err);
      if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, BASE_DELAY_MS * 2 ** (attempt - 1)));
      continue;
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return;
    lastError = `HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ''}`;
    const retryable = response.status === 429 || response.status >= 500;
    if (!retryable) break;
    if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, delayOf(response, attempt)));
  }
  throw new Error(`Slack webhook ${redacted(webhookUrl)} refused the message: ${lastError}`);
}
