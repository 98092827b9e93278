/**
 * The example project hangs together: its target files describe exactly the tables the demo
 * generator writes, its models load without a problem and read only columns those tables have,
 * and its sample uploads convert cleanly under their targets.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { DEMO_TABLES, LINEAGE_COLUMNS } from '../../src/demo/tables.js';
import { RecordConverter } from '../../src/ingest/convert.js';
import { parseRecords } from '../../src/ingest/parsers/parse-records.js';
import { loadTargets } from '../../src/ingest/targets.js';
import { checkModelColumns, loadSemanticProject } from '../../src/semantic/load.js';
import { FORMATS, MEASURE_TYPES, type SemanticProject } from '../../src/semantic/types.js';
import type { TableColumn } from '../../src/warehouse/port.js';

interface TargetFile {
  table: string;
  key: string[];
  columns: Record<string, { type: string; required?: boolean }>;
}

async function targetFiles(): Promise<Map<string, TargetFile>> {
  const dir = join(EXAMPLE_PROJECT, 'targets');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yml'));
  const out = new Map<string, TargetFile>();
  for (const f of files) out.set(f.replace(/\.yml$/, ''), parse(await readFile(join(dir, f), 'utf8')) as TargetFile);
  return out;
}

const normalise = (columns: readonly TableColumn[]): Array<{ name: string; type: string; required: boolean }> =>
  columns.map((c) => ({ name: c.name, type: c.type, required: c.required === true }));

describe('the agency targets and the demo tables', () => {
  it('has one target file per demo table, with the same table, key, columns, types and required flags', async () => {
    const files = await targetFiles();
    const byTable = new Map([...files.values()].map((t) => [t.table, t]));
    expect([...byTable.keys()].sort()).toEqual(DEMO_TABLES.map((s) => s.table).sort());
    for (const spec of DEMO_TABLES) {
      const file = byTable.get(spec.table)!;
      expect(file.key, spec.table).toEqual(spec.key);
      const fromFile: TableColumn[] = [
        ...Object.entries(file.columns).map(([name, c]) => ({ name, type: c.type as TableColumn['type'], required: c.required === true || file.key.includes(name) })),
        ...LINEAGE_COLUMNS,
      ];
      expect(normalise(fromFile), spec.table).toEqual(normalise(spec.columns));
    }
  });

  it('keeps social_manual_posts exactly as docs/targets.md shows it', async () => {
    const file = (await targetFiles()).get('social_manual_posts');
    expect(file).toEqual({
      table: 'social.manual_posts',
      key: ['platform', 'post_id', 'metric_date'],
      columns: {
        platform: { type: 'string', required: true },
        post_id: { type: 'string', required: true, from: 'Post ID' },
        metric_date: { type: 'date', required: true, from: 'Date' },
        impressions: { type: 'integer', default: 0 },
        likes: { type: 'integer' },
      },
      on_error: 'reject',
      evolve: false,
    });
  });

  it('passes the ingestion target validation without a problem', async () => {
    const { targets, problems } = await loadTargets(EXAMPLE_PROJECT);
    expect(problems).toEqual([]);
    expect(targets.size).toBe(DEMO_TABLES.length);
    const manual = [...targets.keys()].filter((n) => /_manual_/.test(n)).sort();
    expect(manual).toEqual(['email_manual_campaigns', 'listening_manual_mentions', 'social_manual_posts', 'web_manual_sessions']);
  });
});

/** The example project's models, failing the test when they do not load. */
async function agencyModels(): Promise<SemanticProject> {
  const { project, problems } = await loadSemanticProject(EXAMPLE_PROJECT);
  if (!project) throw new Error(`the agency models did not load: ${JSON.stringify(problems)}`);
  return project;
}

