/** JobStore on every warehouse dialect: the records the queues write and the GraphQL jobs fields read. */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { JobStore, recordingEvents, requestOf } from '../../src/jobs/job-store.js';
import { JobCancelledError } from '../../src/jobs/port.js';
import type { Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(DIALECTS)('JobStore on %s', (dialect) => {
  let warehouse: Warehouse | undefined;

  async function store(): Promise<JobStore> {
    warehouse = await freshWarehouse(dialect);
    const s = new JobStore(warehouse);
    await s.init();
    await s.init();
    return s;
  }

  afterEach(async () => {
    await warehouse?.close();
    warehouse = undefined;
  });

  it('creates a QUEUED record and reads it back as it was written', async () => {
    const s = await store();
    const before = Date.now();
    const created = await s.create({
      type: 'INGEST_FILE',
      payload: { key: 'uploads/a b.csv', options: { sheet: 1, strict: true }, note: "o'brien \"quoted\"" },
      team: 'social',
      target: 'social_manual_posts',
      createdBy: 'key_1',
      maxAttempts: 5,
    });
    const after = Date.now();
    expect(created).toMatchObject({
      type: 'INGEST_FILE',
      status: 'QUEUED',
      team: 'social',
      source: null,
      target: 'social_manual_posts',
      payload: { key: 'uploads/a b.csv', options: { sheet: 1, strict: true }, note: "o'brien \"quoted\"" },
      attempts: 0,
      maxAttempts: 5,
      progress: 0,
      startedAt: null,
      finishedAt: null,
      rowsRead: 0,
      rowsLoaded: 0,
      rowsRejected: 0,
      errors: [],
      rawObjects: [],
      resultKey: null,
      createdBy: 'key_1',
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toMatch(ISO);
    expect(Date.parse(created.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(created.createdAt)).toBeLessThanOrEqual(after);
    expect(await s.get(created.id)).toEqual(created);
    expect(await s.get('no-such-job')).toBeUndefined();
  });

  it('rejects an unknown job type', async () => {
    const s = await store();
    await expect(s.create({ type: 'NOPE' as 'EXPORT' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('follows a job through its attempts, recording as the handler goes', async () => {
    const s = await store();
    const { id } = await s.create({ type: 'RUN_SOURCE', source: 'facebook_pages', team: 'social' });
    await s.markRunning(id, 1);
    const running = await s.get(id);
    expect(running).toMatchObject({ status: 'RUNNING', attempts: 1, progress: 0 });
    expect(running?.startedAt).toMatch(ISO);

    await s.markFailed(id, [{ message: 'HTTP 503 from the Graph API' }], { willRetry: true });
    expect(await s.get(id)).toMatchObject({ status: 'QUEUED', attempts: 1, finishedAt: null, errors: [{ message: 'HTTP 503 from the Graph API' }] });

    await s.markRunning(id, 2);
    await s.setProgress(id, 33.4);
    expect((await s.get(id))?.progress).toBe(33);
    await s.setProgress(id, 150);
    expect((await s.get(id))?.progress).toBe(100);
    await s.setProgress(id, -5);
    expect((await s.get(id))?.progress).toBe(0);
    await s.update(id, { rowsRead: 120, rawObjects: ['raw/facebook_pages/r1/page-1.json'] });
    await s.update(id, { rowsRejected: 2, errors: [{ line: 7, column: 'Date', message: 'expected a date, got "tomorrow"' }] });
    await s.markSucceeded(id, { rowsLoaded: 118, rawObjects: ['raw/facebook_pages/r1/page-1.json', 'raw/facebook_pages/r1/page-2.json'] });

    const done = await s.get(id);
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
      progress: 100,
      rowsRead: 120,
      rowsLoaded: 118,
      rowsRejected: 2,
      errors: [{ line: 7, column: 'Date', message: 'expected a date, got "tomorrow"' }],
      rawObjects: ['raw/facebook_pages/r1/page-1.json', 'raw/facebook_pages/r1/page-2.json'],
    });
    expect(done?.finishedAt).toMatch(ISO);
    expect(Date.parse(done?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done?.startedAt ?? ''));
  });

  it('keeps a final status until the job is requeued', async () => {
    const s = await store();
    const { id } = await s.create({ type: 'EXPORT', team: 'web' });
    await s.markRunning(id, 1);
    await s.markFailed(id, [{ message: 'boom' }], { willRetry: false });
    const failed = await s.get(id);
    expect(failed).toMatchObject({ status: 'FAILED', errors: [{ message: 'boom' }] });
    expect(failed?.finishedAt).toMatch(ISO);

    // A late worker cannot revive or overwrite it.
    await s.markRunning(id, 2);
    await s.markSucceeded(id);
    await s.markCancelled(id);
    await s.setProgress(id, 50);
    expect(await s.get(id)).toEqual(failed);

    // Handlers' records (the result file of an export) are still kept.
    await s.update(id, { resultKey: 'exports/web/x.xlsx' });
    expect((await s.get(id))?.resultKey).toBe('exports/web/x.xlsx');

    await s.requeue(id);
    expect(await s.get(id)).toMatchObject({ status: 'QUEUED', attempts: 0, progress: 0, errors: [], startedAt: null, finishedAt: null, resultKey: null });
    await s.markCancelled(id);
    expect((await s.get(id))?.status).toBe('CANCELLED');
  });

  it('lists newest first, filtered by status, type, source and the teams a key may see', async () => {
    const s = await store();
    const a = await s.create({ type: 'RUN_SOURCE', source: 'facebook_pages', team: 'social' });
    const b = await s.create({ type: 'INGEST_FILE', target: 'web_sessions', team: 'web' });
    const c = await s.create({ type: 'RUN_SOURCE', source: "o'reilly", team: 'social' });
    const d = await s.create({ type: 'INBOX_SCAN' });
    await s.markRunning(b.id, 1);

    const ids = (list: Array<{ id: string }>) => list.map((r) => r.id);
    expect(ids(await s.list({ limit: 50 }))).toEqual([d.id, c.id, b.id, a.id]);
    expect(ids(await s.list({ limit: 2 }))).toEqual([d.id, c.id]);
    expect(ids(await s.list({ limit: 50, status: 'RUNNING' }))).toEqual([b.id]);
    expect(ids(await s.list({ limit: 50, type: 'RUN_SOURCE' }))).toEqual([c.id, a.id]);
    expect(ids(await s.list({ limit: 50, source: "o'reilly" }))).toEqual([c.id]);
    expect(ids(await s.list({ limit: 50, teams: ['social'] }))).toEqual([c.id, a.id]);
    expect(ids(await s.list({ limit: 50, teams: ['web', 'social'], type: 'INGEST_FILE' }))).toEqual([b.id]);
    expect(ids(await s.list({ limit: 50, teams: [] }))).toEqual([]);
    expect(ids(await s.list({ limit: 50, teams: '*' }))).toEqual([d.id, c.id, b.id, a.id]);
  });

  it('lists the jobs a restarted queue must run: QUEUED and RUNNING, oldest first', async () => {
    const s = await store();
    const a = await s.create({ type: 'EXPORT' });
    const b = await s.create({ type: 'EXPORT' });
    const c = await s.create({ type: 'EXPORT' });
    const d = await s.create({ type: 'EXPORT' });
    await s.markRunning(b.id, 1);
    await s.markRunning(c.id, 1);
    await s.markSucceeded(c.id);
    await s.markCancelled(d.id);
    expect((await s.pending()).map((r) => [r.id, r.status])).toEqual([
      [a.id, 'QUEUED'],
      [b.id, 'RUNNING'],
    ]);
    expect(requestOf((await s.get(a.id))!)).toEqual({ id: a.id, type: 'EXPORT', payload: {}, attempts: 3 });
  });

  it('records what a queue reports, creating the record of a job it has not seen', async () => {
    const s = await store();
    const events = recordingEvents(s);
    const tick = `tick-${randomUUID()}`;
    await events.onActive?.(tick, 1, { id: tick, type: 'RUN_SOURCE', payload: { source: 'ga4', team: 'web' }, attempts: 2 });
    expect(await s.get(tick)).toMatchObject({ status: 'RUNNING', type: 'RUN_SOURCE', source: 'ga4', team: 'web', maxAttempts: 2, attempts: 1 });
    await events.onProgress?.(tick, 40);
    expect((await s.get(tick))?.progress).toBe(40);
    await events.onCompleted?.(tick, { rowsRead: 5, rowsLoaded: 4, rowsRejected: 1, unrelated: 'x' });
    expect(await s.get(tick)).toMatchObject({ status: 'SUCCEEDED', rowsRead: 5, rowsLoaded: 4, rowsRejected: 1 });

    const bad = await s.create({ type: 'INGEST_FILE', team: 'social' });
    await events.onActive?.(bad.id, 1);
    const problem = new UserError('ROW_INVALID', 'posts.csv has 1 bad row', { problems: [{ file: 'posts.csv', line: 4, column: 'Post ID', message: 'required' }] });
    await events.onFailed?.(bad.id, problem, false, 1);
    expect(await s.get(bad.id)).toMatchObject({ status: 'FAILED', errors: [{ line: 4, column: 'Post ID', message: 'posts.csv: required' }] });

    const cancelled = await s.create({ type: 'EXPORT' });
    await events.onActive?.(cancelled.id, 1);
    await events.onFailed?.(cancelled.id, new JobCancelledError(), false, 1);
    expect((await s.get(cancelled.id))?.status).toBe('CANCELLED');
  });
});
