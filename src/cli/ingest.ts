/** `sextant ingest <file> --target <name>`: keeps the raw file in the object store, then loads it, with a progress bar. */
import { loadConfig } from '../config/env.js';
import { openApp } from '../main.js';
import { UserError } from '../errors.js';
import { parseCommandArgs } from './args.js';
import { createProgressBar } from './progress-bar.js';

export async function ingestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ingest', args, { target: { type: 'string' } }, true);
  const [path] = positionals;
  if (!path || !values.target) throw new UserError('BAD_USER_INPUT', 'usage: sextant ingest <file> --target <name>');
  const app = await openApp({ config: loadConfig(), checkColumns: false });
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
