/**
 * A load by a worker process reaches the result cache of an API process: two Apps as `sextant serve`
 * opens them with SEXTANT_ROLE=api and =worker, sharing one PostgreSQL database, one object-store
 * folder and one Redis (a fresh queue name, hence channel), talking only through those. The API side
 * answers a metrics query from its cache; the worker loads; once the job reads SUCCEEDED through the
 * API, the very next query answers the new numbers. Without the Redis change feed the API would keep
 * answering its cached numbers for the cache's TTL (60 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './graphql-harness.js';
import { openApiAndWorker, type ApiAndWorker } from './api-and-worker.js';

const QUERY = '{ social { manualPosts { posts impressions } } }';

describe('a worker process’s load invalidates an API process’s cached results (Redis change feed)', () => {
  let apps: ApiAndWorker;

  beforeAll(async () => {
    // The worker role as serve.ts starts it for uploads; the API app never runs a job.
    apps = await openApiAndWorker('cf-e2e', async (worker) => {
      worker.queue.handle('INGEST_FILE', worker.ingest.handleIngestJob);
      await worker.queue.start({ concurrency: 1 });
    });
  });
  afterAll(async () => {
    await apps?.close();
  });

  /** The query's numbers, and whether the API answered them from its cache. */
  async function metrics(): Promise<{ posts: number | null; impressions: number | null; cacheHit: boolean }> {
    const res = await gql(apps.server, QUERY);
    expect(res.body.errors).toBeUndefined();
    const [row] = (res.body.data!.social as { manualPosts: Array<{ posts: number | null; impressions: number | null }> }).manualPosts;
    const queries = (res.body.extensions?.sextant as { queries: Array<{ cacheHit: boolean }> }).queries;
    expect(queries).toHaveLength(1);
    return { posts: row?.posts ?? null, impressions: row?.impressions ?? null, cacheHit: queries[0].cacheHit };
  }

  /** Queues the load of `csv` through the API, and polls the job through the API until it is final. */
  async function load(name: string, csv: string): Promise<string> {
    const key = `raw/social_manual_posts/cf-e2e/${name}`;
    await apps.api.store.put(key, csv);
    const queued = await gql(apps.server, 'mutation($k: String!) { ingestObject(target: "social_manual_posts", key: $k) { id } }', { k: key });
    expect(queued.body.errors).toBeUndefined();
    const id = (queued.body.data!.ingestObject as { id: string }).id;
    await apps.succeeded(id);
    return id;
  }

  it('answers the new numbers as soon as the job reads SUCCEEDED, load after load', async () => {
    // Cached on the API side: the second answer comes from the cache.
    const empty = await metrics();
    expect(empty.posts ?? 0).toBe(0);
    expect(await metrics()).toMatchObject({ cacheHit: true });

    await load('first.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p1,2026-03-02,100,1\ntiktok,p2,2026-03-02,23,2\n');
    expect(await metrics()).toEqual({ posts: 2, impressions: 123, cacheHit: false });
    expect(await metrics()).toEqual({ posts: 2, impressions: 123, cacheHit: true });

    // An upsert of one row and a new one: the cached 123 must go again.
    await load('second.csv', 'platform,Post ID,Date,impressions,likes\nlinkedin,p1,2026-03-02,1000,1\nlinkedin,p3,2026-03-03,7,0\n');
    expect(await metrics()).toEqual({ posts: 3, impressions: 1030, cacheHit: false });
  });
});
