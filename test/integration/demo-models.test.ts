/**
 * The agency models answer over the demo data on both warehouses: every measure by every dimension
 * plans and runs, and a few answers are checked against SQL written by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { generateDemo } from '../../src/demo/generate.js';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { DimensionRef, FilterNode, SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import type { Row, Warehouse } from '../../src/warehouse/port.js';
import { DIALECTS, freshWarehouse } from '../support/warehouses.js';

type Q = Partial<SemanticQuery> & Pick<SemanticQuery, 'model'>;

function query(q: Q): SemanticQuery {
  return { measures: [], dimensions: [], filters: [], orderBy: [], limit: 50_000, offset: 0, ...q };
}

describe.each(DIALECTS)('agency models over the demo data on %s', (dialect) => {
  let w: Warehouse;
  let project: SemanticProject;

  async function run(q: Q): Promise<{ rows: Row[]; keys: Record<string, string> }> {
    const planned = planQuery(project, query(q), w.dialect);
    const rows = await w.query(planned.sql, planned.params);
    return { rows, keys: Object.fromEntries(planned.columns.map((c) => [c.grain ? `${c.name}:${c.grain}` : c.name, c.key])) };
  }

  beforeAll(async () => {
    const loaded = await loadSemanticProject(EXAMPLE_PROJECT);
    if (!loaded.project) throw new Error(JSON.stringify(loaded.problems));
    project = loaded.project;
    w = await freshWarehouse(dialect);
    await generateDemo(w, { rows: 30_000, seed: 3 });
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  });

  it('answers every measure of every model by each of its dimensions', async () => {
    for (const model of project.models.values()) {
      const measures = model.measures.map((m) => m.name);
      const dims: DimensionRef[] = [
        ...model.dimensions.map((d) => (d.type === 'time' ? { name: d.name, grain: 'month' as const } : { name: d.name })),
        ...model.joins.flatMap((j) => project.models.get(j.model)!.dimensions.filter((d) => d.type !== 'time').map((d) => ({ name: `${j.name}.${d.name}` }))),
      ];
      for (const dim of dims) {
        const { rows, keys } = await run({ model: model.id, measures, dimensions: [dim] });
        expect(rows.length, `${model.id} by ${dim.name}`).toBeGreaterThan(0);
        for (const m of model.measures) {
          const values = rows.map((r) => r[keys[m.name]]);
          expect(values.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v))), `${model.id}.${m.name} by ${dim.name}`).toBe(true);
          expect(values.some((v) => v !== null), `${model.id}.${m.name} by ${dim.name} has a value`).toBe(true);
        }
      }
    }
  });

  it('answers the README first query as hand-written SQL does', async () => {
    const filters: FilterNode[] = [
      { member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] },
      { member: 'metric_date', operator: 'LT', values: ['2026-04-01'] },
    ];
    const { rows, keys } = await run({
      model: 'social.post_performance',
      measures: ['impressions', 'engagements', 'engagement_rate'],
      dimensions: [{ name: 'metric_date', grain: 'month' }, { name: 'platform' }],
      filters,
      orderBy: [{ member: 'metric_date', grain: 'month', direction: 'ASC' }, { member: 'platform', direction: 'ASC' }],
    });
    const expected = await w.query(
      `SELECT CAST(extract(month FROM metric_date) AS INTEGER) AS m, platform, sum(impressions) AS i, sum(likes + comments + shares) AS e
         FROM social.post_daily WHERE metric_date >= CAST('2026-01-01' AS DATE) AND metric_date < CAST('2026-04-01' AS DATE)
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows).toHaveLength(9);
    expect(rows.map((r) => [String(r[keys['metric_date:month']]), r[keys.platform], r[keys.impressions], r[keys.engagements]])).toEqual(
      expected.map((e) => [`2026-0${e.m}-01`, e.platform, Number(e.i), Number(e.e)]),
    );
    for (const [i, r] of rows.entries()) expect(r[keys.engagement_rate] as number).toBeCloseTo(Number(expected[i].e) / Number(expected[i].i), 12);
  });

  it('reports followers as the last day of each month, summed over accounts', async () => {
    const { rows, keys } = await run({
      model: 'social.account_growth',
      measures: ['followers'],
      dimensions: [{ name: 'metric_date', grain: 'month' }],
      filters: [{ member: 'metric_date', operator: 'GTE', values: ['2026-01-01'] }],
      orderBy: [{ member: 'metric_date', grain: 'month', direction: 'ASC' }],
    });
    const expected = await w.query(
      `SELECT CAST(max_day AS VARCHAR) AS d, sum(follower_count) AS f FROM social.account_daily a
         JOIN (SELECT max(metric_date) AS max_day FROM social.account_daily WHERE metric_date >= CAST('2026-01-01' AS DATE)
                GROUP BY extract(year FROM metric_date), extract(month FROM metric_date)) l ON a.metric_date = l.max_day
        GROUP BY max_day ORDER BY max_day`,
    );
    expect(rows.map((r) => r[keys.followers])).toEqual(expected.map((e) => Number(e.f)));
    expect(rows.map((r) => String(r[keys['metric_date:month']]).slice(0, 7))).toEqual(expected.map((e) => String(e.d).slice(0, 7)));
  });

  it('keeps shares and sentiment within their bounds', async () => {
    const sov = await run({ model: 'listening.share_of_voice', measures: ['share_of_voice'], dimensions: [{ name: 'competitive_set' }] });
    for (const r of sov.rows) {
      expect(r[sov.keys.share_of_voice] as number).toBeGreaterThan(0);
      expect(r[sov.keys.share_of_voice] as number).toBeLessThan(1);
    }
    const sentiment = await run({ model: 'listening.mentions', measures: ['net_sentiment', 'negative_share'], dimensions: [{ name: 'topic' }] });
    for (const r of sentiment.rows) {
      expect(Math.abs(r[sentiment.keys.net_sentiment] as number)).toBeLessThanOrEqual(1);
      expect(r[sentiment.keys.negative_share] as number).toBeLessThan(1);
    }
    const paid = await run({ model: 'web.traffic', measures: ['spend', 'cost_per_conversion', 'avg_session_duration'], dimensions: [{ name: 'is_paid' }] });
    const byPaid = new Map(paid.rows.map((r) => [r[paid.keys.is_paid], r]));
    expect(byPaid.get(false)?.[paid.keys.spend]).toBeNull();
    expect(byPaid.get(true)?.[paid.keys.cost_per_conversion] as number).toBeGreaterThan(0);
    for (const r of paid.rows) expect(r[paid.keys.avg_session_duration] as number).toBeGreaterThan(10);
  });
});
