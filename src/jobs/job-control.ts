/**
 * Retrying and cancelling jobs (`retryJob`, `cancelJob`): the rules in one place for every face, over
 * the job store and the queue.
 */
import { UserError } from '../errors.js';
import type { JobRecord, JobStore } from './job-store.js';
import type { JobQueue } from './port.js';

export interface JobControl {
  /** A finished job again, as a new job with the same request (queues keep the finished job under its id). */
  retry(id: string): Promise<JobRecord>;
  /** Cancels a queued or running job; a finished job is returned as it is. */
  cancel(id: string): Promise<JobRecord>;
}

export function createJobControl(jobs: JobStore, queue: JobQueue): JobControl {
  const existing = async (id: string) => {
    const job = await jobs.get(id);
    if (!job) throw new UserError('UNKNOWN_JOB', `no job with id "${id}"`);
    return job;
  };
  return {
    retry: async (id) => {
      const job = await existing(id);
      if (job.status === 'QUEUED' || job.status === 'RUNNING') throw new UserError('BAD_USER_INPUT', `job ${id} is ${job.status}; only a finished job can be retried`);
      const again = await jobs.create({
        type: job.type,
        payload: { ...job.payload, retryOf: job.id },
        team: job.team,
        source: job.source,
        target: job.target,
        maxAttempts: job.maxAttempts,
        createdBy: job.createdBy,
      });
      await queue.enqueue({ id: again.id, type: again.type, payload: again.payload, attempts: again.maxAttempts });
      return again;
    },
    cancel: async (id) => {
      const job = await existing(id);
      if (job.status === 'QUEUED' || job.status === 'RUNNING') {
        await queue.cancel(id);
        if (job.status === 'QUEUED') await jobs.markCancelled(id);
      }
      return (await jobs.get(id)) ?? job;
    },
  };
}
