/**
 * Assembles the executable schema a principal sees: the fixed SDL in schema/ plus the typed metrics
 * of the teams it may read. Built lazily per distinct team set and kept, so a `social` reader's
 * introspection holds no `email` type at all and the cost of generation is paid once per set.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { makeExecutableSchema, type IExecutableSchemaDefinition } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { REPO_ROOT } from '../config/env.js';
import type { SemanticProject } from '../semantic/types.js';
import { catalogResolvers } from './catalog.js';
import { genericMetricsResolvers } from './generic-metrics.js';
import { buildMetricsSchema } from './metrics-schema.js';
import { operationsResolvers, type OperationsServices } from './operations.js';
import type { RowLimits } from '../serving/row-limits.js';
import type { RequestContext } from './request-context.js';
import { mergeResolvers, type ResolverMap } from './resolver-map.js';
import { DateScalar, DateTimeScalar, JsonScalar, TimeValueScalar } from './scalars.js';

/** The fixed SDL files, in the order they are merged (operations declares Query and Mutation). */
export const SCHEMA_FILES = ['operations.graphql', 'metrics.graphql'] as const;

/** Reads the fixed SDL from the repository's schema/ folder. */
export function readFixedSchema(dir = resolve(REPO_ROOT, 'schema')): string[] {
  return SCHEMA_FILES.map((f) => readFileSync(resolve(dir, f), 'utf8'));
}

/** Enum values are lowercase inside (as in the models), uppercase in GraphQL. */
const TimeGrain = { HOUR: 'hour', DAY: 'day', WEEK: 'week', MONTH: 'month', QUARTER: 'quarter', YEAR: 'year' };

export interface SchemaRegistryOptions {
  project: SemanticProject;
  limits: RowLimits;
  operations: OperationsServices;
}

export class SchemaRegistry {
  private readonly schemas = new Map<string, GraphQLSchema>();
  private readonly fixed: string[];
  private readonly common: ResolverMap<RequestContext>;

  constructor(private readonly options: SchemaRegistryOptions) {
    this.fixed = readFixedSchema();
    this.common = mergeResolvers<RequestContext>(
      { Date: DateScalar, DateTime: DateTimeScalar, TimeValue: TimeValueScalar, JSON: JsonScalar, TimeGrain },
      genericMetricsResolvers(),
      catalogResolvers(),
      operationsResolvers({ services: options.operations }),
    );
  }

  /** A stable key of a team set (order-insensitive). */
  static key(teams: readonly string[]): string {
    return [...teams].sort().join(',');
  }

  /** The schema for principals that read exactly `teams`. */
  schemaFor(teams: readonly string[]): GraphQLSchema {
    const key = SchemaRegistry.key(teams);
    let schema = this.schemas.get(key);
    if (!schema) {
      const ordered = this.options.project.teams.filter((t) => teams.includes(t));
      const metrics = buildMetricsSchema(this.options.project, ordered, { limits: this.options.limits });
      schema = makeExecutableSchema<RequestContext>({
        typeDefs: [...this.fixed, metrics.typeDefs].filter((s) => s.trim() !== ''),
        resolvers: mergeResolvers(this.common, metrics.resolvers) as IExecutableSchemaDefinition<RequestContext>['resolvers'],
      });
      this.schemas.set(key, schema);
    }
    return schema;
  }
}
