import type { Api, Catalog } from '../api.js';

/** What every view gets from the shell. */
export interface ViewContext {
  api: Api;
  /** The catalog of the current key (asked once per key). */
  catalog(): Promise<Catalog>;
  /** Whether the server resolves IN_DATE_RANGE itself (asked once). */
  hasInDateRange(): Promise<boolean>;
  /** The query part of the location hash (`#/ask?model=social.post_performance`). */
  params: URLSearchParams;
  /** Shows an error in `where`; on UNAUTHENTICATED also asks for the key. */
  fail(err: unknown, where: HTMLElement): void;
  /** Runs when the user leaves the view (stops polling). */
  onLeave(fn: () => void): void;
}
