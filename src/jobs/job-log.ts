/**
 * One log line when a job attempt starts and one when it ends, with its outcome and duration. The
 * queues run each job inside a log context naming it (`jobId`, `jobType`), so these lines — like every
 * other line logged by the handler — carry the job's id without passing it around.
 */
import type { Logger } from '../log.js';
import type { JobEvents } from './port.js';

/** A JobEvents listener that logs each attempt's start and end (info; failures warn). */
export function jobLogEvents(log: Logger): JobEvents {
  const started = new Map<string, number>();
  const ms = (id: string) => {
    const t = started.get(id);
    started.delete(id);
    return t === undefined ? undefined : Math.round(performance.now() - t);
  };
  return {
    onActive: (id, attempt) => {
      started.set(id, performance.now());
      log.info('job started', { attempt });
    },
    onCompleted: (id) => log.info('job finished', { outcome: 'succeeded', durationMs: ms(id) }),
    onFailed: (id, error, willRetry, attempt) => {
      const outcome = error.name === 'JobCancelledError' ? 'cancelled' : willRetry ? 'retried' : 'failed';
      log.warn('job finished', { outcome, attempt, durationMs: ms(id), err: error });
    },
  };
}
