// Visualizations as data: a spec (what the user chose, saved as is), the Elasticsearch request
// it needs, the response read back into rows/series/points, and the ECharts option that draws
// them. All pure, so the chart configs are unit-tested without a browser.

import type { SearchResponse } from "./api";
import { TIME_FIELD } from "./discoverState";
import { boolQuery } from "./esRequest";
import type { Filter } from "./filters";
import { autoInterval, namedInterval, type Interval } from "./time";

export type VisType = "table" | "pie" | "line" | "bar" | "metric" | "map";

export const VIS_TYPES: Array<{ type: VisType; label: string; help: string }> = [
  { type: "table", label: "Data table", help: "Rows split by the top values of a field" },
  { type: "pie", label: "Pie", help: "Shares of the top values of a field" },
  { type: "line", label: "Line", help: "Events over time, optionally one line per value" },
  { type: "bar", label: "Vertical bar", help: "Events over time, optionally stacked by value" },
  { type: "metric", label: "Metric", help: "One number: a count or a unique count" },
  { type: "map", label: "Coordinate map", help: "Callers on a world map (geoip.location), or countries shaded" },
];

export interface Metric {
  type: "count" | "cardinality" | "min" | "max" | "percent";
  /** For `cardinality`, `min` and `max`. */
  field?: string;
  /** For `percent`: the share of events (per bucket, or in all) that match this query. */
  query?: string;
}

export interface VisSpec {
  title: string;
  type: VisType;
  /** The visualization's own query (query-bar language) and filters. */
  query: string;
  filters: Filter[];
  /** The saved search it was made from, if any (its query and filters were copied). */
  savedSearchId?: string;
  metric: Metric;
  /** Table and pie: the field whose top values split the rows or slices. */
  split?: { field: string; size: number; order: "desc" | "asc" };
  /** Line and bar: the histogram's interval ("auto" or `1h`…) and optional split series. */
  interval?: string;
  series?: { field: string; size: number };
  donut?: boolean;
  /** Map: sized points on a grid, or countries shaded by count. */
  mapMode?: "points" | "countries";
  /**
   * Look at all history up to the range's end, not only the range: for "first seen", so a
   * country seen last year is not reported as new.
   */
  allHistory?: boolean;
}

export function defaultSpec(type: VisType): VisSpec {
  const base: VisSpec = { title: "", type, query: "", filters: [], metric: { type: "count" } };
  switch (type) {
    case "table":
    case "pie":
      return { ...base, split: { field: "sourceIPAddress", size: 5, order: "desc" }, donut: type === "pie" };
    case "line":
    case "bar":
      return { ...base, interval: "auto" };
    case "map":
      return { ...base, mapMode: "points" };
    case "metric":
      return base;
  }
}

/** What a dashboard (or the editor) adds: its time range, query bar and filters. */
export interface VisContext {
  range: { from: number; to: number };
  query?: string;
  filters?: Filter[];
}

type Json = Record<string, unknown>;

export function visQuery(spec: VisSpec, ctx: VisContext): Json {
  const range = spec.allHistory ? { to: ctx.range.to } : ctx.range;
  return boolQuery([spec.query, ctx.query ?? ""], [...spec.filters, ...(ctx.filters ?? [])], range);
}

function metricAgg(m: Metric): Json | undefined {
  if (m.type === "percent") return { filter: { query_string: { query: m.query ?? "*", analyze_wildcard: true } } };
  return m.type !== "count" && m.field ? { [m.type]: { field: m.field } } : undefined;
}

/** Min and max of a time field are instants ("first seen", "last seen"), shown as times. */
export function metricIsTime(m: Metric): boolean {
  return (m.type === "min" || m.type === "max") && m.field === TIME_FIELD;
}

export function visInterval(spec: VisSpec, range: { from: number; to: number }): Interval {
  return (spec.interval && spec.interval !== "auto" ? namedInterval(spec.interval) : undefined) ?? autoInterval(range.to - range.from, 60);
}

/** The geotile precision whose tiles give a readable number of points for a world view. */
export const MAP_PRECISION = 4;

