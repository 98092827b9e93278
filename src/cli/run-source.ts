/**
 * `sextant run-source <name> [--from YYYY-MM-DD --to YYYY-MM-DD]`: runs a source now in this process —
 * a scheduled-style run from its state, or a backfill over [from, to] — with a progress bar. The run
 * takes the source's lease like a worker's, so it never overlaps a scheduled run of the same source.
 */
import { loadConfig } from '../config/env.js';
import { openApp, sourceService } from '../main.js';
import { UserError } from '../errors.js';
import { parseCommandArgs } from './args.js';
import { createProgressBar } from './progress-bar.js';

/** True when `text` is a real calendar day written YYYY-MM-DD. */
function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && new Date(`${text}T00:00:00Z`).toISOString().slice(0, 10) === text;
}

export async function runSourceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('run-source', args, { from: { type: 'string' }, to: { type: 'string' }, project: { type: 'string' } }, true);
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UserError('BAD_USER_INPUT', 'usage: sextant run-source <name> [--from YYYY-MM-DD --to YYYY-MM-DD] [--project DIR]');
  for (const k of ['from', 'to'] as const) {
    if (values[k] !== undefined && !isDay(values[k])) throw new UserError('BAD_USER_INPUT', `sextant run-source: --${k} expects a day written YYYY-MM-DD, got "${values[k]}"`);
  }
  if (values.from && values.to && values.from > values.to) throw new UserError('BAD_USER_INPUT', `sextant run-source: --from (${values.from}) is after --to (${values.to})`);
  // --project is SEXTANT_PROJECT for this command (the fakes' instructions use it).
  const app = await openApp({ config: loadConfig(values.project ? { ...process.env, SEXTANT_PROJECT: values.project } : process.env), checkColumns: false });
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('stopped by the user (Ctrl-C); the next run re-pulls what was not committed'));
  process.once('SIGINT', stop);
  try {
    const bar = createProgressBar(`run-source ${name}`);
    const job = await sourceService(app).runHere({
      name,
      ...(values.from ? { from: values.from } : {}),
      ...(values.to ? { to: values.to } : {}),
      signal: controller.signal,
      onProgress: (percent, j) => bar.update(percent, 100, `${j.rowsRead.toLocaleString()} rows read, ${j.rowsLoaded.toLocaleString()} loaded`),
    });
    if (job.status === 'SUCCEEDED') bar.finish(`done: ${job.rowsRead} rows read, ${job.rowsLoaded} loaded, ${job.rowsRejected} rejected (job ${job.id})`);
    else bar.finish(`${job.status} (job ${job.id})`);
    for (const e of job.errors.slice(0, 20)) console.error(`  ${e.line !== undefined ? `record ${e.line}` : ''}${e.column ? `, column ${e.column}` : ''}${e.line !== undefined || e.column ? ': ' : ''}${e.message}`);
    if (job.errors.length > 20) console.error(`  … and ${job.errors.length - 20} more`);
    return job.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    process.off('SIGINT', stop);
    await app.close();
  }
}
