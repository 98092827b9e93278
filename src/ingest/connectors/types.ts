/**
 * What a connector type is (docs/connectors/README.md): the streams it emits with their natural keys, its settings, its
 * requester (base URL, credentials), and how it pulls one date window (or, for cursor sources, the rows
 * past a cursor) as response pages. The framework does the rest: windows, raw pages in the object store,
 * conversion, merges, state, retries, throttling. Built-in types live in `<type>/<type>.ts`; `rest` is
 * the same interface driven by YAML alone.
 */
import type { Logger } from '../../log.js';
import type { Warehouse } from '../../warehouse/port.js';
import type { Classifier, HttpClient } from './http-client.js';

/** One inclusive range of whole UTC days, `YYYY-MM-DD`. */
export interface DateWindow {
  from: string;
  to: string;
}

/** A stream a type can emit: what one record is and the fields that identify it. */
export interface StreamSpec {
  description: string;
  /** The record fields that identify a record (the target's key should read them). */
  key: readonly string[];
}

/** A validated source as loaded from `sources/<name>.yml`. */
export interface SourceConfig<S = unknown> {
  name: string;
  type: string;
  /** Cron pattern (UTC), or undefined for manual runs only. */
  schedule: string | undefined;
  /** `YYYY-MM-DD`: the first run backfills from here. */
  startDate: string | undefined;
  lookbackDays: number;
  baseUrl: string | undefined;
  /** Credential name → the environment variable it reads (never the secret itself). */
  credentials: Readonly<Record<string, string>>;
  /** The type's parsed settings. */
  settings: S;
  /** Stream → target name. */
  streams: Readonly<Record<string, string>>;
  /** `sources/<name>.yml`. */
  file: string;
}

/** Collects settings problems at a path inside `settings`. */
export type SettingsProblem = (path: string, message: string) => void;

/** One response page as received, and the records it holds (extracted only after the page is stored). */
export interface SourcePage {
  stream: string;
  /** The response body exactly as received; written to the object store before `records()` is called. */
  body: Buffer | string;
  /** The page's records; nested objects are flattened by the framework (`parent_child`). */
  records(): Array<Record<string, unknown>>;
  /** Cursor sources: the cursor after this page's rows (committed with the load of the run's last page). */
  cursor?: string;
}

/** What a type's pull gets: the source, its resolved credentials, an HTTP client with the error policy. */
export interface PullContext<S = unknown> {
  source: SourceConfig<S>;
  settings: S;
  /** Resolved secrets; never log them (the framework redacts them from every message it writes). */
  credentials: Readonly<Record<string, string>>;
  /** The source's base_url, else the type's default. */
  baseUrl: string;
  /** The streams the source maps to targets: pull only these. */
  streams: ReadonlySet<string>;
  http: HttpClient;
  signal: AbortSignal;
  log: Logger;
  /** The run's clock (tests inject one): "today" for snapshot streams. */
  now(): Date;
  /** Opens another database by URL (`postgres`, `redshift`) through the warehouse adapters; the caller closes it. */
  openDatabase?(url: string): Promise<Warehouse>;
}

/** A type that pulls by date window (marketing APIs). */
export interface WindowedConnector<S = unknown> {
  readonly mode: 'window';
  /** The widest window one request may ask for, in days (90 for Page Insights). */
  readonly maxWindowDays: number;
  /** How far back the API reaches, in days from today (runs clamp their start to it); undefined: no limit. */
  readonly maxHistoryDays?: number;
  /** The widest window of a source whose settings choose it (`rest`); default `maxWindowDays`. */
  windowDaysOf?(settings: S): number;
  pull(ctx: PullContext<S>, window: DateWindow): AsyncIterable<SourcePage>;
}

/** A type that pulls the rows past a cursor (databases). */
export interface CursorConnector<S = unknown> {
  readonly mode: 'cursor';
  /** `cursor` is the last committed cursor, or undefined on the first run. */
  pull(ctx: PullContext<S>, cursor: string | undefined): AsyncIterable<SourcePage>;
}

/** A connector type: declared once, instantiated by every `sources/*.yml` of that type. */
export type ConnectorType<S = unknown> = (WindowedConnector<S> | CursorConnector<S>) & {
  readonly name: string;
  /** One line for docs and `sextant check`. */
  readonly description: string;
  readonly defaultBaseUrl?: string;
  /** Credential names the type reads (`access_token`); each must be given as `${ENV}`. */
  readonly credentials: readonly string[];
  /** Credentials that may be left out. */
  readonly optionalCredentials?: readonly string[];
  /** The type takes credentials of any name (`rest`: its auth settings name them). */
  readonly anyCredentials?: boolean;
  readonly streams: Readonly<Record<string, StreamSpec>>;
  /** The API's own reading of responses (error codes, quota headers), tried before the defaults. */
  readonly classify?: Classifier;
  /**
   * Validates the `settings` mapping (and, for `rest`, the streams it declares); reports every problem
   * through `problem` and returns the parsed settings. `streams` is what the source maps.
   */
  parseSettings(raw: Record<string, unknown>, problem: SettingsProblem, streams: readonly string[]): S;
  /** For types whose streams come from the settings (`rest`): the streams a source of this type declares. */
  streamsOf?(settings: S): Readonly<Record<string, StreamSpec>>;
};
