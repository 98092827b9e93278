// PostGraphile 5 + pg-aggregates over the demo's social schema: the peer in bench/metrics.ts.
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { PgAggregatesPreset } from '@graphile/pg-aggregates';

/**
 * pg-aggregates' built-in time buckets are hour and day, and only for timestamp columns
 * (dist/AggregateSpecsPlugin.js); its README shows how to add more through `pgAggregateGroupBySpecs`.
 * This adds `<DATE COLUMN>_TRUNCATED_TO_MONTH` for `date` columns, so that the peer groups the heavy
 * question by month computing `date_trunc` per row, as our generated SQL does.
 */
const DateTruncatedToMonthPlugin = {
  name: 'BenchDateTruncatedToMonthPlugin',
  description: 'Group-by spec truncated-to-month for date columns',
  version: '0.0.0',
  after: ['PgAggregatesSpecsPlugin'],
  schema: {
    hooks: {
      build(build) {
        const { sql } = build;
        const { TYPES } = build.dataplanPg;
        build.pgAggregateGroupBySpecs.push({
          id: 'truncated-to-month',
          isSuitableType: (codec) => codec === TYPES.date,
          // ::timestamp as in our SQL: date_trunc on a bare date goes through timestamptz, ~20 % slower here.
          sqlWrap: (frag) => sql`date_trunc('month', ${frag}::timestamp)::date`,
          sqlWrapCodec: (codec) => codec,
        });
        return build;
      },
    },
  },
};

export default {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  plugins: [DateTruncatedToMonthPlugin],
  pgServices: [makePgService({ connectionString: process.env.BENCH_PG_URL, schemas: ['social'], poolConfig: { max: Number(process.env.BENCH_POOL ?? 10) } })],
  grafserv: { port: Number(process.env.BENCH_PORT), host: '127.0.0.1', graphiql: false },
  grafast: { explain: false },
};
