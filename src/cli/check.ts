/** `sextant check`: validates the environment and the project (models, targets, columns) and prints the catalog. */
import { loadConfig } from '../config/env.js';
import { openApp } from '../main.js';
import { LOOPBACK_PRINCIPAL } from '../auth/principal.js';

export async function checkCommand(_args: string[]): Promise<number> {
  const config = loadConfig();
  const app = await openApp({ config, checkColumns: true });
  try {
    const catalog = await app.serving.catalog(LOOPBACK_PRINCIPAL, { freshness: false });
    console.log(`Project ${config.projectDir} is valid.\n`);
    for (const team of catalog.teams) {
      console.log(`${team.name}`);
      for (const model of team.models) {
        console.log(`  ${model.name}  (${model.measures.length} measures, ${model.dimensions.length} dimensions)`);
        console.log(`    measures:   ${model.measures.map((m) => `${m.name}:${m.type}`).join(', ')}`);
        console.log(`    dimensions: ${model.dimensions.map((d) => `${d.name}:${d.type}`).join(', ')}`);
      }
    }
    console.log(`\nTargets: ${[...app.project.targets.keys()].join(', ') || '(none)'}`);
    return 0;
  } finally {
    await app.close();
  }
}
