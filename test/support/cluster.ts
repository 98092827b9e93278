/**
 * A deployment of several `sextant serve` processes on one PostgreSQL, one Redis and one S3-compatible
 * server, as docs/deploy.md describes it, and what a client does against it over HTTP: GraphQL,
 * uploads (createUpload → PUT → completeUpload), jobs polled to the end. Shared by the multi-process
 * tests and bench/cluster.ts.
 */
import { randomBytes } from 'node:crypto';

export const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface ClusterServices {
  pgUrl: string;
  redisUrl: string;
  s3: { endpoint: string; bucket: string };
}

/** The environment every process of one deployment shares; `extra` per process (role, deadlines). */
export function clusterEnv(services: ClusterServices, deployment: { queueName: string; prefix: string; signingSecret: string }, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SEXTANT_WAREHOUSE: services.pgUrl,
    SEXTANT_OBJECT_STORE: `s3://${services.s3.bucket}/${deployment.prefix}`,
    AWS_ENDPOINT_URL: services.s3.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SEXTANT_REDIS_URL: services.redisUrl,
    SEXTANT_QUEUE_NAME: deployment.queueName,
    SEXTANT_SIGNING_SECRET: deployment.signingSecret,
    SEXTANT_DEMO: 'off',
    SEXTANT_LOG_FORMAT: 'json',
    HOST: '127.0.0.1',
    PORT: '0',
    ...extra,
  };
}

/** A fresh deployment's names: its queue (and change-feed channel), its object-store prefix, its secret. */
export function freshDeployment(label: string): { queueName: string; prefix: string; signingSecret: string } {
  const id = randomBytes(6).toString('hex');
  return { queueName: `${label}-${id}`, prefix: `${label}-${id}`, signingSecret: randomBytes(32).toString('hex') };
}

export interface GqlResult {
  status: number;
  data?: Record<string, unknown>;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
  extensions?: Record<string, unknown>;
}

/** POST /graphql to one API process with an API key. */
export async function gqlAt(base: string, apiKey: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GqlResult> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  const text = await res.text();
  let body: Omit<GqlResult, 'status'>;
  try {
    body = JSON.parse(text) as Omit<GqlResult, 'status'>;
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: res.status, ...body };
}

/** createUpload on one API process, the PUT of the bytes to the URL it signed, completeUpload: the job's id. */
export async function uploadCsv(base: string, apiKey: string | undefined, target: string, filename: string, csv: string, completeAt = base): Promise<string> {
  const created = await gqlAt(base, apiKey, 'mutation Upload($t: String!, $f: String!) { createUpload(target: $t, filename: $f, contentType: "text/csv") { id uploadUrl } }', { t: target, f: filename });
  if (created.errors) throw new Error(`createUpload failed: ${JSON.stringify(created.errors)}`);
  const { id, uploadUrl } = created.data!.createUpload as { id: string; uploadUrl: string };
  // With S3 the URL is presigned for the bucket itself. Without, it is the API's own `/uploads/…`, naming the
  // host and port the process was configured with (PORT=0 in tests): its path and signature are what count.
  const url = new URL(uploadUrl);
  const putUrl = url.pathname.startsWith('/uploads/') ? `${base}${url.pathname}${url.search}` : uploadUrl;
  const put = await fetch(putUrl, { method: 'PUT', body: csv, headers: { 'content-type': 'text/csv' } });
  if (put.status !== 200) throw new Error(`PUT of ${filename} answered ${put.status}: ${await put.text()}`);
  const completed = await gqlAt(completeAt, apiKey, 'mutation Complete($id: ID!) { completeUpload(id: $id) { id } }', { id });
  if (completed.errors) throw new Error(`completeUpload failed: ${JSON.stringify(completed.errors)}`);
  return (completed.data!.completeUpload as { id: string }).id;
}

export interface JobView {
  id: string;
  type: string;
  status: string;
  attempts: number;
  rowsLoaded: number | null;
  errors: Array<{ message: string }>;
}

/** Polls a job through an API process until it is final (or `timeoutMs` passes). */
export async function waitForJob(base: string, apiKey: string | undefined, id: string, timeoutMs = 120_000): Promise<JobView> {
  const started = Date.now();
  for (;;) {
    const res = await gqlAt(base, apiKey, 'query Job($id: ID!) { job(id: $id) { id type status attempts rowsLoaded errors { message } } }', { id });
    const job = res.data?.job as JobView | null | undefined;
    if (job && FINAL_STATUSES.has(job.status)) return job;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} is not final after ${timeoutMs} ms: ${JSON.stringify(job ?? res.errors)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `social_manual_posts` rows: `count` posts from `first` on, impressions a function of the post number. */
export function manualPostsCsv(first: number, count: number, day = '2026-03-02'): { csv: string; impressions: number } {
  const lines = ['platform,Post ID,Date,impressions,likes'];
  let impressions = 0;
  for (let i = first; i < first + count; i++) {
    const n = (i * 7919) % 1000;
    impressions += n;
    lines.push(`linkedin,p${i},${day},${n},${i % 13}`);
  }
  return { csv: `${lines.join('\n')}\n`, impressions };
}
