/**
 * Rollups through the whole product: two Apps as `sextant serve` opens them (api and worker roles) over
 * one PostgreSQL, a copy of the example project with a rollup on `social.manual_posts`. A file loaded by
 * the worker refreshes the rollup in the load's transaction, so the API's very next answer (after the
 * change feed drops its cache) is the new one, still from the rollup; `extensions.sextant` names the
 * rollup or says why none answered; the catalog shows when each rollup was refreshed.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, openApp, type App } from '../../src/main.js';
import { EXAMPLE_PROJECT, loadConfig, type Config } from '../../src/config/env.js';
import { silentLogger } from '../../src/log.js';
import { testRedisUrl } from '../support/env.js';
import { freshWarehouse } from '../support/warehouses.js';
import { gql } from './graphql-harness.js';

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const ROLLUP = 'social.manual_posts.platform_month';
const MONTHLY = '{ social { manualPosts { metricDate(grain: MONTH) platform impressions likeRate posts } } }';
const DAILY = '{ social { manualPosts { metricDate platform impressions } } }';

interface Report {
  rollup: string | null;
  rollupReason?: string;
  cacheHit: boolean;
}

describe('rollups served end to end (api and worker processes, PostgreSQL)', () => {
  let dir: string;
  let pg: Awaited<ReturnType<typeof freshWarehouse>>;
  let api: App;
  let worker: App;
  let server: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-rollups-'));
    await cp(EXAMPLE_PROJECT, join(dir, 'project'), { recursive: true });
    await appendFile(
      join(dir, 'project/models/social/manual_posts.yml'),
      'rollups:\n  platform_month:\n    measures: [impressions, like_rate, posts]\n    dimensions: [platform]\n    time_dimension: metric_date\n    grain: month\n',
    );
    pg = await freshWarehouse('postgres');
    const queue = { queueName: `rollups-e2e-${randomBytes(6).toString('hex')}` };
    const config = (role: 'api' | 'worker'): Config =>
      loadConfig(
        {
          SEXTANT_PROJECT: join(dir, 'project'),
          SEXTANT_WAREHOUSE: pg.url as string,
          SEXTANT_OBJECT_STORE: `file:${join(dir, 'objects')}`,
          SEXTANT_REDIS_URL: testRedisUrl(),
          SEXTANT_ROLE: role,
          SEXTANT_DEMO: 'off',
          SEXTANT_RESULT_CACHE: 'on',
          SEXTANT_SIGNING_SECRET: 'rollups-test',
          HOST: '127.0.0.1',
          PORT: '0',
        },
        dir,
      );
    // Both build or find the rollups at start-up (the second finds them current).
    api = await openApp({ config: config('api'), log: silentLogger, queue });
    worker = await openApp({ config: config('worker'), log: silentLogger, queue });
    worker.queue.handle('INGEST_FILE', worker.ingest.handleIngestJob);
    await worker.queue.start({ concurrency: 1 });
    server = await buildApi(api);
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await worker?.close();
    await api?.close();
    await pg?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function ask(query: string): Promise<{ rows: Array<Record<string, unknown>>; report: Report }> {
    const res = await gql(server, query);
    expect(res.body.errors).toBeUndefined();
    const rows = (res.body.data!.social as { manualPosts: Array<Record<string, unknown>> }).manualPosts;
    const queries = (res.body.extensions?.sextant as { queries: Report[] }).queries;
    expect(queries).toHaveLength(1);
    return { rows, report: queries[0] };
  }

  async function load(name: string, csv: string): Promise<void> {
    const key = `raw/social_manual_posts/rollups-e2e/${name}`;
    await api.store.put(key, csv);
    const queued = await gql(server, 'mutation($k: String!) { ingestObject(target: "social_manual_posts", key: $k) { id } }', { k: key });
    expect(queued.body.errors).toBeUndefined();
    const id = (queued.body.data!.ingestObject as { id: string }).id;
    for (;;) {
      const res = await gql(server, 'query($id: ID!) { job(id: $id) { status errors { message } } }', { id });
      const job = res.body.data?.job as { status: string; errors: unknown[] } | null;
      if (job && FINAL.has(job.status)) {
        expect(job).toEqual({ status: 'SUCCEEDED', errors: [] });
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('answers from the rollup, and a load changes the answer at once; a question it cannot answer says why', async () => {
    expect(api.rollups.built.has(ROLLUP)).toBe(true);
    expect(worker.rollups.built.has(ROLLUP)).toBe(true);
    const empty = await ask(MONTHLY);
    expect(empty.rows).toEqual([]);
    expect(empty.report).toMatchObject({ rollup: ROLLUP, cacheHit: false });
    expect((await ask(MONTHLY)).report).toMatchObject({ rollup: ROLLUP, cacheHit: true });

    await load('first.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p1,2026-03-02,100,1\nlinkedin,p1,2026-03-03,50,4\ntiktok,p2,2026-03-02,23,2\ntiktok,p2,2026-04-01,7,\n');
    const first = await ask(MONTHLY);
    expect(first.report).toMatchObject({ rollup: ROLLUP, cacheHit: false });
    expect(first.rows).toEqual([
      { metricDate: '2026-03-01', platform: 'linkedin', impressions: 150, likeRate: 5 / 150, posts: 1 },
      { metricDate: '2026-03-01', platform: 'tiktok', impressions: 23, likeRate: 2 / 23, posts: 1 },
      { metricDate: '2026-04-01', platform: 'tiktok', impressions: 7, likeRate: null, posts: 1 },
    ]);

    // An upsert in March and a new post in April: both months change, from the rollup, at once.
    await load('second.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p1,2026-03-02,1000,10\ntiktok,p3,2026-04-05,3,3\n');
    const second = await ask(MONTHLY);
    expect(second.report).toMatchObject({ rollup: ROLLUP, cacheHit: false });
    expect(second.rows).toEqual([
      { metricDate: '2026-03-01', platform: 'linkedin', impressions: 1050, likeRate: 14 / 1050, posts: 1 },
      { metricDate: '2026-03-01', platform: 'tiktok', impressions: 23, likeRate: 2 / 23, posts: 1 },
      { metricDate: '2026-04-01', platform: 'tiktok', impressions: 10, likeRate: 3 / 10, posts: 2 },
    ]);
    // The same numbers straight from the base table, by hand.
    const base = await pg.query(
      `select platform, date_trunc('month', metric_date)::date as m, sum(impressions) as i, count(distinct post_id) as p from social.manual_posts group by 1, 2 order by 2, 1`,
    );
    expect(base.map((r) => [String(r.m), r.platform, Number(r.i), Number(r.p)])).toEqual(second.rows.map((r) => [r.metricDate, r.platform, r.impressions, r.posts]));

    const daily = await ask(DAILY);
    expect(daily.report.rollup).toBeNull();
    expect(daily.report.rollupReason).toBe('rollup platform_month keeps metric_date by month; the question asks for it by day');
    expect(daily.rows).toHaveLength(5);

    const other = await gql(server, '{ social { postPerformance(limit: 1) { impressions } } }');
    expect((other.body.extensions?.sextant as { queries: Report[] }).queries[0]).toMatchObject({ rollup: 'social.post_performance.month_platform' });
    const web = await gql(server, '{ web { pages(limit: 1) { pageViews } } }');
    expect((web.body.extensions?.sextant as { queries: Report[] }).queries[0]).toMatchObject({ rollup: null, rollupReason: 'no rollups are declared' });
  });

  it('lists each model\'s rollups in the catalog with when they were last refreshed', async () => {
    const before = Date.now();
    await load('third.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p9,2026-05-02,1,1\n');
    const res = await gql(server, '{ catalog { models { id rollups { id name measures dimensions timeDimension grain refreshedAt } } } }');
    expect(res.body.errors).toBeUndefined();
    const models = (res.body.data!.catalog as { models: Array<{ id: string; rollups: Array<Record<string, unknown>> }> }).models;
    const manual = models.find((m) => m.id === 'social.manual_posts');
    expect(manual?.rollups).toEqual([
      { id: ROLLUP, name: 'platform_month', measures: ['impressions', 'like_rate', 'posts'], dimensions: ['platform'], timeDimension: 'metric_date', grain: 'month', refreshedAt: expect.any(String) },
    ]);
    expect(Date.parse(manual?.rollups[0].refreshedAt as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(models.find((m) => m.id === 'social.post_performance')?.rollups.map((r) => r.name)).toEqual(['month_platform', 'account_day']);
    expect(models.find((m) => m.id === 'web.pages')?.rollups).toEqual([]);
  });
});
