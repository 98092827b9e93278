/** The row limit of a metrics query: a default, and a cap from configuration (docs/graphql.md). */
import { UserError } from '../errors.js';

export interface RowLimits {
  /** `limit` when the client gives none (1,000 unless configured). */
  defaultRows: number;
  /** The largest `limit` accepted (50,000 unless configured). */
  maxRows: number;
}

/** Checks `limit` and `offset` from a client; throws BAD_USER_INPUT saying what is allowed. */
export function resolvePage(limit: unknown, offset: unknown, limits: RowLimits): { limit: number; offset: number } {
  const l = limit === undefined || limit === null ? limits.defaultRows : limit;
  const o = offset === undefined || offset === null ? 0 : offset;
  if (typeof l !== 'number' || !Number.isInteger(l) || l < 0) {
    throw new UserError('BAD_USER_INPUT', `limit: expected a whole number from 0 to ${limits.maxRows}, got ${JSON.stringify(limit)}`);
  }
  if (l > limits.maxRows) {
    throw new UserError('BAD_USER_INPUT', `limit: ${l} is over the maximum of ${limits.maxRows} rows per query; page with offset, or use an export for more`);
  }
  if (typeof o !== 'number' || !Number.isInteger(o) || o < 0) {
    throw new UserError('BAD_USER_INPUT', `offset: expected a whole number ≥ 0, got ${JSON.stringify(offset)}`);
  }
  return { limit: Math.min(l, limits.maxRows), offset: o };
}
