/** What every input parser yields, and the options they share. */

/** One input record and where it starts. */
export interface ParsedRecord {
  /** Physical line where the record starts; the CSV header is line 1. */
  line: number;
  /** Field name (CSV header as written, trimmed; flattened JSON path) → value. */
  record: Record<string, unknown>;
}

/** Default cap on one field (CSV) or one string/number (JSON): 1 MiB of text. */
export const DEFAULT_MAX_FIELD_BYTES = 1024 * 1024;

/** Options every parser takes. */
export interface ParseOptions {
  /** Name of the input in error messages (the upload's file name or the object key). */
  file: string;
  /** Largest field accepted; a longer one is INPUT_INVALID instead of an unbounded buffer. */
  maxFieldBytes?: number;
  /** Called once with the CSV header's field names (trimmed), before the first record. */
  onHeader?: (fields: string[]) => void;
  /**
   * JSON only: flattened field names (compared case-insensitively) whose nested objects are kept
   * whole as JSON text instead of being flattened — the target's `json` columns.
   */
  keepAsJson?: ReadonlySet<string>;
  /** JSON only: keep arrays as arrays instead of JSON text (to tell them apart when scanning fields). Default false. */
  keepArrays?: boolean;
}
