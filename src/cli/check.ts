/**
 * `sextant check`: validates the environment and the project (models, targets, and the models' columns
 * against the warehouse) and prints the catalog. Beside a running service on DuckDB (one process per
 * file) it still validates the project, and says that the columns were checked by the service instead.
 */
import { LOOPBACK_PRINCIPAL } from '../auth/principal.js';
import { loadConfig } from '../config/env.js';
import { isUserError } from '../errors.js';
import { loadProjectCatalog, openApp } from '../main.js';

type Catalog = Awaited<ReturnType<typeof loadProjectCatalog>>['catalog'];

/**
 * Prints the catalog: per model its members and its rollups — each with what it keeps and, when the
 * warehouse was read, when it was last refreshed (`refreshedAt`, by rollup id).
 */
export function print(catalog: Catalog, targets: readonly string[], refreshedAt?: ReadonlyMap<string, string | null>): void {
  for (const team of catalog.teams) {
    console.log(`${team.name}`);
    for (const model of team.models) {
      console.log(`  ${model.name}  (${model.measures.length} measures, ${model.dimensions.length} dimensions)`);
      console.log(`    measures:   ${model.measures.map((m) => `${m.name}:${m.type}`).join(', ')}`);
      console.log(`    dimensions: ${model.dimensions.map((d) => `${d.name}:${d.type}`).join(', ')}`);
      for (const r of model.rollups ?? []) {
        const by = [...r.dimensions, `${r.timeDimension} by ${r.grain}`].join(' × ');
        const fresh = refreshedAt === undefined ? '' : `; refreshed ${refreshedAt.get(r.id) ?? 'never (not built)'}`;
        console.log(`    rollup ${r.name}: ${r.measures.join(', ')} per ${by}${fresh}`);
      }
    }
  }
  console.log(`\nTargets: ${targets.join(', ') || '(none)'}`);
}

export async function checkCommand(_args: string[]): Promise<number> {
  const config = loadConfig();
  let app;
  try {
    app = await openApp({ config, checkColumns: true });
  } catch (err) {
    if (!isUserError(err) || err.code !== 'WAREHOUSE_IN_USE') throw err;
    const { project, catalog } = await loadProjectCatalog(config);
    console.log(`Project ${config.projectDir} is valid.`);
    console.log(`The warehouse is open in the running service (${String(err.details?.pid ?? 'another process')}), so its columns were not read here;`);
    console.log('the service checked every model against them when it started, and refuses to start when one is missing.\n');
    print(catalog, [...project.targets.keys()]);
    return 0;
  }
  try {
    const catalog = await app.serving.catalog(LOOPBACK_PRINCIPAL, { freshness: false });
    const rollupIds = catalog.teams.flatMap((t) => t.models.flatMap((m) => (m.rollups ?? []).map((r) => r.id)));
    const refreshed = new Map(await Promise.all(rollupIds.map(async (id) => [id, await app.serving.rollupRefreshedAt(id)] as const)));
    console.log(`Project ${config.projectDir} is valid.\n`);
    print(catalog, [...app.project.targets.keys()], refreshed);
    return 0;
  } finally {
    await app.close();
  }
}
