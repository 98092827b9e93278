/**
 * Stages a merge batch as files in object storage for `COPY … MANIFEST`: CSV parts of at most
 * {@link PART_ROWS} rows and a manifest naming each part as mandatory, so COPY loads exactly these
 * files or fails. The rows are encoded as they stream in; no batch is held in memory.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { UserError } from '../../errors.js';
import type { LoadStaging, SqlValue, TableColumn } from '../port.js';
import type { StagedPart } from './statements.js';

/** Rows per staged file. Redshift loads the files of a manifest in parallel, one per slice. */
export const PART_ROWS = 500_000;

/** Size of one chunk handed to the object store; parts go up as multipart streams. */
const CHUNK_CHARS = 256 * 1024;

/** Every staged file lives under this prefix of the object store (a lifecycle rule can expire leftovers). */
export const STAGING_PREFIX = '_staging';

/**
 * One value as a field of the staged CSV: NULL as an unquoted `\N` (the COPY's NULL AS), every string
 * quoted with quotes doubled (so an empty string and the string `\N` stay strings), timestamps in the
 * `YYYY-MM-DD HH:MI:SS.sss` form both Redshift and PostgreSQL read without a zone.
 */
export function stagedField(value: SqlValue, type: TableColumn['type']): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') {
    const text = type === 'timestamp' ? value.replace('T', ' ').replace(/Z$/, '') : value;
    return `"${text.replace(/"/g, '""')}"`;
  }
  return String(value);
}

/** A batch written to the store: its parts, the manifest, and how to find its load errors. */
export interface StagedBatch {
  loadId: string;
  parts: StagedPart[];
  /** Keys of every object written (parts and manifest), for clean-up. */
  keys: string[];
  manifestKey: string;
  manifestUrl: string;
  /** `s3://…/<load id>/%`: a LIKE pattern matching the batch's files in the load-error tables. */
  filePattern: string;
  rows: number;
}

/** The manifest COPY reads: every part by its full URL, each mandatory (a missing file fails the load). */
export function manifestOf(parts: readonly StagedPart[]): string {
  return `${JSON.stringify({ entries: parts.map((p) => ({ url: p.url, mandatory: true })) }, null, 2)}\n`;
}

/**
 * Writes the rows as parts and a manifest under `_staging/<table>/<load id>/`. `check` sees each row
 * first (its width, its key); a throw there or from the producer stops the staging, and what was
 * written is deleted.
 */
export async function stageBatch(
  staging: LoadStaging,
  table: string,
  columns: readonly TableColumn[],
  rows: AsyncIterable<readonly SqlValue[]> | Iterable<readonly SqlValue[]>,
  check: (row: readonly SqlValue[], index: number) => void,
  signal?: AbortSignal,
): Promise<StagedBatch> {
  const loadId = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}`;
  const dir = `${STAGING_PREFIX}/${table}/${loadId}`;
  const parts: StagedPart[] = [];
  const keys: string[] = [];
  const iterator = (Symbol.asyncIterator in rows ? rows[Symbol.asyncIterator]() : (rows as Iterable<readonly SqlValue[]>)[Symbol.iterator]()) as
    | AsyncIterator<readonly SqlValue[]>
    | Iterator<readonly SqlValue[]>;
  let index = 0;
  let done = false;
  let exhausted = false;
  // The producer's or check's own error: the store may wrap what its body stream threw.
  let failure: { error: unknown } | undefined;

  /** The CSV text of the next part: up to PART_ROWS rows pulled from the shared iterator. */
  async function* partText(counter: { rows: number }): AsyncGenerator<string> {
    let chunk = '';
    while (counter.rows < PART_ROWS) {
      let row: readonly SqlValue[];
      try {
        let next: IteratorResult<readonly SqlValue[]>;
        try {
          next = await iterator.next();
        } catch (err) {
          exhausted = true; // a producer that threw is finished
          throw err;
        }
        if (next.done) {
          exhausted = true;
          done = true;
          break;
        }
        row = next.value;
        check(row, index);
      } catch (err) {
        failure = { error: err };
        done = true;
        throw err;
      }
      let line = '';
      for (let i = 0; i < row.length; i++) line += `${stagedField(row[i], columns[i].type)},`;
      chunk += `${line}${index}\n`;
      index++;
      counter.rows++;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  try {
    while (!done) {
      if (signal?.aborted) throw signal.reason;
      const key = `${dir}/part-${String(parts.length).padStart(5, '0')}.csv`;
      const counter = { rows: 0 };
      const firstRow = index;
      keys.push(key);
      await staging.put(key, Readable.from(partText(counter)), { signal });
      if (counter.rows === 0) {
        // The producer ended exactly at a part boundary (or gave nothing): no empty file in the manifest.
        await staging.delete(key);
        keys.pop();
        break;
      }
      parts.push({ url: staging.url(key), firstRow, rows: counter.rows });
    }
    const manifestKey = `${dir}/manifest.json`;
    if (parts.length > 0) {
      keys.push(manifestKey);
      await staging.put(manifestKey, manifestOf(parts), { signal });
    }
    return { loadId, parts, keys, manifestKey, manifestUrl: staging.url(manifestKey), filePattern: `${staging.url(dir)}/%`, rows: index };
  } catch (err) {
    await removeStaged(staging, keys);
    // A store error stays what it is; an abort rejects with the signal's reason, like every merge.
    throw signal?.aborted ? signal.reason : failure ? failure.error : err;
  } finally {
    // Stop a generator producer that is still suspended (our throw, or an abort mid-part).
    if (!exhausted && typeof iterator.return === 'function') await Promise.resolve(iterator.return()).catch(() => undefined);
  }
}

/** Deletes staged objects; failures are ignored (the `_staging/` lifecycle rule expires leftovers). */
export async function removeStaged(staging: LoadStaging, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((k) => staging.delete(k).catch(() => undefined)));
}

/**
 * Reads a manifest back and opens its entries in order, as COPY would: an entry outside the store or
 * missing from it fails (every entry is mandatory). Used where the database cannot read S3 itself.
 */
export async function readManifest(staging: LoadStaging, manifestKey: string, keyOfUrl: (url: string) => string | undefined): Promise<string[]> {
  let text = '';
  for await (const chunk of await staging.get(manifestKey)) text += String(chunk);
  const parsed = JSON.parse(text) as { entries?: Array<{ url?: unknown; mandatory?: unknown }> };
  const keys: string[] = [];
  for (const entry of parsed.entries ?? []) {
    const key = typeof entry.url === 'string' ? keyOfUrl(entry.url) : undefined;
    if (key === undefined) throw new UserError('CONFIG_INVALID', `manifest ${manifestKey}: entry ${JSON.stringify(entry.url)} is not in the staging store`);
    if (entry.mandatory !== true) throw new UserError('CONFIG_INVALID', `manifest ${manifestKey}: entry ${entry.url as string} is not mandatory`);
    keys.push(key);
  }
  return keys;
}
