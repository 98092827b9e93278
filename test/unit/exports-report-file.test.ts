/**
 * reports/<name>.yml (docs/reports.md): the example project's weekly report per team, and every problem of
 * broken report files listed at once with file, path and line.
 */
import { mkdtemp, mkdir, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadProject } from '../../src/config/project.js';
import { UserError } from '../../src/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = join(here, '../fixtures/semantic/good');

async function projectWith(reports: Record<string, string>, models: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sextant-reports-'));
  await cp(join(GOOD, 'models'), join(dir, 'models'), { recursive: true });
  await mkdir(join(dir, 'reports'));
  for (const [name, text] of Object.entries(reports)) await writeFile(join(dir, 'reports', `${name}.yml`), text);
  for (const [file, text] of Object.entries(models)) await writeFile(join(dir, 'models', file), text);
  return dir;
}

const VALID = `
schedule: "0 7 * * MON"
query:
  model: social.post_performance
  measures: [impressions, engagement_rate]
  dimensions: [{ name: metric_date, grain: week }, { name: platform }]
  filters: [{ member: metric_date, operator: IN_DATE_RANGE, values: ["last 12 weeks"] }]
format: xlsx
notify: slack
write_back: analysis.social_weekly
`;

describe('reports/<name>.yml', () => {
  it('the example project has a weekly report per team', async () => {
    const project = await loadProject(EXAMPLE_PROJECT);
    const reports = [...project.reports.values()];
    expect(reports.map((r) => r.team).sort()).toEqual(['email', 'listening', 'social', 'web']);
    for (const r of reports) {
      expect(r.schedule).toMatch(/ \* \* MON$/);
      expect(r.notify).toBe('slack');
    }
    const social = project.reports.get('social_weekly')!;
    expect(social).toMatchObject({ format: 'xlsx', writeBack: 'analysis.social_weekly', query: { model: 'social.post_performance', limit: 0 } });
    expect(social.columns.map((c) => c.key)).toEqual(['metric_date__week', 'platform', 'impressions', 'engagements', 'engagement_rate']);
  });

  it('reads a valid report: grains and operators in any case, dates as ISO text, defaults', async () => {
    const dir = await projectWith({
      weekly: VALID,
      plain: `query:\n  model: social.post_performance\n  measures: [impressions]\n  dimensions: [{ name: metric_date, grain: MONTH }]\n  filters: [{ member: metric_date, operator: in_date_range, values: [2026-01-01, 2026-03-31] }]\n`,
    });
    const project = await loadProject(dir);
    expect(project.reports.get('plain')).toMatchObject({
      format: 'xlsx',
      schedule: null,
      notify: null,
      writeBack: null,
      team: 'social',
      query: { dimensions: [{ name: 'metric_date', grain: 'month' }], filters: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['2026-01-01', '2026-03-31'] }] },
    });
  });

  it('lists every problem of every report at once, with file, path and line', async () => {
    const dir = await projectWith({
      broken: `schedule: "every monday"
format: pdf
notify: email
write_back: social.weekly
colour: blue
query:
  model: social.post_performance
  measures: [impresions]
  dimensions: [{ name: metric_date, grain: fortnight }]
`,
      bad_range: `query:
  model: social.post_performance
  measures: [impressions]
  filters: [{ member: metric_date, operator: IN_DATE_RANGE, values: ["last 12 fortnights"] }]
`,
      no_model: `query: { model: social.nope, measures: [x] }\n`,
      twice_a: VALID,
      twice_b: VALID,
    });
    const error = (await loadProject(dir).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.code).toBe('MODEL_INVALID');
    const lines = error.problems.map((p) => `${p.file} → ${p.path ?? ''} (${p.line ?? '-'}): ${p.message}`);
    const expectLine = (re: RegExp) => expect(lines.some((l) => re.test(l)), `${re} in\n${lines.join('\n')}`).toBe(true);
    expectLine(/^reports\/broken\.yml → schedule \(1\): a cron pattern has 5 fields/);
    expectLine(/^reports\/broken\.yml → format \(2\): expected xlsx or csv, got "pdf"/);
    expectLine(/^reports\/broken\.yml → notify \(3\): expected slack/);
    expectLine(/^reports\/broken\.yml → write_back \(4\): expected "analysis\.<table>"/);
    expectLine(/^reports\/broken\.yml → colour \(5\): unknown key "colour"/);
    expectLine(/^reports\/broken\.yml → query\.dimensions\[0\]\.grain \(9\): unknown grain "fortnight"/);
    expectLine(/^reports\/bad_range\.yml → query \(\d\): filter on "metric_date": cannot read the date range "last 12 fortnights"/);
    expectLine(/^reports\/no_model\.yml → query\.model \(1\): unknown model "social\.nope"/);
    expectLine(/^reports\/twice_b\.yml → write_back \(-\): analysis\.social_weekly is already written back by report "twice_a"/);
  });

  it('refuses a model of another team on a write-back table', async () => {
    const dir = await projectWith(
      { weekly: VALID },
      { 'web/peek.yml': 'name: peek\ntable: analysis.social_weekly\ngrain: [platform]\ndimensions:\n  platform: { type: string }\nmeasures:\n  impressions: { type: sum }\n' },
    );
    const error = (await loadProject(dir).catch((e: unknown) => e)) as UserError;
    expect(error.message).toContain('models/web/peek.yml → table: analysis.social_weekly is written back by report "weekly" of team "social"; only a model of that team may read it');
  });
});