describe('the agency models', () => {
  it('load without a problem, four teams with at least two models each', async () => {
    const { problems } = await loadSemanticProject(EXAMPLE_PROJECT);
    expect(problems).toEqual([]);
    const project = await agencyModels();
    expect([...project.teams].sort()).toEqual(['email', 'listening', 'social', 'web']);
    for (const team of project.teams) expect([...project.models.values()].filter((m) => m.team === team).length, team).toBeGreaterThanOrEqual(2);
  });

  it('read only tables the targets write and only columns those tables have', async () => {
    const project = await agencyModels();
    const tables = new Map(DEMO_TABLES.map((s) => [s.table, s.columns.map((c) => c.name)]));
    for (const m of project.models.values()) expect(tables.has(m.table ?? ''), `${m.id} reads ${m.table}`).toBe(true);
    expect(await checkModelColumns(project, async (table) => tables.get(table))).toEqual([]);
  });

  it('use every measure type and every format, and every manual table has a model', async () => {
    const project = await agencyModels();
    const models = [...project.models.values()];
    const types = new Set(models.flatMap((m) => m.measures.map((x) => x.type)));
    const formats = new Set(models.flatMap((m) => m.measures.map((x) => x.format)));
    expect([...MEASURE_TYPES].filter((t) => !types.has(t))).toEqual([]);
    expect([...FORMATS].filter((f) => !formats.has(f))).toEqual([]);
    const read = new Set(models.map((m) => m.table));
    for (const t of ['social.manual_posts', 'web.manual_sessions', 'email.manual_campaigns', 'listening.manual_mentions']) expect(read.has(t), t).toBe(true);
  });

  it('define social.post_performance as docs/models.md shows it, joined to social.accounts', async () => {
    const project = await agencyModels();
    const m = project.models.get('social.post_performance')!;
    expect(m.table).toBe('social.post_daily');
    expect(m.grain).toEqual(['platform', 'post_id', 'metric_date']);
    expect(m.dimensions.map((d) => [d.name, d.type, d.sql])).toEqual([
      ['metric_date', 'time', 'metric_date'],
      ['platform', 'string', 'platform'],
      ['account', 'string', 'account_name'],
      ['post_type', 'string', 'post_type'],
    ]);
    expect(m.measures.map((x) => [x.name, x.type])).toEqual([
      ['posts', 'count_distinct'],
      ['impressions', 'sum'],
      ['engagements', 'sum'],
      ['engagement_rate', 'ratio'],
    ]);
    expect(m.joins).toEqual([{ name: 'accounts', model: 'social.accounts', relationship: 'many_to_one', on: { account_id: 'account_id' } }]);
    expect(project.models.get('social.accounts')?.grain).toEqual(['account_id']);
  });
});

describe('the agency samples', () => {
  it('convert under their targets without a bad row, in every format', async () => {
    const { targets } = await loadTargets(EXAMPLE_PROJECT);
    const dir = join(EXAMPLE_PROJECT, 'samples');
    const files = (await readdir(dir)).sort();
    expect(files.map((f) => f.split('.').pop())).toEqual(expect.arrayContaining(['csv', 'ndjson', 'json']));
    // Every manual target has a CSV sample.
    for (const t of [...targets.keys()].filter((n) => n.includes('_manual_'))) expect(files).toContain(`${t}.csv`);

    for (const file of files) {
      const target = targets.get(file.replace(/\.[a-z]+$/, ''));
      expect(target, file).toBeDefined();
      const converter = new RecordConverter(target!);
      const keepAsJson = new Set(target!.columns.filter((c) => c.type === 'json').map((c) => (c.from ?? c.name).toLowerCase()));
      let rows = 0;
      for await (const { line, record } of parseRecords(createReadStream(join(dir, file)), { file, keepAsJson })) {
        const result = converter.convert(line, record);
        expect(result, `${file} line ${line}`).toMatchObject({ ok: true });
        rows++;
      }
      expect(rows, file).toBeGreaterThan(2);
    }
  });

  it('include a semicolon-delimited CSV and a JSON array whose nested object lands in a json column', async () => {
    const dir = join(EXAMPLE_PROJECT, 'samples');
    expect((await readFile(join(dir, 'web_manual_sessions.csv'), 'utf8')).split('\n')[0]).toContain(';');
    const { targets } = await loadTargets(EXAMPLE_PROJECT);
    const target = targets.get('listening_manual_mentions')!;
    const converter = new RecordConverter(target);
    const details: unknown[] = [];
    for await (const { line, record } of parseRecords(createReadStream(join(dir, 'listening_manual_mentions.json')), { file: 'listening_manual_mentions.json', keepAsJson: new Set(['details']) })) {
      const result = converter.convert(line, record);
      if (result.ok) details.push(result.values[converter.columns.indexOf('details')]);
    }
    expect(details).toHaveLength(3);
    expect(JSON.parse(details[0] as string)).toMatchObject({ headline: 'Lumen Outdoor launches sustainability pledge' });
    expect(details[2]).toBeNull();
  });

  it('ships the first query the README shows', async () => {
    const query = await readFile(join(EXAMPLE_PROJECT, 'queries', 'first-query.graphql'), 'utf8');
    expect(query.trim()).toBe(
      '{ social { postPerformance(where: { metricDate: { gte: "2026-01-01", lt: "2026-04-01" } }) { metricDate(grain: MONTH) platform impressions engagements engagementRate } } }',
    );
    expect(await readFile(join(EXAMPLE_PROJECT, 'README.md'), 'utf8')).toContain(query.trim());
  });
});
