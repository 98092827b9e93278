/**
 * A local Slack incoming webhook: POST /services/T000/B000/XXXX with a JSON body, answered as Slack
 * does — 200 `ok`; 400 `invalid_payload` for a body without text; and, when told to, 429 with
 * Retry-After or 500 for the next requests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackWebhook {
  url: string;
  /** Messages Slack accepted, in order. */
  messages: Array<{ text: string; blocks?: unknown[] }>;
  /** Every request received, accepted or not. */
  requests: number;
  /** Answers for the next requests (status, Retry-After seconds), before answering normally again. */
  failNext(...answers: Array<{ status: number; retryAfter?: number }>): void;
  close(): Promise<void>;
}

export async function startSlackWebhook(): Promise<SlackWebhook> {
  const queued: Array<{ status: number; retryAfter?: number }> = [];
  const hook: Omit<SlackWebhook, 'url' | 'close'> & { url?: string } = {
    messages: [],
    requests: 0,
    failNext: (...answers) => queued.push(...answers),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hook.requests++;
      const planned = queued.shift();
      if (req.method !== 'POST' || !req.url?.startsWith('/services/')) {
        res.writeHead(404).end('no_service');
        return;
      }
      if (planned) {
        res.writeHead(planned.status, planned.retryAfter !== undefined ? { 'retry-after': String(planned.retryAfter) } : {}).end(planned.status === 429 ? 'rate_limited' : 'error');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      const msg = parsed as { text?: unknown; blocks?: unknown[] };
      if (typeof msg.text !== 'string' || msg.text === '') {
        res.writeHead(400).end('no_text');
        return;
      }
      hook.messages.push({ text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
      res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(hook, {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXXXXXX`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as SlackWebhook;
}