/** The `_search` body a visualization needs. */
export function visRequest(spec: VisSpec, ctx: VisContext): Json {
  const body: Json = { size: 0, track_total_hits: true, query: visQuery(spec, ctx) };
  const metric = metricAgg(spec.metric);
  const sub = metric ? { metric } : undefined;
  switch (spec.type) {
    case "metric":
      if (metric) body.aggs = { metric };
      break;
    case "table":
    case "pie": {
      const split = spec.split;
      if (split?.field) {
        // Ordering by a share would need a bucket path; shares are listed by how many events.
        const order = metric && spec.metric.type !== "percent" ? { metric: split.order } : { _count: split.order };
        body.aggs = { split: { terms: { field: split.field, size: split.size, order }, ...(sub ? { aggs: sub } : {}) } };
      } else if (metric) {
        body.aggs = { metric };
      }
      break;
    }
    case "line":
    case "bar": {
      const interval = visInterval(spec, ctx.range);
      const seriesAgg = spec.series?.field
        ? { series: { terms: { field: spec.series.field, size: spec.series.size }, ...(sub ? { aggs: sub } : {}) } }
        : sub;
      body.aggs = {
        time: {
          date_histogram: {
            field: TIME_FIELD,
            fixed_interval: interval.es,
            min_doc_count: 0,
            extended_bounds: { min: ctx.range.from, max: ctx.range.to },
          },
          ...(seriesAgg ? { aggs: seriesAgg } : {}),
        },
      };
      break;
    }
    case "map":
      body.aggs =
        spec.mapMode === "countries"
          ? { countries: { terms: { field: "geoip.country_code2", size: 250 }, ...(sub ? { aggs: sub } : {}) } }
          : {
              grid: {
                geotile_grid: { field: "geoip.location", precision: MAP_PRECISION, size: 10_000 },
                aggs: { centroid: { geo_centroid: { field: "geoip.location" } }, ...(sub ?? {}) },
              },
            };
      break;
  }
  return body;
}

/** A visualization's answer, shaped for drawing; `null` values have nothing to show ("—"). */
export type VisData =
  | { kind: "metric"; value: number | null; label: string }
  | { kind: "rows"; field: string; rows: Array<{ key: string; value: number | null }>; other: number; total: number; label: string }
  | { kind: "series"; times: number[]; series: Array<{ name: string; values: Array<number | null> }>; label: string }
  | { kind: "points"; points: Array<{ lat: number; lon: number; value: number; key: string }>; label: string }
  | { kind: "countries"; countries: Array<{ code: string; value: number }>; label: string };

interface RawBucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  metric?: { value?: number | null; doc_count?: number };
  series?: { buckets: RawBucket[] };
  centroid?: { location?: { lat: number; lon: number } };
}

export function metricLabel(m: Metric): string {
  if (metricIsTime(m)) return m.type === "min" ? "First seen" : "Last seen";
  switch (m.type) {
    case "count":
      return "Count";
    case "cardinality":
      return `Unique count of ${m.field ?? "?"}`;
    case "min":
      return `Min of ${m.field ?? "?"}`;
    case "max":
      return `Max of ${m.field ?? "?"}`;
    case "percent":
      return `% matching ${m.query ?? "*"}`;
  }
}

/** A bucket's value; `null` when the metric has none (a min over no events, a share of none). */
function valueOf(b: RawBucket, m: Metric): number | null {
  switch (m.type) {
    case "count":
      return b.doc_count;
    case "percent":
      return b.doc_count > 0 ? (100 * (b.metric?.doc_count ?? 0)) / b.doc_count : null;
    default:
      return b.metric?.value ?? null;
  }
}

