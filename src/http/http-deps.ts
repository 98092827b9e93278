/**
 * Everything the HTTP server needs, handed in by the composition root (src/app.ts): the server
 * creates no adapter itself, so tests build it over real services or fakes alike.
 */
import type { Readable } from 'node:stream';
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ParseOptions, ValidationRule } from 'graphql';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config/env.js';
import type { JobQueue } from '../jobs/port.js';
import type { Logger } from '../log.js';
import type { OperationsServices } from '../resolvers/operations.js';
import type { Planner, QueryRunner } from '../resolvers/query-runner.js';
import type { RequestContext } from '../resolvers/request-context.js';
import type { ResultCache } from '../resolvers/result-cache.js';
import type { SemanticProject } from '../semantic/types.js';
import type { ObjectStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
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
  project: SemanticProject;
  warehouse: Warehouse;
  store: Pick<ObjectStore, 'ping'>;
  queue: Pick<JobQueue, 'ping'>;
  operations: OperationsServices;
  /** Embedded-mode uploads; without it `PUT /uploads/:id` answers 404. */
  uploads?: UploadReceiver;
  /** Default: every request is the keyless loopback principal. */
  authenticate?: Authenticate;
  log: Logger;
  /** Shared with ingestion, which invalidates it after loads; created when absent. */
  resultCache?: ResultCache;
  /** Created when absent. */
  metrics?: PrometheusRegistry;
  /** Created over warehouse, project and resultCache when absent. */
  runner?: QueryRunner;
  /** Replaces the semantic planner (tests). */
  plan?: Planner;
  graphql?: GraphqlExtensions;
  /** More faces registered on the same server (OData, exports, console), each a fastify plugin. */
  plugins?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
}
