/**
 * `withRollups`: the warehouse with its rollups kept fresh by every load. Applied once at the composition
 * root, so every load path — uploads, the inbox, connectors, demo data, report write-back — refreshes the
 * rollups over the table it changed, in its own transaction, without knowing rollups exist.
 */
import type { CsvLoadInput, Warehouse } from '../warehouse/port.js';
import type { Rollups } from './rollups.js';

/** The same warehouse, whose `merge`, `loadCsv` and `replaceTable` also refresh the rollups over the table they change. */
export function withRollups<W extends Warehouse>(warehouse: W, rollups: Rollups): W {
  return new Proxy(warehouse, {
    get(target, prop) {
      if (prop === 'merge') return (input: Parameters<Warehouse['merge']>[0]) => target.merge(rollups.wrapMerge(input, target.dialect));
      if (prop === 'loadCsv' && target.loadCsv) {
        const loadCsv = target.loadCsv.bind(target);
        // A CSV load merges like a batch whose staged table has every column of the spec: the same
        // afterMerge refreshes the rollups in its transaction.
        return (input: CsvLoadInput) => {
          const asMerge = { spec: input.spec, columns: input.spec.columns.map((c) => c.name), rows: [], afterMerge: input.afterMerge };
          return loadCsv({ ...input, afterMerge: rollups.wrapMerge(asMerge, target.dialect).afterMerge });
        };
      }
      if (prop === 'replaceTable') return (input: Parameters<Warehouse['replaceTable']>[0]) => target.replaceTable(rollups.wrapReplace(input, target.dialect));
      const value: unknown = Reflect.get(target, prop, target);
      // Adapters keep private state (#fields): their methods must run on the adapter itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
