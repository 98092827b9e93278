/**
 * Opens the warehouse that the environment selects (SEXTANT_WAREHOUSE, parsed by config/env.ts).
 * The only module outside the adapters that knows they exist: the composition root calls it.
 */
import type { WarehouseUrl } from '../config/env.js';
import { openDuckDbWarehouse } from './duckdb/duckdb-warehouse.js';
import type { Warehouse, WarehouseOptions } from './port.js';
import { openPostgresWarehouse } from './postgres/postgres-warehouse.js';

export type { WarehouseOptions } from './port.js';

/**
 * Opens the adapter for `target`. Redshift is served by the PostgreSQL adapter for now (same wire
 * protocol); its PG-only SQL (ON CONFLICT, COPY FROM STDIN) is marked in postgres-warehouse.ts for the
 * redshift/ adapter to replace.
 */
export async function openWarehouse(target: WarehouseUrl, options: WarehouseOptions): Promise<Warehouse> {
  switch (target.kind) {
    case 'duckdb':
      return openDuckDbWarehouse(target.path, options);
    case 'postgres':
    case 'redshift':
      return openPostgresWarehouse(target.url, options);
  }
}
