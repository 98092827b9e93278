/** When a failed attempt is tried again, shared by both queues so that they retry alike. */
import { isUserError } from '../errors.js';
import { UnrecoverableJobError } from './port.js';
import type { JobRequest } from './port.js';

/** Attempts in all when a request does not say (JobRequest.attempts). */
export const DEFAULT_ATTEMPTS = 3;
/** First retry delay when a request does not say (JobRequest.backoffMs). */
export const DEFAULT_BACKOFF_MS = 1000;

/** Bad input, an unknown target or a cancellation: a retry would fail the same way. */
export function isUnrecoverable(error: unknown): boolean {
  return error instanceof UnrecoverableJobError || isUserError(error);
}

/** Delay before attempt `failedAttempt + 1`: backoffMs · 2^(failedAttempt − 1), as BullMQ's exponential backoff. */
export function retryDelayMs(request: Pick<JobRequest, 'backoffMs'>, failedAttempt: number): number {
  return (request.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** Math.max(0, failedAttempt - 1);
}

/** Anything thrown, as an Error (handlers are told to throw Errors; some throw strings). */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
