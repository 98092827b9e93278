/**
 * A token bucket per API key (or per client address in keyless mode): `perMinute` requests a minute on
 * average, with bursts of up to `perMinute`. In memory, per process — the same trade-off as Hasura's
 * non-Redis rate limit: a deployment with N API processes allows N times the rate.
 */
import { UserError } from '../errors.js';
import type { Authenticator } from './authenticate.js';
import type { Principal } from './principal.js';

/** The limiter's answer for one request. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Whole seconds until one request is allowed again (0 when allowed); for the `Retry-After` header. */
  retryAfterSeconds: number;
  /** Requests left in the bucket after this one. */
  remaining: number;
  /** The bucket size, for `RateLimit-Limit`-style headers. */
  limit: number;
}

export interface RateLimiter {
  /** Takes one token from the bucket of `subject`. */
  take(subject: string): RateLimitDecision;
}

export interface RateLimiterOptions {
  perMinute: number;
  /** Clock in ms, for tests. */
  now?: () => number;
  /** Buckets kept before idle (full) ones are dropped; bounds memory under many client addresses. */
  maxBuckets?: number;
}

/** The bucket a request counts against: its key, or its client address when keyless. */
export function rateLimitSubject(principal: Principal, ip: string | undefined): string {
  return principal.keyId !== undefined ? `key:${principal.keyId}` : `ip:${ip ?? 'unknown'}`;
}

/** Creates an in-memory token-bucket limiter. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const capacity = options.perMinute;
  const perMs = options.perMinute / 60_000;
  const now = options.now ?? Date.now;
  const maxBuckets = options.maxBuckets ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const refill = (b: { tokens: number; at: number }, t: number): void => {
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    b.at = t;
  };

  const prune = (t: number): void => {
    for (const [subject, b] of buckets) {
      refill(b, t);
      if (b.tokens >= capacity) buckets.delete(subject);
    }
  };

  return {
    take(subject) {
      const t = now();
      let b = buckets.get(subject);
      if (!b) {
        if (buckets.size >= maxBuckets) prune(t);
        b = { tokens: capacity, at: t };
        buckets.set(subject, b);
      } else {
        refill(b, t);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(b.tokens), limit: capacity };
      }
      const waitMs = (1 - b.tokens) / perMs;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), remaining: 0, limit: capacity };
    },
  };
}

/**
 * Wraps an authenticator so that every authenticated request takes a token from its key's bucket (or
 * its client address's, when keyless), and every refused one from its address's bucket — so that
 * guessing keys is throttled too. Over the limit it throws RATE_LIMITED with `details.retryAfterSeconds`,
 * which the HTTP layer sends as `Retry-After`.
 */
export function withRateLimit(authenticate: Authenticator, limiter: RateLimiter): Authenticator {
  const refuse = (decision: RateLimitDecision): UserError =>
    new UserError(
      'RATE_LIMITED',
      `too many requests: the limit is ${decision.limit} requests a minute per API key; retry in ${decision.retryAfterSeconds} s`,
      { details: { retryAfterSeconds: decision.retryAfterSeconds, limitPerMinute: decision.limit } },
    );
  return async (req) => {
    let principal: Principal;
    try {
      principal = await authenticate(req);
    } catch (err) {
      if (err instanceof UserError && err.code === 'UNAUTHENTICATED') {
        const decision = limiter.take(`ip:${req.ip ?? 'unknown'}`);
        if (!decision.allowed) throw refuse(decision);
      }
      throw err;
    }
    const decision = limiter.take(rateLimitSubject(principal, req.ip));
    if (!decision.allowed) throw refuse(decision);
    return principal;
  };
}
