/**
 * The chart, drawn by uPlot (MIT, ~50 KB minified, one canvas, no dependencies; lines over time and
 * bars from the same library). The uPlot instance stays reachable as the container's `uplot`
 * property, so the browser tests read the points it draws.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData } from './chart-data.js';
import { formatNumber } from './format.js';

const PALETTE = ['#2456b8', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#0b7285', '#e67700', '#5c940d', '#a61e4d', '#364fc7', '#495057', '#087f5b'];

export interface ChartElement extends HTMLElement {
  uplot?: uPlot;
}

/** Draws `data` into `el` (replacing any chart there) and keeps it as wide as `el`. */
export function renderChart(el: ChartElement, data: ChartData): uPlot {
  el.uplot?.destroy();
  el.replaceChildren();
  const width = Math.max(280, el.clientWidth || 600);
  const height = width < 500 ? 220 : 300;
  const yValues = (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? '' : formatNumber(v, data.format)));
  const bars = data.kind === 'bars';
  const opts: uPlot.Options = {
    width,
    height,
    scales: {
      x: bars ? { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] } : { time: true },
      // From zero (or below, for negatives): a line that starts at 1% would make 1.4% look three times 1.1%.
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(0, min);
          const hi = max > 0 ? max * 1.05 : 0;
          return [lo, hi > lo ? hi : lo + 1] as uPlot.Range.MinMax;
        },
      },
    },
    axes: [
      bars
        ? {
            splits: () => data.x,
            values: (_u, splits) => splits.map((i) => {
              const label = data.labels[i] ?? '';
              return label.length > 14 ? `${label.slice(0, 13)}…` : label;
            }),
            rotate: data.x.length > 6 ? -40 : 0,
            size: data.x.length > 6 ? 80 : 40,
          }
        : {},
      // Wide enough for the longest label ("3,500,000", "12.5%"): about 7 px a character at 12 px.
      { values: yValues, size: (_u, values) => (values?.length ? Math.max(...values.map((v) => String(v).length)) * 7 + 24 : 40) },
    ],
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      bars ? { label: data.xName, value: (_u, i) => (i === null ? '' : (data.labels[i] ?? '')) } : { label: data.xName },
      ...data.series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : formatNumber(v, data.format)),
        ...(bars ? { fill: `${PALETTE[i % PALETTE.length]}cc`, paths: uPlot.paths.bars!({ size: [0.7, 80] }), points: { show: false } } : { points: { show: data.x.length <= 40 } }),
      })),
    ],
  };
  const u = new uPlot(opts, [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
  el.uplot = u;
  return u;
}

/** Keeps the chart in `el` as wide as `el` when the window is resized. */
export function followWidth(el: ChartElement): void {
  new ResizeObserver(() => {
    const u = el.uplot;
    if (!u) return;
    const width = Math.max(280, el.clientWidth);
    if (Math.abs(width - u.width) > 4) u.setSize({ width, height: width < 500 ? 220 : 300 });
  }).observe(el);
}
