/** Chooses the job queue from the environment (docs/environment.md): BullMQ when a Redis URL is set, else in-process. */
import type { Logger } from '../log.js';
import { BullMqJobQueue } from './bullmq/bullmq-job-queue.js';
import type { JobStore } from './job-store.js';
import { LocalJobQueue } from './local/local-job-queue.js';
import type { JobQueue } from './port.js';

/**
 * The queue of this deployment. Either one records every job it runs in `store`, so the composition
 * root passes no recording events of its own to `start()`.
 */
export function openJobQueue(
  config: { redisUrl?: string | undefined },
  store: JobStore,
  options: { logger?: Logger; /** BullMQ only (tests isolate themselves with these). */ queueName?: string; prefix?: string } = {},
): JobQueue {
  if (config.redisUrl) {
    return new BullMqJobQueue({ connection: config.redisUrl, store, logger: options.logger, queueName: options.queueName, prefix: options.prefix });
  }
  return new LocalJobQueue({ store, logger: options.logger });
}
