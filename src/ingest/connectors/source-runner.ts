/**
 * One RUN_SOURCE job: take the source's lease, work out the days to pull (or the cursor), and for each
 * window pull every stream page by page. Each page is written to the object store before its records are
 * read (`raw/<source>/dt=<day>/<job>/<stream>/page-N.json`); records are flattened and converted by the
 * target's contract like a file's rows (`_source_object` = the page's key) and merged on the target's
 * key. The window's last merge advances the source's state in its own transaction, so a run killed at
 * any point leaves state ≤ what is loaded, and the next run re-pulls the rest (merges make that harmless).
 */
import { UserError, isUserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { JobContext } from '../../jobs/port.js';
import type { JobError, JobStore } from '../../jobs/job-store.js';
import type { ObjectStore } from '../../storage/port.js';
import type { ColumnTypeName, SqlValue, TableSpec, Warehouse } from '../../warehouse/port.js';
import { RecordConverter, columnNameForField, formatRowError, type EvolvedColumn } from '../convert.js';
import { flattenRecord } from '../parsers/json-parser.js';
import { LINEAGE_COLUMNS, tableSpecOf, type Target } from '../targets.js';
import { HttpClient, type HttpClientOptions } from './http-client.js';
import { resolveCredentials } from './source-file.js';
import type { SourceStateStore } from './state-store.js';
import type { ConnectorType, DateWindow, PullContext, SourceConfig, SourcePage } from './types.js';
import { nextState, runRange, splitWindows, utcDay } from './windows.js';

/** What a run needs; the composition root passes the real ports, tests their own clock and sleep. */
export interface SourceRunnerDeps {
  warehouse: Warehouse;
  store: ObjectStore;
  jobs: JobStore;
  state: SourceStateStore;
  targets: ReadonlyMap<string, Target>;
  sources: ReadonlyMap<string, SourceConfig>;
  types: ReadonlyMap<string, ConnectorType>;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Overrides of the HTTP client (sleep, clock, backoff) for tests and benchmarks. */
  http?: Partial<Omit<HttpClientOptions, 'source' | 'redact'>>;
  now?: () => Date;
  /** Lease of a running source (default 60 s, renewed as windows commit and every third of it). */
  lockTtlMs?: number;
  /** How often a run waiting for another run of its source checks the lease (default 1 s). */
  lockPollMs?: number;
  /** Pages whose object-store write may still run while the next pages are fetched (default {@link PAGES_IN_FLIGHT}). */
  pagesInFlight?: number;
  /**
   * A windowed run commits once this long has passed since its last commit began, or when
   * {@link COMMIT_ROWS} rows wait, or at its last window (default {@link COMMIT_EVERY_MS}; 0: every window).
   * A commit due while the previous one still runs waits for the end of a later window (the pull goes
   * on), unless {@link COMMIT_ROWS} rows wait.
   */
  commitEveryMs?: number;
  /** Opens another database for the `postgres` type (the composition root passes the warehouse adapters). */
  openDatabase?: (url: string) => Promise<Warehouse>;
  /**
   * Told which tables a run changed, after each commit (cached results drop them; the composition root
   * publishes them on the change feed, so every API process does). A failure here is logged, not thrown:
   * the load did commit.
   */
  onTablesChanged?: (tables: string[]) => Promise<void> | void;
}

/** What a RUN_SOURCE job asks. */
export interface SourceRunPayload {
  source: string;
  from?: string;
  to?: string;
}

export interface SourceRunResult {
  source: string;
  windows: number;
  pages: number;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  /** The state after the run. */
  lastCompleteDay?: string;
  cursor?: string;
  /** Columns `evolve` added to a target's table in this run, by stream. */
  addedColumns?: Record<string, string[]>;
  /** Record fields no column reads (targets without `evolve`): not loaded, by stream. */
  fieldsLeftOut?: Record<string, string[]>;
  [key: string]: unknown;
}

/**
 * Pages whose store write may run while the next pages are fetched; at most this many response bodies
 * are held. Chosen when every put was fsynced (8 in flight: 64–66 pages/s against 50–84 for 2, under
 * changing load — bench/README.md, connectors.ts); pages are now put unsynced and flushed before each
 * commit, so on the folder store a put rarely waits at all.
 */
export const PAGES_IN_FLIGHT = 8;

/**
 * How often a windowed run commits (the windows pulled since, in one go, the state moved to the last).
 * A commit costs the same for one window as for ten (a transaction per stream, the warehouse's sync, the
 * raw pages' fsyncs): per window it held a 2-year GA4 backfill to a fifth of the fetch floor
 * (bench/README.md, connectors-ga4.ts). A run killed between commits re-pulls at most this much.
 */
export const COMMIT_EVERY_MS = 5000;

/** Rows a windowed run holds before it commits whatever the time (bounds its memory). */
export const COMMIT_ROWS = 100_000;

/** Most bad values a run lists in its job record (all are counted). */
const MAX_LISTED_ERRORS = 200;

/** Most fields a stream lists as left out (a record shape gone wrong should not fill the job record). */
const MAX_LISTED_FIELDS = 50;

/**
 * A row waiting for the next commit: its values, the columns its records supplied ({@link suppliedOf}'s
 * signature, the union over the records of its key) and the pull (window) that last counted it.
 */
interface PendingRow {
  values: SqlValue[];
  supplied: string;
  counted: number;
}

/**
 * A stream's target, converter and the rows waiting for the next commit. Rows are laid out as the
 * target's columns, the lineage columns, then the columns `evolve` added in this run (in the order their
 * fields first appeared). A key has one row until the commit: a later record of the key sets the columns
 * it supplies over the earlier one's. At the commit rows are merged in batches by the columns they were
 * supplied (see {@link suppliedOf}), each setting only those columns, so a re-pull never writes NULL over
 * a column its record did not carry.
 */
interface Sink {
  stream: string;
  target: Target;
  converter: RecordConverter;
  columns: string[];
  keepAsJson: Set<string>;
  /** The rows waiting for the next commit, by key ({@link keyOf}). */
  rows: Map<string, PendingRow>;
  /** Where the target's key columns are in a row. */
  keyAt: number[];
  /** {@link suppliedOf}'s signature before a record's fields: the key columns and those with a default. */
  alwaysSupplied?: string[];
  pages: number;
  /** `evolve`: the columns added for fields the target does not know, and every column name taken. */
  evolved: EvolvedColumn[];
  taken: Set<string>;
  /** Column types of the table when the run started (an evolved column keeps the type it was given). */
  existing: Map<string, ColumnTypeName>;
  /** How many of `evolved` the table already has (ensured before a merge). */
  ensured: number;
  /** Without `evolve`: fields no column reads (not loaded). */
  leftOut: Set<string>;
}

/** The table spec of a sink: the target's, plus its evolved columns. */
function specOf(sink: Sink): TableSpec {
  const spec = tableSpecOf(sink.target);
  for (const e of sink.evolved) spec.columns.push({ name: e.name, type: e.type });
  return spec;
}

/**
 * Finds the fields of a flattened record that no column of the sink reads. With `evolve` each becomes
 * a nullable column (string, or json for a list), named like a file's (docs/targets.md); without it the
 * field is noted as left out. Arrays (kept for this check) become JSON text either way.
 */
function evolveFields(sink: Sink, record: Record<string, unknown>): void {
  let added = false;
  for (const field in record) {
    const value = record[field];
    const isList = Array.isArray(value);
    if (isList) record[field] = JSON.stringify(value);
    if (sink.converter.columnIndexOf(field) !== undefined) continue;
    if (!sink.target.evolve) {
      if (sink.leftOut.size < MAX_LISTED_FIELDS) sink.leftOut.add(field);
      continue;
    }
    const name = columnNameForField(field);
    // A field whose column name is already taken (another spelling of a known field) is not loaded, as for files.
    if (sink.taken.has(name)) continue;
    const had = sink.existing.get(name);
    sink.evolved.push({ name, field, type: (had ?? (isList ? 'json' : 'string')) === 'json' ? 'json' : 'string' });
    sink.taken.add(name);
    sink.columns.push(name);
    added = true;
  }
  if (added) sink.converter = new RecordConverter(sink.target, sink.evolved);
}

/**
 * Which of the sink's columns a record supplies, as a signature ('1' or '0' per converter column): a
 * column whose field the record has (null included), a key column, or one with a `default` (the record
 * gets the default). The lineage columns are always supplied.
 */
function suppliedOf(sink: Sink, record: Record<string, unknown>): string {
  const width = sink.converter.columns.length;
  if (sink.alwaysSupplied?.length !== width) {
    const base = new Array<string>(width).fill('0');
    sink.target.columns.forEach((c, i) => {
      if (sink.target.key.includes(c.name) || (c.default !== undefined && c.default !== null)) base[i] = '1';
    });
    sink.alwaysSupplied = base;
  }
  const present = sink.alwaysSupplied.slice();
  for (const field in record) {
    if (record[field] === undefined) continue;
    const i = sink.converter.columnIndexOf(field);
    if (i !== undefined) present[i] = '1';
  }
  return present.join('');
}

/** True when no field of the record is an object other than a list (nothing for flattenRecord to do). */
function isFlat(record: Record<string, unknown>): boolean {
  for (const field in record) {
    const v = record[field];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return false;
  }
  return true;
}

/** A row's key as one string (values of the key columns, which are never null). */
function keyOf(sink: Sink, values: readonly SqlValue[]): string {
  const at = sink.keyAt;
  if (at.length === 1) return String(values[at[0]]);
  let id = String(values[at[0]]);
  for (let k = 1; k < at.length; k++) id += `\u0001${String(values[at[k]])}`;
  return id;
}

/**
 * A later record of a pending row's key: the columns it supplies, and the lineage, replace the earlier
 * values; the others stay. The row is then supplied the columns either supplied.
 */
function overlay(sink: Sink, row: PendingRow, values: SqlValue[], supplied: string): void {
  const width = sink.target.columns.length;
  const lineage = LINEAGE_COLUMNS.length;
  // A row converted before `evolve` added a column is shorter: NULL there, not a hole.
  while (row.values.length < values.length) row.values.push(null);
  for (let i = 0; i < supplied.length; i++) {
    if (supplied[i] !== '1') continue;
    const at = i < width ? i : i + lineage;
    row.values[at] = values[at];
  }
  for (let l = 0; l < lineage; l++) row.values[width + l] = values[width + l];
  let union = '';
  for (let i = 0; i < Math.max(supplied.length, row.supplied.length); i++) union += supplied[i] === '1' || row.supplied[i] === '1' ? '1' : '0';
  row.supplied = union;
}

/**
 * The columns a batch merges and its rows cut to them. A row is laid out as the sink's columns (target
 * columns, lineage, evolved); one converted before an evolved column was added is shorter.
 */
function suppliedRows(sink: Sink, supplied: string, rows: SqlValue[][]): { columns: string[]; rows: SqlValue[][] } {
  const width = sink.target.columns.length;
  const lineage = LINEAGE_COLUMNS.length;
  // Sink column index of each converter column: target columns first, evolved ones after the lineage.
  const at = (i: number) => (i < width ? i : i + lineage);
  const picked: number[] = [];
  for (let i = 0; i < width; i++) if (supplied[i] === '1') picked.push(i);
  for (let l = 0; l < lineage; l++) picked.push(width + l);
  for (let i = width; i < supplied.length; i++) if (supplied[i] === '1') picked.push(at(i));
  const columns = picked.map((c) => sink.columns[c]);
  if (picked.length === sink.columns.length) {
    for (const row of rows) while (row.length < picked.length) row.push(null);
    return { columns, rows };
  }
  return { columns, rows: rows.map((row) => picked.map((c) => row[c] ?? null)) };
}

/** Replaces every credential value (and its URL-encoded form) in a text. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = [...new Set(secrets.filter((s) => s.length >= 4).flatMap((s) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const n of needles) out = out.split(n).join('[redacted]');
    return out;
  };
}

/**
 * `SEXTANT_SOURCE_<NAME>_BASE_URL` replaces a source's base_url at run time: how the example project's
 * sources are pointed at the local fakes (`npm run fakes`) or a proxy without editing their files.
 */
export function baseUrlOverride(source: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = env[`SEXTANT_SOURCE_${source.toUpperCase()}_BASE_URL`];
  return value && /^https?:\/\//.test(value) ? value : undefined;
}

function utcTimestamp(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

/** Runs one RUN_SOURCE job. See the module comment. */
export async function runSourceJob(deps: SourceRunnerDeps, ctx: Pick<JobContext, 'id' | 'payload' | 'signal' | 'progress'>): Promise<SourceRunResult> {
  const payload = ctx.payload as unknown as SourceRunPayload;
  const source = deps.sources.get(payload.source);
  if (!source) throw new UserError('UNKNOWN_SOURCE', `no source named "${String(payload.source)}"; expected one of: ${[...deps.sources.keys()].sort().join(', ') || '(none)'}`);
  const type = deps.types.get(source.type);
  if (!type) throw new UserError('UNKNOWN_SOURCE', `source "${source.name}" has type "${source.type}", which this version does not know`);
  const credentials = resolveCredentials(source, deps.env);
  const redact = redactor(Object.values(credentials));
  try {
    return await runLocked(deps, ctx, source, type, credentials, redact, payload);
  } catch (err) {
    // Whatever failed, its message may quote a request or a response: the job record, the logs and
    // Slack get the redacted text only, and no cause chain that could still hold the secret.
    if (ctx.signal.aborted && err === ctx.signal.reason) throw err;
    const message = redact(err instanceof Error ? err.message : String(err));
    if (isUserError(err)) throw new UserError(err.code, message, { problems: err.problems.map((p) => ({ ...p, message: redact(p.message) })) });
    const safe = new Error(message.startsWith(`source "${source.name}"`) ? message : `source "${source.name}": ${message}`);
    safe.name = err instanceof Error ? err.name : 'Error';
    throw safe;
  }
}

async function runLocked(
  deps: SourceRunnerDeps,
  ctx: Pick<JobContext, 'id' | 'payload' | 'signal' | 'progress'>,
  source: SourceConfig,
  type: ConnectorType,
  credentials: Record<string, string>,
  redact: (t: string) => string,
  payload: SourceRunPayload,
): Promise<SourceRunResult> {
  const ttl = deps.lockTtlMs ?? 60_000;
  const poll = deps.lockPollMs ?? 1000;
  const log = deps.log.child({ source: source.name, job: ctx.id });
  // Runs of one source never overlap: wait for the other run (a backfill behind a scheduled run) to end.
  while (!(await deps.state.tryLock(source.name, ctx.id, ttl))) {
    ctx.signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, poll));
  }
  const renewer = setInterval(() => void deps.state.renew(source.name, ctx.id, ttl).catch(() => undefined), Math.max(100, Math.floor(ttl / 3)));
  renewer.unref();
  try {
    return await pullAndLoad(deps, ctx, source, type, credentials, redact, payload, log);
  } finally {
    clearInterval(renewer);
    await deps.state.unlock(source.name, ctx.id).catch(() => undefined);
  }
}

