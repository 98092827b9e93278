/** `sextant keys create|list|revoke`: API keys in the warehouse's platform schema. */
import { loadConfig } from '../config/env.js';
import { openApp } from '../main.js';
import { runKeysCommand } from './keys.js';

export async function keysCommand(args: string[]): Promise<number> {
  const app = await openApp({ config: loadConfig(), checkColumns: false });
  try {
    return await runKeysCommand(args, { keys: app.keys, teams: app.project.semantic.teams, out: (line) => console.log(line) });
  } finally {
    await app.close();
  }
}
