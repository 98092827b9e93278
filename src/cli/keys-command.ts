/** `sextant keys create|list|revoke`: API keys in the warehouse's platform schema. */
import { loadConfig } from '../config/env.js';
import { openApp } from '../main.js';
import { runKeysCommand } from './keys.js';
import { isUserError, UserError } from '../errors.js';

export async function keysCommand(args: string[]): Promise<number> {
  let app;
  try {
    app = await openApp({ config: loadConfig(), checkColumns: false });
  } catch (err) {
    if (isUserError(err) && err.code === 'WAREHOUSE_IN_USE') {
      // Keys live in the warehouse, which the running service holds; no API creates keys (by design).
      throw new UserError(
        'WAREHOUSE_IN_USE',
        `the keys live in the warehouse, which the running service holds (${String(err.details?.pid ?? 'another process')}): stop the service (Ctrl-C), run \`npx sextant keys ${args.join(' ')}\` again, then \`npm start\`. With PostgreSQL (SEXTANT_WAREHOUSE=postgres://…) keys can be managed while it runs.`,
      );
    }
    throw err;
  }
  try {
    return await runKeysCommand(args, { keys: app.keys, teams: app.project.semantic.teams, out: (line) => console.log(line) });
  } finally {
    await app.close();
  }
}
