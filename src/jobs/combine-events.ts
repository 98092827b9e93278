/** Fans one queue's events out to several listeners (the job store, metrics, the caller). */
import type { Logger } from '../log.js';
import type { JobEvents } from './port.js';

/**
 * One JobEvents calling each listener in order and awaiting it. A listener that throws is logged and
 * does not stop the others nor the job: losing a progress write must not fail an ingestion.
 */
export function combineEvents(listeners: ReadonlyArray<JobEvents | undefined>, logger?: Logger): Required<JobEvents> {
  const all = listeners.filter((l): l is JobEvents => l !== undefined);
  const each = async (event: keyof JobEvents, id: string, call: (l: JobEvents) => Promise<void> | void | undefined) => {
    for (const l of all) {
      try {
        await call(l);
      } catch (err) {
        logger?.error('a job event listener failed', { event, jobId: id, err });
      }
    }
  };
  return {
    onActive: (id, attempt, request) => each('onActive', id, (l) => l.onActive?.(id, attempt, request)),
    onProgress: (id, percent) => each('onProgress', id, (l) => l.onProgress?.(id, percent)),
    onCompleted: (id, result) => each('onCompleted', id, (l) => l.onCompleted?.(id, result)),
    onFailed: (id, error, willRetry, attempt) => each('onFailed', id, (l) => l.onFailed?.(id, error, willRetry, attempt)),
  };
}
