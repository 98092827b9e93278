/**
 * The query runner's plans per question (src/serving/query-runner.ts): a question asked again reuses its
 * plan with only `limit` and `offset` replaced, and every reused plan is exactly what the planner gives
 * for that question — checked against `planQuery` itself, for other pages, other filter values, a
 * rollup built in between, and questions whose filters read the clock (never reused).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PROJECT } from '../../src/config/env.js';
import { loadSemanticProject } from '../../src/semantic/load.js';
import { planQuery } from '../../src/semantic/planner.js';
import type { PlannedQuery, SemanticProject, SemanticQuery } from '../../src/semantic/types.js';
import { QueryRunner } from '../../src/serving/query-runner.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import type { Warehouse } from '../../src/warehouse/port.js';

let project: SemanticProject;
let warehouse: Warehouse;

beforeAll(async () => {
  const loaded = await loadSemanticProject(EXAMPLE_PROJECT);
  if (!loaded.project) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  project = loaded.project;
  warehouse = await openWarehouse({ kind: 'duckdb', path: ':memory:' }, { statementTimeoutMs: 10_000 });
  return () => warehouse.close();
});

/** One account's days of a month (the selective question), with a page. */
function selective(account: string, month: string, limit: number, offset: number): SemanticQuery {
  const [y, m] = month.split('-').map(Number);
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return {
    model: 'social.post_performance',
    measures: ['impressions', 'engagements', 'engagement_rate'],
    dimensions: [{ name: 'metric_date', grain: 'day' }],
    filters: [
      { member: 'account', operator: 'EQUALS', values: [account] },
      { member: 'metric_date', operator: 'GTE', values: [`${month}-01`] },
      { member: 'metric_date', operator: 'LT', values: [next] },
    ],
    orderBy: [],
    limit,
    offset,
  };
}

/** What a plan says: its statement, parameters, columns, tables and rollup. */
const shown = (p: PlannedQuery) => ({ sql: p.sql, params: p.params, columns: p.columns, tables: p.tables, rollup: p.rollup, rollupReason: p.rollupReason });

describe('plans reused per question', () => {
  it('gives the planner’s own plan for every page and every filter value, reusing the plan of a question asked before', () => {
    const runner = new QueryRunner({ project, warehouse });
    const first = runner.plan(selective('Northwind Coffee', '2026-03', 101, 0));
    expect(shown(first)).toEqual(shown(planQuery(project, selective('Northwind Coffee', '2026-03', 101, 0), warehouse.dialect)));
    for (const [limit, offset] of [
      [50_001, 0],
      [7, 3],
      [1, 0],
    ]) {
      const again = runner.plan(selective('Northwind Coffee', '2026-03', limit, offset));
      expect(shown(again)).toEqual(shown(planQuery(project, selective('Northwind Coffee', '2026-03', limit, offset), warehouse.dialect)));
      expect(again.params.slice(-2)).toEqual([limit, offset]);
      // Reused: the columns are the first plan's (a new plan builds new ones).
      expect(again.columns).toBe(first.columns);
    }
    // Another account or month is another question: its own values, never the first one's.
    for (const [account, month] of [
      ['Blue Harbor', '2026-03'],
      ['Northwind Coffee', '2026-02'],
    ]) {
      const other = runner.plan(selective(account, month, 101, 0));
      expect(shown(other)).toEqual(shown(planQuery(project, selective(account, month, 101, 0), warehouse.dialect)));
      expect(other.params).toContain(account);
      expect(other.columns).not.toBe(first.columns);
    }
    // The first plan itself was not changed by the reuses.
    expect(first.params.slice(-2)).toEqual([101, 0]);
  });

  it('plans anew a question whose filters read the clock, and an unbounded one', () => {
    const runner = new QueryRunner({ project, warehouse });
    const lastWeek: SemanticQuery = {
      model: 'social.post_performance',
      measures: ['impressions'],
      dimensions: [{ name: 'metric_date', grain: 'day' }],
      filters: [{ or: [{ member: 'metric_date', operator: 'IN_DATE_RANGE', values: ['last 7 days'] }] }],
      orderBy: [],
      limit: 10,
      offset: 0,
    };
    const a = runner.plan(lastWeek);
    const b = runner.plan(lastWeek);
    expect(b.columns).not.toBe(a.columns);
    expect(shown(b)).toEqual(shown(planQuery(project, lastWeek, warehouse.dialect)));
    const q = selective('Northwind Coffee', '2026-03', 10, 0);
    const unbounded = runner.plan(q, { unbounded: true });
    expect(shown(unbounded)).toEqual(shown(planQuery(project, q, warehouse.dialect, { unbounded: true })));
    expect(unbounded.params).toHaveLength(3);
    // A bounded plan after it still carries its page.
    expect(runner.plan(q).params.slice(-2)).toEqual([10, 0]);
  });

  it('answers from a rollup once it is built, though the question was planned on the base table before', () => {
    const built = new Set<string>();
    const runner = new QueryRunner({ project, warehouse, rollups: built });
    const q = selective('Northwind Coffee', '2026-03', 101, 0);
    const before = runner.plan(q);
    expect(before.rollup).toBeUndefined();
    expect(shown(before)).toEqual(shown(planQuery(project, q, warehouse.dialect, { rollups: new Set() })));
    built.add('social.post_performance.account_day');
    const after = runner.plan(q);
    expect(after.rollup).toBe('social.post_performance.account_day');
    expect(shown(after)).toEqual(shown(planQuery(project, q, warehouse.dialect, { rollups: built })));
  });
});
