/**
 * PUTs a file to an upload URL as a client would stream it (node:http, the file read in 1 MB chunks) and answers the
 * server's JSON reply, checking that it stored every byte. fetch() with a stream body took ~0.3 s longer for the
 * 36.6 MB file: its chunks are smaller and each is a promise.
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';

export async function putFile(url: string, path: string, size: number): Promise<{ bytes: number }> {
  const req = request(url, { method: 'PUT', headers: { 'content-type': 'text/csv', 'content-length': String(size) } });
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), req);
  const [res] = await answered;
  let body = '';
  for await (const chunk of res) body += String(chunk);
  if (res.statusCode !== 200) throw new Error(`PUT failed: ${res.statusCode} ${body}`);
  const reply = JSON.parse(body) as { bytes: number };
  if (reply.bytes !== size) throw new Error(`PUT stored ${reply.bytes} bytes, expected ${size}`);
  return reply;
}
