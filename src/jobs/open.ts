/**
 * Chooses the job queue from the environment (docs/environment.md): BullMQ when a Redis URL is set, else in-process.
 * BullMQ and ioredis are imported only then: a deployment without Redis does not hold them (~20 MB of RSS).
 */
import type { Logger } from '../log.js';
import type { JobStore } from './job-store.js';
import { LocalJobQueue } from './local/local-job-queue.js';
import type { JobQueue } from './port.js';

/**
 * The queue of this deployment. Either one records every job it runs in `store`, so the composition
 * root passes no recording events of its own to `start()`.
 */
export async function openJobQueue(
  config: { redisUrl?: string | undefined },
  store: JobStore,
  options: { logger?: Logger; /** BullMQ only (tests isolate themselves with these). */ queueName?: string; prefix?: string } = {},
): Promise<JobQueue> {
  if (config.redisUrl) {
    const { BullMqJobQueue } = await import('./bullmq/bullmq-job-queue.js');
    return new BullMqJobQueue({ connection: config.redisUrl, store, logger: options.logger, queueName: options.queueName, prefix: options.prefix });
  }
  return new LocalJobQueue({ store, logger: options.logger });
}
