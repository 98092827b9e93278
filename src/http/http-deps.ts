/**
 * Everything the HTTP server needs, handed in by the composition root (src/main.ts): the server
 * creates no adapter itself, so tests build it over real services or fakes alike.
 */
import type { Readable } from 'node:stream';
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ParseOptions, ValidationRule } from 'graphql';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config/env.js';
import type { Logger } from '../log.js';
import type { OperationsServices } from '../resolvers/operations.js';
import type { RequestContext } from '../resolvers/request-context.js';
import type { SemanticProject } from '../semantic/types.js';
import type { Serving } from '../serving/types.js';
import type { PrometheusRegistry } from './prometheus.js';

/** Receives the bytes of `PUT /uploads/:id` (the ingestion service, in embedded mode). */
export interface UploadReceiver {
  /**
   * Checks the signature and expiry of the URL, then stores the body (a stream, already limited to
   * `limits.maxUploadBytes`). Throws UserError (FORBIDDEN, NOT_FOUND, PAYLOAD_TOO_LARGE, …) to refuse.
   */
  receiveUpload(input: { id: string; sig: string; exp: string; body: Readable; contentType: string | undefined; contentLength?: number }): Promise<unknown>;
}

/** Turns a request into its principal, or throws UserError UNAUTHENTICATED / FORBIDDEN. */
export type Authenticate = (request: FastifyRequest) => Promise<Principal>;

/** Hooks for the GraphQL endpoint: where query limits (depth, aliases, cost) plug in. */
export interface GraphqlExtensions {
  validationRules?: ValidationRule[];
  plugins?: ApolloServerPlugin<RequestContext>[];
  parseOptions?: ParseOptions;
}

export interface HttpDeps {
  config: Config;
  /** The models, for the schema of each team set (the typed GraphQL API is generated from them). */
  project: SemanticProject;
  /** Every question of every face goes through it. */
  serving: Serving;
  /** Dependencies `/health/ready` checks, by name (warehouse, object store, queue). */
  checks: Record<string, () => Promise<void>>;
  operations: OperationsServices;
  /** Embedded-mode uploads; without it `PUT /uploads/:id` answers 404. */
  uploads?: UploadReceiver;
  /** Default: every request is the keyless loopback principal. */
  authenticate?: Authenticate;
  log: Logger;
  /** Created when absent. */
  metrics?: PrometheusRegistry;
  graphql?: GraphqlExtensions;
  /** More faces registered on the same server (OData, exports, console), each a fastify plugin. */
  plugins?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
}
