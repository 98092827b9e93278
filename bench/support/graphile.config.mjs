// PostGraphile 5 + pg-aggregates over the demo's social schema: the peer in bench/metrics.ts.
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { PgAggregatesPreset } from '@graphile/pg-aggregates';

export default {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [makePgService({ connectionString: process.env.BENCH_PG_URL, schemas: ['social'], poolConfig: { max: 16 } })],
  grafserv: { port: Number(process.env.BENCH_PORT), host: '127.0.0.1', graphiql: false },
  grafast: { explain: false },
};
