/**
 * Opens the warehouse that the environment selects (SEXTANT_WAREHOUSE, parsed by config/env.ts).
 * The only module outside the adapters that knows they exist: the composition root calls it.
 */
import type { ObjectStoreUrl, WarehouseUrl } from '../config/env.js';
import { UserError } from '../errors.js';
import type { LoadStaging, RedshiftLoadOptions, Warehouse, WarehouseOptions } from './port.js';

export type { WarehouseOptions } from './port.js';

/**
 * Opens the adapter for `target`: DuckDB, PostgreSQL, or Redshift (which needs `options.redshift`). Each adapter
 * is imported when chosen: a process holds one database client (pg and DuckDB's library each cost 15–35 MB of RSS).
 */
export async function openWarehouse(target: WarehouseUrl, options: WarehouseOptions): Promise<Warehouse> {
  switch (target.kind) {
    case 'duckdb':
      return (await import('./duckdb/duckdb-warehouse.js')).openDuckDbWarehouse(target.path, options);
    case 'postgres':
      return (await import('./postgres/postgres-warehouse.js')).openPostgresWarehouse(target.url, options);
    case 'redshift':
      return (await import('./redshift/redshift-warehouse.js')).openRedshiftWarehouse(target.url, options);
  }
}

/**
 * What a Redshift warehouse loads with, from the configuration and the opened object store; undefined
 * for other warehouses. config/env.ts has already refused a Redshift warehouse without both.
 */
export async function redshiftLoadOptions(
  config: { warehouse: WarehouseUrl; objectStore: ObjectStoreUrl; redshiftIamRole: string | undefined },
  store: Pick<LoadStaging, 'put' | 'get' | 'delete'>,
): Promise<RedshiftLoadOptions | undefined> {
  if (config.warehouse.kind !== 'redshift') return undefined;
  const { objectStore, redshiftIamRole } = config;
  if (objectStore.kind !== 's3' || !redshiftIamRole) {
    throw new UserError('CONFIG_INVALID', 'A Redshift warehouse needs SEXTANT_OBJECT_STORE=s3://bucket/prefix and SEXTANT_REDSHIFT_IAM_ROLE');
  }
  const { s3Staging } = await import('./redshift/redshift-warehouse.js');
  return { staging: s3Staging(store, objectStore), iamRole: redshiftIamRole, region: objectStore.region };
}
