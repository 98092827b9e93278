/**
 * The whole answer to a question, page by page: the service caps one `metrics` call at its row limit
 * (50,000 unless configured), and a table in Excel may hold up to a million rows. Pages are ordered by
 * every dimension, so that no row is skipped or repeated between pages. DOM-free (unit-tested).
 */
import { ApiError, type MetricsResult } from '../api.js';
import type { SemanticQueryInput } from '../question.js';

/** Rows per call unless the service says its limit is lower. */
export const PAGE_ROWS = 50_000;
/** Excel's sheet has 1,048,576 rows; the header takes one. */
export const MAX_EXCEL_ROWS = 1_048_575;

export type AskPage = (query: SemanticQueryInput & { limit: number; offset: number }) => Promise<MetricsResult>;

/** The query with an order over every dimension (those it orders by already keep their place and direction). */
export function stableOrder(query: SemanticQueryInput): SemanticQueryInput {
  const orderBy = [...(query.orderBy ?? [])];
  for (const d of query.dimensions ?? []) {
    if (!orderBy.some((o) => o.member === d.name)) orderBy.push({ member: d.name, ...(d.grain ? { grain: d.grain } : {}), direction: 'ASC' });
  }
  return orderBy.length ? { ...query, orderBy } : query;
}

/** Asks page after page until the answer is complete (or Excel's sheet is full: then `hasMore` stays true). */
export async function fetchAll(query: SemanticQueryInput, ask: AskPage, onProgress?: (rows: number) => void): Promise<MetricsResult> {
  const ordered = stableOrder(query);
  let pageRows = PAGE_ROWS;
  let rows: unknown[][] = [];
  let first: MetricsResult | undefined;
  for (;;) {
    let page: MetricsResult;
    try {
      page = await ask({ ...ordered, limit: Math.min(pageRows, MAX_EXCEL_ROWS - rows.length), offset: rows.length });
    } catch (err) {
      // A service configured with a lower cap says so ("over the maximum of 20000 rows"): use its cap.
      const cap = err instanceof ApiError && err.code === 'BAD_USER_INPUT' ? /maximum of (\d+)/.exec(err.message) : null;
      if (cap && Number(cap[1]) > 0 && Number(cap[1]) < pageRows) {
        pageRows = Number(cap[1]);
        continue;
      }
      throw err;
    }
    first ??= page;
    rows = rows.length === 0 ? page.rows : rows.concat(page.rows);
    onProgress?.(rows.length);
    if (!page.hasMore || page.rows.length === 0) return { ...first, rows, hasMore: false };
    if (rows.length >= MAX_EXCEL_ROWS) return { ...first, rows, hasMore: true };
  }
}
