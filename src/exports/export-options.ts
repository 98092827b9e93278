/**
 * What both writers are told besides the rows, and what they answer when done.
 */
import type { Model } from '../semantic/types.js';

export const EXPORT_FILE_FORMATS = ['xlsx', 'csv'] as const;
/** A file format of an export (lower case, as in file names, the CLI and `reports/*.yml`). */
export type ExportFileFormat = (typeof EXPORT_FILE_FORMATS)[number];

/** The content type of each format. */
export const CONTENT_TYPES: Record<ExportFileFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
};

/** Excel's sheet holds 1,048,576 rows; one is the header. */
export const EXCEL_MAX_DATA_ROWS = 1_048_575;

export interface ExportOptions {
  /** The model asked, for measure definitions on the About sheet (its measures' types and SQL). */
  model?: Model;
  /** When the export was made (default: now); written in UTC. */
  generatedAt?: Date;
  /** Data rows per sheet before the XLSX goes on in a new sheet (default {@link EXCEL_MAX_DATA_ROWS}). */
  maxRowsPerSheet?: number;
  /** Called after each batch with the rows written so far. */
  onRows?: (rows: number) => void;
  /** Stops writing (the output stream is destroyed with the reason). */
  signal?: AbortSignal;
}

export interface ExportSummary {
  /** Data rows written. */
  rows: number;
  /** Names of the data sheets (XLSX), or an empty list (CSV). */
  sheets: string[];
}
