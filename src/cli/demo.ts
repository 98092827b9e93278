/** `sextant demo --rows N`: fills the warehouse with the example project's deterministic demo data. */
import { loadConfig } from '../config/env.js';
import { openApp } from '../main.js';
import { generateDemo, demoIsLoaded, DEFAULT_DEMO_ROWS } from '../demo/generate.js';
import { parseCommandArgs, positiveInt } from './args.js';
import { createProgressBar } from './progress-bar.js';


export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs('demo', args, {
    rows: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  const rows = positiveInt('demo', 'rows', values.rows, DEFAULT_DEMO_ROWS);
  const seed = positiveInt('demo', 'seed', values.seed, 1);
  const config = loadConfig();
  const app = await openApp({ config, checkColumns: false });
  try {
    if (!values.force && (await demoIsLoaded(app.warehouse))) {
      console.log('The warehouse already holds demo data; pass --force to generate it again (rows are upserted, not doubled).');
      return 0;
    }
    const bar = createProgressBar('demo');
    const started = performance.now();
    const result = await generateDemo(app.warehouse, { rows, seed, onProgress: (done, total) => bar.update(done, total, `${done.toLocaleString()} rows`) });
    const total = Object.values(result.tables).reduce((a, b) => a + b, 0);
    const seconds = (performance.now() - started) / 1000;
    bar.finish(`${total.toLocaleString()} rows in ${seconds.toFixed(1)} s (${Math.round(total / Math.max(seconds, 0.001)).toLocaleString()} rows/s)`);
    for (const [table, n] of Object.entries(result.tables)) console.log(`  ${table.padEnd(32)} ${n.toLocaleString().padStart(12)}`);
    return 0;
  } finally {
    await app.close();
  }
}
