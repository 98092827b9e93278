/**
 * `sextant export --model team.model --measures … [--dimensions …] [--grain …] [--filter member=value …]
 * [--order …] --format xlsx|csv [--out file]`: writes a metrics query to a file through the same serving
 * layer and writers as the service, with a progress bar. The file appears only once complete (written
 * beside it, then renamed), so a failed export leaves no half file behind.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { loadConfig, type Config } from '../config/env.js';
import { openApp } from '../main.js';
import { LOOPBACK_PRINCIPAL } from '../auth/principal.js';
import { UserError } from '../errors.js';
import { exportFormatOf } from '../exports/export-service.js';
import { queryFromParams, type ParamValues } from '../exports/url-query.js';
import { parseCommandArgs } from './args.js';
import { createProgressBar } from './progress-bar.js';

const USAGE =
  'usage: sextant export --model <team.model> --measures a,b [--dimensions d:grain,e] [--grain month] [--filter member=value]… [--order=-a] --format xlsx|csv [--out file]';

/**
 * DuckDB's memory_limit for `sextant export` on a warehouse file when SEXTANT_DUCKDB_MEMORY_LIMIT is unset:
 * the export reads one query's answer in order, so DuckDB needs little beyond its aggregation, which spills
 * to the file's temp directory past the limit. At the service's 128MB a 1M-row DuckDB export peaked at
 * 352 MB; at 64MB under 300 MB (bench/README.md, "xlsx-mem"). An in-memory database keeps DuckDB's default.
 */
export const EXPORT_DUCKDB_MEMORY_LIMIT = '64MB';

/** The configuration `sextant export` opens the project with: {@link EXPORT_DUCKDB_MEMORY_LIMIT} unless one is set. */
export function exportConfig(config: Config): Config {
  if (config.duckdbMemoryLimit !== undefined || config.warehouse.kind !== 'duckdb' || config.warehouse.path === ':memory:') return config;
  return { ...config, duckdbMemoryLimit: EXPORT_DUCKDB_MEMORY_LIMIT };
}

/** `--filter platform=facebook,instagram --filter metric_date.gte=2026-01-01` → URL-style parameters. */
function filterParams(filters: readonly string[]): ParamValues {
  const params: Record<string, string[]> = {};
  for (const f of filters) {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    if (name === '') throw new UserError('BAD_USER_INPUT', `--filter: expected member=value or member.operator=value, got "${f}"`);
    (params[name] ??= []).push(eq < 0 ? '' : f.slice(eq + 1));
  }
  return params;
}

export async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs('export', args, {
    model: { type: 'string' },
    measures: { type: 'string' },
    dimensions: { type: 'string' },
    grain: { type: 'string' },
    filter: { type: 'string', multiple: true },
    order: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  });
  if (!values.model || !values.measures || !values.format) throw new UserError('BAD_USER_INPUT', USAGE);
  const format = exportFormatOf(values.format);
  const app = await openApp({ config: exportConfig(loadConfig()), checkColumns: false });
  try {
    const principal = LOOPBACK_PRINCIPAL;
    const model = app.serving.model(principal, values.model);
    const input = queryFromParams(model, {
      ...filterParams(values.filter ?? []),
      measures: values.measures,
      ...(values.dimensions ? { dimensions: values.dimensions } : {}),
      ...(values.grain ? { grain: values.grain } : {}),
      ...(values.order ? { order: values.order } : {}),
    });
    const out = values.out ?? `${model.name}.${format}`;
    const opened = await app.exports.open(principal, input, format);
    // The row count is only for the progress bar: counted beside the export rather than before it, so
    // the warehouse's second pass over the question overlaps the writing instead of delaying it.
    let total: number | undefined;
    const counting = app.serving
      .count(principal, app.serving.toQuery(principal, { ...input, limit: null, offset: null }))
      .then((n) => {
        total = n;
      })
      .catch(() => undefined);
    const bar = createProgressBar(`export ${out}`);
    const progress = (rows: number) => `${rows.toLocaleString('en-US')}${total === undefined ? '' : ` of ${total.toLocaleString('en-US')}`} rows`;
    const partial = `${out}.partial`;
    try {
      const summary = await opened.write(createWriteStream(partial), { onRows: (rows) => bar.update(rows, total, progress(rows)) });
      await rename(partial, out);
      const sheets = summary.sheets.length > 1 ? ` on ${summary.sheets.length} sheets` : '';
      bar.finish(`done: ${summary.rows.toLocaleString('en-US')} rows${sheets} → ${out}`);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    } finally {
      await counting;
    }
    return 0;
  } finally {
    await app.close();
  }
}
