/** `sextant ingest <file> --target <name>`: keeps the raw file in the object store, then loads it, with a progress bar. */
import { loadConfig } from '../config/env.js';
import { dropIntoInbox, openApp } from '../main.js';
import { isUserError, UserError } from '../errors.js';
import { parseCommandArgs } from './args.js';
import { createProgressBar } from './progress-bar.js';

export async function ingestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ingest', args, { target: { type: 'string' } }, true);
  const [path] = positionals;
  if (!path || !values.target) throw new UserError('BAD_USER_INPUT', 'usage: sextant ingest <file> --target <name>');
  const config = loadConfig();
  let app;
  try {
    app = await openApp({ config, checkColumns: false });
  } catch (err) {
    if (!isUserError(err) || err.code !== 'WAREHOUSE_IN_USE') throw err;
    // The running service holds the DuckDB file: hand the file to it through its inbox instead.
    const key = await dropIntoInbox(config, values.target, path);
    console.log(`The warehouse is open in the running service (${String(err.details?.pid ?? 'another process')}), so the file goes through it:`);
    console.log(`  ${path} → ${key} in the object store; the service loads it within ${Math.round(config.inboxScanMs / 1000)} s (SEXTANT_INBOX_SCAN_MS).`);
    console.log(`  Follow it with: { jobs(type: INGEST_FILE, limit: 1) { id status rowsLoaded errors { line column message } } }`);
    return 0;
  }
  try {
    const bar = createProgressBar(`ingest ${path}`);
    const job = await app.ingest.ingestLocalFile({
      path,
      target: values.target,
      onProgress: (rows: number, bytes: number, total?: number) => bar.update(bytes, total, `${rows.toLocaleString()} rows`),
    });
    if (job.status === 'SUCCEEDED') {
      bar.finish(`done: ${job.rowsRead} rows read, ${job.rowsLoaded} loaded, ${job.rowsRejected} rejected (job ${job.id})`);
    } else {
      bar.finish(`${job.status} (job ${job.id})`);
    }
    for (const e of job.errors.slice(0, 20)) {
      console.error(`  ${e.line !== undefined ? `line ${e.line}` : ''}${e.column ? `, column ${e.column}` : ''}: ${e.message}`);
    }
    if (job.errors.length > 20) console.error(`  … and ${job.errors.length - 20} more`);
    return job.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await app.close();
  }
}
