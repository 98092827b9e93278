/**
 * The inbox: files dropped under `inbox/<target>/` in the object store are moved to their raw key and
 * queued as ingest jobs, on a schedule (`SEXTANT_INBOX_SCAN_MS`). A file under a folder that names no
 * target is left in place and reported once.
 */
import { randomUUID } from 'node:crypto';
import type { JobRecord } from '../jobs/job-store.js';
import type { Logger } from '../log.js';
import { rawObjectKey } from '../storage/keys.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';
import type { IngestJobs } from './ingest-jobs.js';
import type { Target } from './targets.js';

/** Where files dropped for pickup land: `inbox/<target>/<file>`. */
export const INBOX_PREFIX = 'inbox/';

export class Inbox {
  /** Inbox objects already reported as naming no target. */
  readonly #warnedInbox = new Set<string>();

  constructor(
    private readonly options: { store: ObjectStore; ingest: IngestJobs; targets: ReadonlyMap<string, Target>; logger?: Logger; now: () => Date },
  ) {}

  /**
   * Picks up every object under `inbox/<target>/`: moves it to its raw key and queues one job each.
   * Objects of unknown targets are logged and left where they are.
   */
  async scanInbox(): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    const found: ObjectInfo[] = [];
    for await (const info of this.options.store.list(INBOX_PREFIX)) found.push(info);
    for (const info of found) {
      const [, targetName, ...rest] = info.key.split('/');
      const target = targetName === undefined ? undefined : this.options.targets.get(targetName);
      if (!target || rest.length === 0) {
        // Once per object, not at every scan: the file stays where it is until someone moves it.
        if (!this.#warnedInbox.has(info.key)) {
          this.#warnedInbox.add(info.key);
          this.options.logger?.warn(`inbox object ${info.key} left in place: "${targetName ?? ''}" is not a target; put it under inbox/<target>/ with one of: ${[...this.options.targets.keys()].join(', ')}`, {
            key: info.key,
          });
        }
        continue;
      }
      const id = randomUUID();
      const filename = rest[rest.length - 1];
      const key = rawObjectKey(target.name, id, filename, this.options.now());
      try {
        // Moved first: of two scanners racing for one file, only one move succeeds and queues a job.
        await this.options.store.move(info.key, key);
      } catch (err) {
        this.options.logger?.warn('inbox object could not be moved (another scan took it?)', { key: info.key, err });
        continue;
      }
      jobs.push(await this.options.ingest.createJob({ id, target, key, filename, createdBy: null, extra: { inbox: info.key } }));
    }
    return jobs;
  }

}
