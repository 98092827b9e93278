/**
 * What the chart draws for a result: one measure over time as a line per combination of the other
 * dimensions, or — with no time dimension — one bar per row. DOM-free (unit-tested in Node); chart.ts
 * hands it to uPlot as is, so the chart's points are exactly these numbers.
 */
import type { MetricsResult } from './api.js';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

export interface ChartData {
  kind: 'line' | 'bars';
  /** line: epoch seconds of each time bucket, ascending; bars: 0 … n-1. */
  x: number[];
  /** bars: the label of each bar (its dimension values); line: the time buckets as answered. */
  labels: string[];
  series: ChartSeries[];
  /** The measure's format, for the axis. */
  format: string | null;
  measure: string;
  /** What the x axis shows: the time dimension, or the dimensions naming the bars. */
  xName: string;
  /** Series or bars left out to keep the chart readable. */
  omitted: number;
}

/** At most this many lines, and this many bars. */
export const MAX_SERIES = 12;
export const MAX_BARS = 60;

function epochSeconds(value: unknown): number {
  const text = String(value);
  // A date alone is midnight UTC (Date.parse reads a bare date as UTC already; a timestamp says so itself).
  return Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) / 1000;
}

/** The chart of `measureKey` (a column key) over the result; undefined when the result has no measure. */
export function chartData(result: MetricsResult, measureKey?: string): ChartData | undefined {
  const cols = result.columns;
  const m = measureKey ? cols.findIndex((c) => c.key === measureKey) : cols.findIndex((c) => c.kind === 'measure');
  if (m < 0) return undefined;
  const measure = cols[m];
  const t = cols.findIndex((c) => c.kind === 'dimension' && (c.type === 'date' || c.type === 'timestamp'));
  const others = cols.map((c, i) => i).filter((i) => cols[i].kind === 'dimension' && i !== t);
  const labelOf = (row: unknown[]) => others.map((i) => (row[i] === null ? '(none)' : String(row[i]))).join(' · ');
  const num = (v: unknown) => (typeof v === 'number' ? v : v === null || v === undefined ? null : Number(v));

  if (t < 0) {
    const rows = result.rows.slice(0, MAX_BARS);
    return {
      kind: 'bars',
      x: rows.map((_, i) => i),
      labels: rows.map((r) => labelOf(r) || measure.name),
      series: [{ label: measure.name, values: rows.map((r) => num(r[m])) }],
      format: measure.format,
      measure: measure.name,
      xName: others.map((i) => cols[i].name).join(' · ') || 'total',
      omitted: result.rows.length - rows.length,
    };
  }

  const times = [...new Set(result.rows.map((r) => String(r[t])))].sort((a, b) => epochSeconds(a) - epochSeconds(b));
  const at = new Map(times.map((v, i) => [v, i]));
  const series = new Map<string, Array<number | null>>();
  for (const row of result.rows) {
    const label = others.length ? labelOf(row) : measure.name;
    let values = series.get(label);
    if (!values) {
      values = new Array<number | null>(times.length).fill(null);
      series.set(label, values);
    }
    values[at.get(String(row[t]))!] = num(row[m]);
  }
  // The largest series first (by their sum), so the lines left out are the small ones.
  const all = [...series.entries()].map(([label, values]) => ({ label, values }));
  const total = (s: ChartSeries) => s.values.reduce<number>((a, v) => a + Math.abs(v ?? 0), 0);
  const kept = others.length ? [...all].sort((a, b) => total(b) - total(a)).slice(0, MAX_SERIES).sort((a, b) => a.label.localeCompare(b.label)) : all;
  return {
    kind: 'line',
    x: times.map(epochSeconds),
    labels: times,
    series: kept,
    format: measure.format,
    measure: measure.name,
    xName: cols[t].name,
    omitted: all.length - kept.length,
  };
}