async function pullAndLoad(
  deps: SourceRunnerDeps,
  ctx: Pick<JobContext, 'id' | 'signal' | 'progress'>,
  source: SourceConfig,
  type: ConnectorType,
  credentials: Record<string, string>,
  redact: (t: string) => string,
  payload: SourceRunPayload,
  log: Logger,
): Promise<SourceRunResult> {
  const now = deps.now ?? (() => new Date());
  const runDay = utcDay(now());
  const http = new HttpClient({
    ...(type.classify ? { classify: type.classify } : {}),
    ...deps.http,
    source: source.name,
    redact,
    onWait: (w) => {
      log.info('waiting before retrying a request', { stream: w.stream, reason: w.reason, waitMs: w.waitMs, attempt: w.attempt });
      deps.http?.onWait?.(w);
    },
  });
  const pullCtx: PullContext = {
    source,
    settings: source.settings,
    credentials,
    baseUrl: (baseUrlOverride(source.name, deps.env ?? process.env) ?? source.baseUrl ?? type.defaultBaseUrl ?? '').replace(/\/+$/, ''),
    streams: new Set(Object.keys(source.streams)),
    http,
    signal: ctx.signal,
    log,
    now,
    ...(deps.openDatabase ? { openDatabase: deps.openDatabase } : {}),
  };

  const sinks = new Map<string, Sink>();
  for (const [stream, targetName] of Object.entries(source.streams)) {
    const target = deps.targets.get(targetName);
    if (!target) throw new UserError('UNKNOWN_TARGET', `source "${source.name}": stream ${stream} writes to target "${targetName}", which does not exist`);
    await deps.warehouse.ensureTable(tableSpecOf(target));
    const converter = new RecordConverter(target);
    const columns = [...converter.columns, ...LINEAGE_COLUMNS.map((c) => c.name)];
    const existing = target.evolve ? new Map(((await deps.warehouse.describeTable(target.table)) ?? []).map((c) => [c.name, c.type] as const)) : new Map<string, ColumnTypeName>();
    sinks.set(stream, {
      stream,
      target,
      converter,
      columns,
      keepAsJson: new Set(target.columns.filter((c) => c.type === 'json').map((c) => (c.from ?? c.name).trim().toLowerCase())),
      rows: new Map(),
      keyAt: target.key.map((k) => target.columns.findIndex((c) => c.name === k)),
      pages: 0,
      evolved: [],
      taken: new Set(columns),
      existing,
      ensured: 0,
      leftOut: new Set(),
    });
  }

  const rawPrefix = `raw/${source.name}/dt=${runDay}/${ctx.id}/`;
  const totals = { windows: 0, pages: 0, rowsRead: 0, rowsLoaded: 0, rowsRejected: 0 };
  const errors: JobError[] = [];
  const loadedAt = utcTimestamp(now());

  /** Keys put without a sync since the last commit: flushed before it, so state never outruns the raw pages. */
  let unflushed: string[] = [];
  /** Rows (distinct keys) waiting since the last commit began. */
  let buffered = 0;
  /** Pulls so far (a window's, or a cursor run's): a key counts once per pull in `rowsLoaded`. */
  let pulls = 0;
  /** Rows the next commit loads, counted per pull: what `rowsLoaded` adds when it commits. */
  let toLoad = 0;

  /** Writes the page to the store (the caller awaits it before reading the page's records). */
  const storePage = (page: SourcePage): { key: string; stored: Promise<unknown> } | undefined => {
    const sink = sinks.get(page.stream);
    if (!sink) return undefined;
    sink.pages++;
    totals.pages++;
    const key = `${rawPrefix}${page.stream}/page-${sink.pages}.json`;
    // Visible now, durable at the window's flush (before its commit): one fsync per window, not per page.
    if (deps.store.flush) unflushed.push(key);
    return { key, stored: deps.store.put(key, page.body, { contentType: 'application/json', signal: ctx.signal, sync: false }) };
  };

  /** Converts a stored page's records into its stream's sink. */
  const convertPage = (page: SourcePage, key: string): void => {
    const sink = sinks.get(page.stream)!;
    let records: Array<Record<string, unknown>>;
    try {
      records = page.records();
    } catch (err) {
      throw new UserError('INPUT_INVALID', `source "${source.name}", stream ${page.stream}: ${key}: the response does not have the expected shape (${(err as Error).message}); the page is kept in the object store`);
    }
    const width = sink.target.columns.length;
    let n = 0;
    for (const record of records) {
      n++;
      totals.rowsRead++;
      // Most records (insights, metrics) are flat already: taken as they are rather than copied.
      const flat = isFlat(record) ? record : flattenRecord(record, sink.keepAsJson, true);
      evolveFields(sink, flat);
      const converted = sink.converter.convert(n, flat);
      if (converted.ok) {
        const values = converted.values;
        if (values.length === width) values.push(ctx.id, loadedAt, key);
        else values.splice(width, 0, ctx.id, loadedAt, key);
        const supplied = suppliedOf(sink, flat);
        const id = keyOf(sink, values);
        const had = sink.rows.get(id);
        if (!had) {
          sink.rows.set(id, { values, supplied, counted: pulls });
          buffered++;
          toLoad++;
        } else {
          overlay(sink, had, values, supplied);
          if (had.counted !== pulls) {
            had.counted = pulls;
            toLoad++;
          }
        }
      } else if (sink.target.onError === 'reject') {
        const first = converted.errors[0];
        throw new UserError('ROW_INVALID', `source "${source.name}", stream ${page.stream}: ${key}, record ${formatRowError(first).replace(/^line /, '')}`, {
          problems: converted.errors.map((e) => ({ file: key, line: e.line, column: e.column, message: e.message })),
        });
      } else {
        totals.rowsRejected++;
        for (const e of converted.errors) if (errors.length < MAX_LISTED_ERRORS) errors.push({ line: e.line, column: e.column, message: `${key}: ${e.message}` });
      }
    }
  };

  /**
   * Takes every page of `pages`: each is stored, then its records read — never before its own write
   * completed. The store's write is the slow part (an fsync, an S3 PUT), so up to
   * {@link PAGES_IN_FLIGHT} writes run while the next pages are fetched; records are still read in page
   * order. `between` runs before each page but the first (cursor runs commit there), after every
   * earlier page was read.
   */
  const drain = async (pages: AsyncIterable<SourcePage>, between?: () => Promise<void>): Promise<{ last?: string }> => {
    const inFlight: Array<{ page: SourcePage; key: string; stored: Promise<unknown> }> = [];
    let last: string | undefined;
    pulls++;
    const settleOldest = async (): Promise<void> => {
      const oldest = inFlight.shift()!;
      await oldest.stored;
      convertPage(oldest.page, oldest.key);
    };
    let first = true;
    const iterator = pages[Symbol.asyncIterator]();
    let ahead: Promise<IteratorResult<SourcePage>> | undefined;
    let done = false;
    try {
      for (;;) {
        const result = await (ahead ?? iterator.next());
        if (result.done) {
          done = true;
          break;
        }
        const page = result.value;
        // Pipelining: the next page's request goes out now, and is answered while this one is stored and read.
        ahead = iterator.next();
        ahead.catch(() => undefined);
        if (!first && between) {
          while (inFlight.length > 0) await settleOldest();
          await between();
        }
        first = false;
        const stored = storePage(page);
        if (stored) {
          // Handled by settleOldest (or dropped with the run when an earlier page fails).
          stored.stored.catch(() => undefined);
          inFlight.push({ page, ...stored });
        }
        if (page.cursor !== undefined) last = page.cursor;
        if (inFlight.length >= (deps.pagesInFlight ?? PAGES_IN_FLIGHT)) await settleOldest();
      }
      while (inFlight.length > 0) await settleOldest();
    } finally {
      // A failed run leaves no write behind it unawaited (the pages already sent stay in the store),
      // and no request of the source behind it: the one read ahead ends, then the pull is closed.
      await Promise.allSettled(inFlight.map((f) => f.stored));
      if (!done) {
        await ahead?.catch(() => undefined);
        await iterator.return?.(undefined).catch(() => undefined);
      }
    }
    return { last };
  };

  /**
   * Merges every stream's rows of the window; the last merge carries the state forward. Then the
   * tables it changed are announced (the change feed), window by window, so a long backfill's committed
   * windows are visible to every API process at once rather than when the run ends.
   */
  const commit = async (state: { lastCompleteDay?: string; cursor?: string } | undefined): Promise<void> => {
    // Taken before the first await: the next window's pages may be read while this commit runs.
    const pending: Array<{ sink: Sink; supplied: string; rows: SqlValue[][] }> = [];
    for (const sink of sinks.values()) {
      const batches = new Map<string, SqlValue[][]>();
      for (const row of sink.rows.values()) {
        const batch = batches.get(row.supplied);
        if (batch) batch.push(row.values);
        else batches.set(row.supplied, [row.values]);
      }
      for (const [supplied, rows] of batches) pending.push({ sink, supplied, rows });
      sink.rows = new Map();
    }
    const loading = toLoad;
    buffered = 0;
    toLoad = 0;
    const keys = unflushed;
    unflushed = [];
    if (keys.length > 0) await deps.store.flush!(keys);
    const advance = state ? (tx: Parameters<NonNullable<Parameters<Warehouse['merge']>[0]['afterMerge']>>[0]) => deps.state.advance(tx, source.name, state, ctx.id) : undefined;
    const tables = new Set<string>();
    for (let i = 0; i < pending.length; i++) {
      const { sink, supplied, rows } = pending[i];
      const spec = specOf(sink);
      if (sink.ensured < sink.evolved.length) {
        // The new columns exist before the merge stages rows for them (nullable: older rows read NULL).
        await deps.warehouse.ensureTable(spec);
        const added = sink.evolved.slice(sink.ensured).filter((e) => !sink.existing.has(e.name));
        if (added.length > 0) log.info('evolve: added columns to the table', { stream: sink.stream, table: sink.target.table, columns: added.map((e) => e.name) });
        sink.ensured = sink.evolved.length;
      }
      const { columns, rows: projected } = suppliedRows(sink, supplied, rows);
      await deps.warehouse.merge({
        spec,
        columns,
        rows: projected,
        signal: ctx.signal,
        ...(i === pending.length - 1 && advance ? { afterMerge: advance } : {}),
      });
      tables.add(sink.target.table);
    }
    totals.rowsLoaded += loading;
    if (pending.length === 0 && advance) await deps.warehouse.transaction(advance);
    if (tables.size > 0 && deps.onTablesChanged) {
      try {
        await deps.onTablesChanged([...tables]);
      } catch (err) {
        log.warn('could not announce the changed tables; cached results may stay stale until their TTL', { tables: [...tables], err });
      }
    }
  };

  const report = async (percent: number): Promise<void> => {
    await deps.jobs.update(ctx.id, { rowsRead: totals.rowsRead, rowsLoaded: totals.rowsLoaded, rowsRejected: totals.rowsRejected, rawObjects: [rawPrefix], errors });
    await ctx.progress(percent);
  };

  const before = await deps.state.get(source.name);
  let lastCompleteDay = before?.lastCompleteDay;
  let cursor = before?.cursor;

  if (type.mode === 'window') {
    const range = runRange({
      lastCompleteDay,
      startDate: source.startDate,
      lookbackDays: source.lookbackDays,
      from: payload.from,
      to: payload.to,
      today: runDay,
      maxHistoryDays: type.maxHistoryDays,
    });
    const windows = range ? splitWindows(range, type.windowDaysOf?.(source.settings) ?? type.maxWindowDays) : [];
    log.info('source run', { from: range?.from, to: range?.to, windows: windows.length });
    await report(0);
    // Windows are committed together every COMMIT_EVERY_MS (the state moves to the last of them), and a
    // commit runs while the next windows are pulled; commits still run one after another, in window
    // order, so the state only ever advances over committed windows. A run ends (or fails) only after
    // the commit in flight has ended.
    const every = deps.commitEveryMs ?? COMMIT_EVERY_MS;
    let committing: Promise<void> | undefined;
    let commitRunning = false;
    let committedDay = lastCompleteDay;
    let lastCommitAt = performance.now();
    let uncommitted = 0;
    try {
      for (const [i, window] of windows.entries()) {
        ctx.signal.throwIfAborted();
        await drain(type.pull(pullCtx, window));
        lastCompleteDay = nextState(lastCompleteDay, source.startDate, window as DateWindow);
        uncommitted++;
        const lastWindow = i === windows.length - 1;
        if (!lastWindow && performance.now() - lastCommitAt < every && buffered < COMMIT_ROWS) continue;
        // A commit due while the previous one still runs waits for the next window, unless the rows
        // waiting need bounding: the pull goes on rather than stand idle behind the warehouse.
        if (!lastWindow && commitRunning && buffered < COMMIT_ROWS) continue;
        const state = lastCompleteDay !== committedDay ? { lastCompleteDay } : undefined;
        committedDay = lastCompleteDay;
        const group = uncommitted;
        uncommitted = 0;
        await committing;
        lastCommitAt = performance.now();
        commitRunning = true;
        committing = commit(state)
          .then(async () => {
            totals.windows += group;
            await deps.state.renew(source.name, ctx.id, deps.lockTtlMs ?? 60_000);
            await report(Math.floor((totals.windows / windows.length) * 100));
          })
          .finally(() => {
            commitRunning = false;
          });
        // Awaited before the next commit or after the loop; a failure is thrown there.
        committing.catch(() => undefined);
      }
      await committing;
    } finally {
      await committing?.catch(() => undefined);
    }
  } else {
    await report(0);
    // Rows are merged page by page (idempotent); the cursor moves only with the last page, because rows
    // sharing the last cursor value may still be unread when a run stops between pages.
    const { last } = await drain(type.pull(pullCtx, cursor), async () => {
      await commit(undefined);
      await report(0);
    });
    await commit(last !== undefined ? { cursor: last } : undefined);
    if (last !== undefined) cursor = last;
    totals.windows = 1;
    await report(100);
  }

  const addedColumns: Record<string, string[]> = {};
  const fieldsLeftOut: Record<string, string[]> = {};
  for (const sink of sinks.values()) {
    if (sink.evolved.length > 0) addedColumns[sink.stream] = sink.evolved.filter((e) => !sink.existing.has(e.name)).map((e) => e.name);
    if (sink.leftOut.size > 0) {
      fieldsLeftOut[sink.stream] = [...sink.leftOut].sort();
      log.info('record fields no column of the target reads were not loaded (set evolve: true on the target to add them)', { stream: sink.stream, target: sink.target.name, fields: fieldsLeftOut[sink.stream] });
    }
  }
  return {
    source: source.name,
    ...totals,
    ...(lastCompleteDay ? { lastCompleteDay } : {}),
    ...(cursor ? { cursor } : {}),
    ...(Object.keys(addedColumns).length ? { addedColumns } : {}),
    ...(Object.keys(fieldsLeftOut).length ? { fieldsLeftOut } : {}),
    rawPrefix,
  };
}
