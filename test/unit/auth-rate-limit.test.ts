import { describe, expect, it } from 'vitest';
import { createRateLimiter, rateLimitSubject, withRateLimit } from '../../src/auth/rate-limit.js';
import { UserError } from '../../src/errors.js';
import { LOOPBACK_PRINCIPAL } from '../../src/auth/principal.js';

/** A clock the test moves by hand: the limiter's arithmetic is checked without waiting. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('rate limiter', () => {
  it('allows a burst of perMinute requests, then refuses with a Retry-After', () => {
    const c = clock();
    const limiter = createRateLimiter({ perMinute: 60, now: c.now });
    for (let i = 0; i < 60; i++) expect(limiter.take('key:a').allowed).toBe(true);
    const refused = limiter.take('key:a');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0, limit: 60 });
  });

  it('refills at perMinute per minute', () => {
    const c = clock();
    const limiter = createRateLimiter({ perMinute: 6, now: c.now });
    for (let i = 0; i < 6; i++) limiter.take('k');
    const refused = limiter.take('k');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBe(10);
    c.advance(9_999);
    expect(limiter.take('k').allowed).toBe(false);
    c.advance(1);
    expect(limiter.take('k').allowed).toBe(true);
    c.advance(60_000 * 10);
    let allowed = 0;
    while (limiter.take('k').allowed) allowed++;
    expect(allowed).toBe(6);
  });

  it('keeps one bucket per subject', () => {
    const c = clock();
    const limiter = createRateLimiter({ perMinute: 2, now: c.now });
    limiter.take('key:a');
    limiter.take('key:a');
    expect(limiter.take('key:a').allowed).toBe(false);
    expect(limiter.take('key:b').allowed).toBe(true);
    expect(limiter.take('ip:10.0.0.1').remaining).toBe(1);
  });

  it('drops idle buckets when it holds too many, without forgetting busy ones', () => {
    const c = clock();
    const limiter = createRateLimiter({ perMinute: 2, now: c.now, maxBuckets: 3 });
    limiter.take('busy');
    limiter.take('busy');
    limiter.take('a');
    limiter.take('b');
    c.advance(30_000); // a and b refill to full; busy is one token short
    limiter.take('c'); // prunes a and b
    expect(limiter.take('busy').allowed).toBe(true);
    expect(limiter.take('busy').allowed).toBe(false);
  });

  it('names the bucket after the key, or the client address when keyless', () => {
    expect(rateLimitSubject({ keyId: 'abc', role: 'reader', teams: ['social'] }, '10.0.0.1')).toBe('key:abc');
    expect(rateLimitSubject(LOOPBACK_PRINCIPAL, '127.0.0.1')).toBe('ip:127.0.0.1');
  });
});

describe('withRateLimit', () => {
  const reader = { keyId: 'k1', role: 'reader' as const, teams: ['social'] };
  const authenticate = async (req: { headers: Record<string, string | string[] | undefined>; ip?: string }) => {
    if (req.headers.authorization === 'Bearer good') return reader;
    throw new UserError('UNAUTHENTICATED', 'bad key');
  };

  async function outcome(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'ok';
    } catch (err) {
      return err instanceof UserError ? err.code : String(err);
    }
  }

  it('counts requests per key and refuses with RATE_LIMITED and a retry delay', async () => {
    const c = clock();
    const guarded = withRateLimit(authenticate, createRateLimiter({ perMinute: 3, now: c.now }));
    const req = { headers: { authorization: 'Bearer good' }, ip: '10.0.0.1' };
    for (let i = 0; i < 3; i++) expect(await outcome(guarded(req))).toBe('ok');
    const error = await guarded(req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('RATE_LIMITED');
    expect((error as UserError).status).toBe(429);
    expect((error as UserError).details).toEqual({ retryAfterSeconds: 20, limitPerMinute: 3 });
    // Another client address does not help: the bucket belongs to the key.
    expect(await outcome(guarded({ ...req, ip: '10.0.0.2' }))).toBe('RATE_LIMITED');
    c.advance(20_000);
    expect(await outcome(guarded(req))).toBe('ok');
  });

  it('throttles refused keys per client address', async () => {
    const c = clock();
    const guarded = withRateLimit(authenticate, createRateLimiter({ perMinute: 2, now: c.now }));
    const bad = { headers: { authorization: 'Bearer guess' }, ip: '10.9.9.9' };
    expect(await outcome(guarded(bad))).toBe('UNAUTHENTICATED');
    expect(await outcome(guarded(bad))).toBe('UNAUTHENTICATED');
    expect(await outcome(guarded(bad))).toBe('RATE_LIMITED');
    expect(await outcome(guarded({ headers: { authorization: 'Bearer good' }, ip: '10.9.9.9' }))).toBe('ok');
  });
});
