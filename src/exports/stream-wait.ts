/**
 * Waiting on streams without hanging: a wait for `drain` also ends when the output fails, closes early,
 * or the export is aborted — otherwise a client that goes away would leave the writer waiting forever.
 */
import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';

/** Resolves on `event` of `emitter`; rejects when `out` errors or closes first, or `signal` aborts. */
export function waitFor(emitter: EventEmitter, event: string, out: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      emitter.off(event, onEvent);
      out.off('error', onError);
      out.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the export output closed before the export was written'));
    };
    const onAbort = () => {
      cleanup();
      reject(signal?.reason instanceof Error ? signal.reason : new Error('the export was aborted'));
    };
    if (signal?.aborted) return onAbort();
    if (out.destroyed) return onClose();
    emitter.once(event, onEvent);
    out.once('error', onError);
    out.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes a chunk, waiting for `drain` when the stream asks to. */
export async function writeChunk(out: Writable, chunk: string | Buffer, signal?: AbortSignal): Promise<void> {
  if (!out.write(chunk)) await waitFor(out, 'drain', out, signal);
}

/** Ends the stream and waits until everything is flushed. */
export async function endStream(out: Writable, signal?: AbortSignal): Promise<void> {
  const finished = out.writableFinished ? Promise.resolve() : waitFor(out, 'finish', out, signal);
  out.end();
  await finished;
}
