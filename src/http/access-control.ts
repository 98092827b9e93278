/**
 * Access control assembled for the HTTP server: the authenticator (keys, keyless loopback mode) behind
 * the per-key rate limit, and the GraphQL operation limits. The composition root spreads the result
 * into `HttpDeps`: `buildHttpServer({ ...deps, ...createAccessControl({ keys, config }) })`.
 */
import type { ParseOptions, ValidationRule } from 'graphql';
import type { Config } from '../config/env.js';
import { createAuthenticator, type Authenticator } from '../auth/authenticate.js';
import type { KeyStore } from '../auth/key-store.js';
import { createRateLimiter, withRateLimit, type RateLimiter } from '../auth/rate-limit.js';
import { graphqlLimitRules, graphqlParseOptions } from './limits/graphql-limits.js';

/** What {@link createAccessControl} hands to the server. */
export interface AccessControl {
  authenticate: Authenticator;
  graphql: { validationRules: ValidationRule[]; parseOptions: ParseOptions };
  limiter: RateLimiter;
}

/** Builds the authenticator, rate limiter and GraphQL limits of one server. */
export function createAccessControl(deps: {
  keys: Pick<KeyStore, 'verify' | 'countCached'>;
  config: Pick<Config, 'limits'>;
  /** Replaces the limiter (tests use a clock of their own). */
  limiter?: RateLimiter;
}): AccessControl {
  const limiter = deps.limiter ?? createRateLimiter({ perMinute: deps.config.limits.rateLimitPerMinute });
  const authenticate = createAuthenticator({ keys: deps.keys, allowKeyless: async () => (await deps.keys.countCached()) === 0 });
  return {
    authenticate: withRateLimit(authenticate, limiter),
    graphql: { validationRules: graphqlLimitRules(deps.config), parseOptions: graphqlParseOptions(deps.config) },
    limiter,
  };
}
