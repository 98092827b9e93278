/** Chooses the change feed from the environment, as the job queue is chosen (docs/environment.md). */
import type { Logger } from '../../log.js';
import { LocalChangeFeed } from './local-change-feed.js';
import type { ChangeFeed } from './port.js';

/**
 * The channel of a deployment's changes, beside its queue's keys (BullMQ's defaults: prefix `bull`,
 * queue `sextant`), so that deployments — and tests — sharing one Redis do not hear each other.
 */
export function changeChannel(options: { queueName?: string; prefix?: string } = {}): string {
  return `${options.prefix ?? 'bull'}:${options.queueName ?? 'sextant'}:sextant-tables-changed`;
}

/**
 * Redis pub/sub when a Redis URL is set (API and workers may be separate processes), else in-process.
 * ioredis is imported only then, as for `openJobQueue`.
 */
export async function openChangeFeed(
  config: { redisUrl?: string | undefined },
  options: { logger?: Logger; /** Redis only, as for `openJobQueue`. */ queueName?: string; prefix?: string } = {},
): Promise<ChangeFeed> {
  if (config.redisUrl) {
    const { RedisChangeFeed } = await import('../bullmq/redis-change-feed.js');
    return new RedisChangeFeed({
      connection: config.redisUrl,
      channel: changeChannel(options),
      connectionName: `sextant:${options.queueName ?? 'sextant'}`,
      logger: options.logger,
    });
  }
  return new LocalChangeFeed({ logger: options.logger });
}
