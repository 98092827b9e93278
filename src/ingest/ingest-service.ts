/**
 * The ingestion flows (docs/targets.md) behind every face, by concern:
 * `uploads.ts` (createUpload → PUT → completeUpload), `inbox.ts` (files dropped under inbox/<target>/),
 * `ingest-jobs.ts` (ingestObject, `sextant ingest`, and the INGEST_FILE job that runs `loader.ts`). This
 * class builds the three over one set of adapters and is what the composition root hands to the faces.
 * Every raw input is written to the object store before it is parsed, and stays there.
 */
import { createUrlSigner } from '../auth/signed-url.js';
import type { JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { Inbox } from './inbox.js';
import { IngestJobs } from './ingest-jobs.js';
import type { Target } from './targets.js';
import { DEFAULT_UPLOAD_TTL_SECONDS, Uploads } from './uploads.js';

export { INBOX_PREFIX } from './inbox.js';
export type { IngestJobPayload } from './ingest-jobs.js';
export { UPLOADS_TABLE, DEFAULT_UPLOAD_TTL_SECONDS, type UploadRecord, type UploadTicket } from './uploads.js';

/** What an {@link IngestService} is built from. */
export interface IngestServiceOptions {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  queue: JobQueue;
  targets: ReadonlyMap<string, Target>;
  /** Largest accepted upload in bytes. */
  maxUploadBytes: number;
  /** Key of the HMAC that signs the service's own upload URLs; a random one per process when unset. */
  signingSecret?: string;
  /** Base URL clients reach the service at, for `PUT /uploads/<id>` URLs. */
  publicBaseUrl: string;
  /**
   * Called with the tables a load changed (result caches drop their entries). A promise it returns is
   * awaited, so a job is reported SUCCEEDED only once every API process was told (src/jobs/change-feed/).
   */
  onTablesChanged?: (tables: string[]) => unknown;
  logger?: Logger;
  /** Validity of upload URLs in seconds (default 3600). */
  uploadTtlSeconds?: number;
  /** Largest field a parser accepts (default 1 MiB). */
  maxFieldBytes?: number;
  /** The clock, for tests of expiry. */
  now?: () => Date;
}

/** The ingestion flows; see the module comment. */
export class IngestService {
  readonly uploads: Uploads;
  readonly inbox: Inbox;
  readonly jobs: IngestJobs;

  constructor(options: IngestServiceOptions) {
    const now = options.now ?? (() => new Date());
    this.jobs = new IngestJobs({
      warehouse: options.warehouse,
      store: options.store,
      jobs: options.jobs,
      queue: options.queue,
      targets: options.targets,
      ...(options.onTablesChanged ? { onTablesChanged: options.onTablesChanged } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.maxFieldBytes !== undefined ? { maxFieldBytes: options.maxFieldBytes } : {}),
      now,
    });
    this.uploads = new Uploads({
      warehouse: options.warehouse,
      store: options.store,
      jobs: options.jobs,
      ingest: this.jobs,
      maxUploadBytes: options.maxUploadBytes,
      // Without a configured secret, URLs signed by this process are valid only in this process.
      signer: createUrlSigner(options.signingSecret),
      publicBaseUrl: options.publicBaseUrl,
      ttlSeconds: options.uploadTtlSeconds ?? DEFAULT_UPLOAD_TTL_SECONDS,
      now,
    });
    this.inbox = new Inbox({ store: options.store, ingest: this.jobs, targets: options.targets, ...(options.logger ? { logger: options.logger } : {}), now });
  }

  init = (): Promise<void> => this.uploads.init();
  target = (name: string) => this.jobs.target(name);
  createUpload: Uploads['createUpload'] = (input) => this.uploads.createUpload(input);
  getUpload: Uploads['getUpload'] = (id) => this.uploads.getUpload(id);
  uploadTarget: Uploads['uploadTarget'] = (id) => this.uploads.uploadTarget(id);
  receiveUpload: Uploads['receiveUpload'] = (input) => this.uploads.receiveUpload(input);
  completeUpload: Uploads['completeUpload'] = (input) => this.uploads.completeUpload(input);
  ingestObject: IngestJobs['ingestObject'] = (input) => this.jobs.ingestObject(input);
  ingestLocalFile: IngestJobs['ingestLocalFile'] = (input) => this.jobs.ingestLocalFile(input);
  scanInbox: Inbox['scanInbox'] = () => this.inbox.scanInbox();
  get handleIngestJob(): IngestJobs['handleIngestJob'] {
    return this.jobs.handleIngestJob;
  }
}
