/**
 * A small Prometheus registry: counters and histograms with labels, rendered in the text exposition
 * format (version 0.0.4). Enough for request and warehouse metrics without another dependency.
 */

type Labels = Readonly<Record<string, string | number>>;

/** Escapes a label value as the exposition format requires (backslash, quote, newline). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = names.map((n) => `${n}="${escapeLabel(String(labels[n] ?? ''))}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function seriesKey(names: readonly string[], labels: Labels): string {
  return JSON.stringify(names.map((n) => String(labels[n] ?? '')));
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(this.labelNames, labels);
    const series = this.values.get(key) ?? { labels, value: 0 };
    series.value += by;
    this.values.set(key, series);
  }

  /** The current value of one series (tests and health pages). */
  get(labels: Labels = {}): number {
    return this.values.get(seriesKey(this.labelNames, labels))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const s of this.values.values()) lines.push(`${this.name}${labelText(this.labelNames, s.labels)} ${s.value}`);
    return lines.join('\n');
  }
}

/** Default buckets in seconds: 5 ms to 30 s, which spans a cached answer and a slow warehouse scan. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], readonly buckets: readonly number[] = DEFAULT_BUCKETS) {}

  observe(labels: Labels, value: number): void {
    const key = seriesKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s!.counts[i] += 1;
    });
    s.sum += value;
    s.count += 1;
  }

  /** Observations of one series so far. */
  count(labels: Labels = {}): number {
    return this.series.get(seriesKey(this.labelNames, labels))?.count ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', String(b)])} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

/** The service's metrics. */
export class PrometheusRegistry {
  private readonly metrics: Metric[] = [];

  readonly httpRequests = this.add(new Counter('sextant_http_requests_total', 'HTTP requests answered, by route, method and status.', ['route', 'method', 'status']));
  readonly httpDuration = this.add(
    new Histogram('sextant_http_request_duration_seconds', 'Time to answer HTTP requests, by route, method and status.', ['route', 'method', 'status']),
  );
  readonly warehouseDuration = this.add(
    new Histogram('sextant_warehouse_query_duration_seconds', 'Time of metrics statements in the warehouse, by model and outcome.', ['model', 'outcome']),
  );

  /** Registers another metric to render (other faces' own counters). */
  add<T extends Metric>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
}
