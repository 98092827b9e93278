/** openJobQueue picks the queue from the environment (docs/environment.md), and either one records into the store. */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BullMqJobQueue } from '../../src/jobs/bullmq/bullmq-job-queue.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobQueue } from '../../src/jobs/local/local-job-queue.js';
import { openJobQueue } from '../../src/jobs/open.js';
import type { JobQueue } from '../../src/jobs/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';

describe('openJobQueue', () => {
  let warehouse: Warehouse | undefined;
  let queue: JobQueue | undefined;

  afterEach(async () => {
    await queue?.close(100);
    await warehouse?.close();
    queue = undefined;
    warehouse = undefined;
  });

  it.each([
    ['the in-process queue without a Redis URL', undefined, LocalJobQueue],
    ['BullMQ with a Redis URL', 'redis', BullMqJobQueue],
  ] as const)('opens %s, which records the jobs it runs', async (_name, redis, kind) => {
    warehouse = await freshWarehouse('duckdb');
    const store = new JobStore(warehouse);
    await store.init();
    queue = await openJobQueue({ redisUrl: redis ? testRedisUrl() : undefined }, store, { queueName: `t-${randomUUID()}`, prefix: 'sxt-test' });
    expect(queue).toBeInstanceOf(kind);
    await queue.ping();
    const done = new Promise<void>((resolve) => {
      queue?.handle('EXPORT', async () => ({ resultKey: 'exports/web/report.xlsx' }));
      void queue?.start({ concurrency: 1, events: { onCompleted: () => resolve() } });
    });
    const record = await store.create({ type: 'EXPORT', team: 'web', id: `export-${randomUUID()}` });
    await queue.enqueue({ id: record.id, type: 'EXPORT', payload: {} });
    await done;
    expect(await store.get(record.id)).toMatchObject({ status: 'SUCCEEDED', resultKey: 'exports/web/report.xlsx' });
  });
});