export function readVis(spec: VisSpec, r: SearchResponse): VisData {
  const aggs = (r.aggregations ?? {}) as unknown as Record<string, RawBucket & { buckets?: RawBucket[]; sum_other_doc_count?: number }>;
  const total = r.hits.total?.value ?? 0;
  const label = metricLabel(spec.metric);
  const value = (b: RawBucket): number | null => valueOf(b, spec.metric);
  // The whole result as one bucket, for metrics and unsplit tables.
  const all: RawBucket = { key: "all", doc_count: total, ...(aggs.metric ? { metric: aggs.metric as RawBucket["metric"] } : {}) };
  switch (spec.type) {
    case "metric":
      return { kind: "metric", value: value(all), label };
    case "table":
    case "pie": {
      if (!spec.split?.field) return { kind: "rows", field: "", rows: [{ key: "all", value: value(all) }], other: 0, total, label };
      return {
        kind: "rows",
        field: spec.split.field,
        rows: (aggs.split?.buckets ?? []).map((b) => ({ key: String(b.key_as_string ?? b.key), value: value(b) })),
        other: spec.metric.type === "count" ? (aggs.split?.sum_other_doc_count ?? 0) : 0,
        total,
        label,
      };
    }
    case "line":
    case "bar": {
      const buckets = aggs.time?.buckets ?? [];
      const times = buckets.map((b) => Number(b.key));
      if (!spec.series?.field) return { kind: "series", times, series: [{ name: label, values: buckets.map(value) }], label };
      // Each time bucket has its own top values; the series are the `size` values largest over
      // the whole range, so a long range does not grow a legend of dozens.
      const totals = new Map<string, number>();
      for (const b of buckets) for (const x of b.series?.buckets ?? []) totals.set(String(x.key), (totals.get(String(x.key)) ?? 0) + (value(x) ?? 0));
      const names = [...totals.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, spec.series.size)
        .map(([k]) => k);
      const series = names.map((name) => ({
        name,
        values: buckets.map((b) => {
          const x = b.series?.buckets.find((y) => String(y.key) === name);
          return x ? value(x) : 0;
        }),
      }));
      return { kind: "series", times, series, label };
    }
    case "map": {
      if (spec.mapMode === "countries") {
        const countries = (aggs.countries?.buckets ?? []).flatMap((b) => {
          const v = value(b);
          return v === null ? [] : [{ code: String(b.key), value: v }];
        });
        return { kind: "countries", countries, label };
      }
      const points = (aggs.grid?.buckets ?? []).flatMap((b) => {
        const l = b.centroid?.location;
        const v = value(b);
        return l && v !== null ? [{ lat: l.lat, lon: l.lon, value: v, key: String(b.key) }] : [];
      });
      return { kind: "points", points, label };
    }
  }
}

/** Whether there is anything to draw. */
export function isEmpty(d: VisData): boolean {
  switch (d.kind) {
    case "metric":
      return false;
    case "rows":
      return d.rows.length === 0;
    case "series":
      return d.series.every((s) => s.values.every((v) => v === null || v === 0));
    case "points":
      return d.points.length === 0;
    case "countries":
      return d.countries.length === 0;
  }
}

const PALETTE = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16", "#f97316", "#64748b"];

/** The ECharts option for pie, line and bar (tables, metrics and maps draw themselves). */
export function chartOption(spec: VisSpec, d: VisData, format: (n: number) => string): Record<string, unknown> | undefined {
  if (d.kind === "rows" && spec.type === "pie") {
    const data = d.rows.map((r) => ({ name: r.key, value: r.value }));
    if (d.other > 0) data.push({ name: "Other", value: d.other });
    return {
      color: PALETTE,
      animation: false,
      // ECharts puts tooltip strings into the page as HTML, and bucket keys come from events
      // (any caller chooses its user agent): escape them.
      tooltip: { trigger: "item", formatter: (p: { name: string; value: number; percent: number }) => `${escapeHtml(p.name)}<br/><b>${format(p.value)}</b> (${p.percent}%)` },
      // The legend goes below, so narrow dashboard panels keep the pie and its labels apart.
      legend: { type: "scroll", orient: "horizontal", bottom: 0 },
      series: [
        {
          type: "pie",
          name: d.label,
          radius: spec.donut ? ["35%", "62%"] : "62%",
          center: ["50%", "45%"],
          data,
          label: { formatter: "{d}%" },
        },
      ],
    };
  }
  if (d.kind === "series") {
    const stack = spec.type === "bar" && d.series.length > 1 ? "total" : undefined;
    return {
      color: PALETTE,
      animation: false,
      grid: { left: 56, right: 16, top: d.series.length > 1 ? 36 : 12, bottom: 28 },
      legend: d.series.length > 1 ? { type: "scroll", top: 0 } : undefined,
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: format } },
      series: d.series.map((s) => ({
        type: spec.type === "bar" ? "bar" : "line",
        name: s.name,
        stack,
        showSymbol: false,
        data: s.values.map((v, i) => [d.times[i], v]),
      })),
    };
  }
  return undefined;
}

/** Text made safe to place inside HTML (ECharts tooltips are HTML). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}
