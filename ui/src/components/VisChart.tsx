import { Component, useEffect, useMemo, useState, type ReactNode } from "react";
import { EChart } from "./EChart";
import * as echarts from "echarts/core";
import { BarChart, LineChart, MapChart, PieChart, ScatterChart } from "echarts/charts";
import { GeoComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import { errorDetail, search } from "../lib/api";
import type { Filter } from "../lib/filters";
import { formatCount, formatTime, utc } from "../lib/format";
import { chartOption, escapeHtml, isEmpty, metricIsTime, readVis, visRequest, type VisContext, type VisData, type VisSpec } from "../lib/vis";
import { countryName, loadWorld, WORLD } from "../lib/worldMap";

echarts.use([BarChart, LineChart, MapChart, PieChart, ScatterChart, GeoComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent]);

interface Props {
  spec: VisSpec;
  ctx: VisContext;
  /** Clicking a slice, bar, row or country adds a filter (dashboards). */
  onFilter?: (f: Filter) => void;
  /** Changes to re-run the query (refresh button, auto-refresh). */
  tick?: number;
}

type State = { status: "loading" } | { status: "error"; message: string } | { status: "done"; data: VisData };

/** One visualization: runs its query, then draws it, or says why it cannot. */
export function VisChart({ spec, ctx, onFilter, tick = 0 }: Props) {
  const [state, setState] = useState<State>({ status: "loading" });
  const key = JSON.stringify([spec, ctx, tick]);
  useEffect(() => {
    const abort = new AbortController();
    setState({ status: "loading" });
    search(visRequest(spec, ctx), abort.signal)
      .then((r) => setState({ status: "done", data: readVis(spec, r) }))
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setState({ status: "error", message: errorDetail(e) });
      });
    return () => abort.abort();
    // `key` stands for the spec, the context and the tick.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  if (state.status === "loading") return <div className="vis-state muted" data-state="loading">Loading…</div>;
  if (state.status === "error")
    return (
      <div className="vis-state error" role="alert" data-state="error">
        {state.message}
      </div>
    );
  const d = state.data;
  if (isEmpty(d))
    return (
      <div className="vis-state muted" data-state="empty">
        No results in this time range.
      </div>
    );
  return (
    <div className="vis" data-state="done" data-kind={d.kind}>
      {d.kind === "metric" && <MetricView value={d.value} label={d.label} metric={spec.metric} />}
      {d.kind === "rows" && spec.type === "table" && <TableView d={d} onFilter={onFilter} metric={spec.metric} />}
      {(d.kind === "series" || (d.kind === "rows" && spec.type === "pie")) && <SpecChart spec={spec} d={d} onFilter={onFilter} />}
      {(d.kind === "points" || d.kind === "countries") && <MapView d={d} onFilter={onFilter} />}
    </div>
  );
}

/** Pie, line and bar; the option is rebuilt only for new data, so zoom and legend choices last. */
function SpecChart({ spec, d, onFilter }: { spec: VisSpec; d: VisData; onFilter?: (f: Filter) => void }) {
  const option = useMemo(() => chartOption(spec, d, (n) => show(n, spec.metric)) ?? {}, [spec, d]);
  return <EChart option={option} onClick={(name) => clickFilter(spec, d, name, onFilter)} />;
}

function clickFilter(spec: VisSpec, d: VisData, name: string, onFilter?: (f: Filter) => void) {
  if (!onFilter) return;
  if (d.kind === "rows" && spec.split?.field && name !== "Other") onFilter({ field: spec.split.field, value: name, negate: false });
  if (d.kind === "series" && spec.series?.field) onFilter({ field: spec.series.field, value: name, negate: false });
}

/** A metric's value as text: a time, a share, a count, or "—" when there is none. */
function show(v: number | null, m: VisSpec["metric"]): string {
  if (v === null) return "—";
  if (metricIsTime(m)) return formatTime(v);
  if (m.type === "percent") return `${v.toFixed(1)}%`;
  return formatCount(v);
}

function MetricView({ value, label, metric }: { value: number | null; label: string; metric: VisSpec["metric"] }) {
  return (
    <div className="metric">
      <div className="metric-value" data-value={value ?? ""} title={value !== null && metricIsTime(metric) ? utc(value) : undefined}>
        {show(value, metric)}
      </div>
      <div className="metric-label muted">{label}</div>
    </div>
  );
}

function TableView({ d, onFilter, metric }: { d: Extract<VisData, { kind: "rows" }>; onFilter?: (f: Filter) => void; metric: VisSpec["metric"] }) {
  return (
    <table className="vistable">
      <thead>
        <tr>
          <th>{d.field ? `Top ${d.rows.length} ${d.field}` : ""}</th>
          <th className="num">{d.label}</th>
        </tr>
      </thead>
      <tbody>
        {d.rows.map((r) => (
          <tr key={r.key}>
            <td>
              {onFilter && d.field ? (
                <button type="button" className="link" title={`Filter for ${d.field}: ${r.key}`} onClick={() => onFilter({ field: d.field, value: r.key, negate: false })}>
                  {r.key}
                </button>
              ) : (
                r.key
              )}
            </td>
            <td className="num" title={r.value !== null && metricIsTime(metric) ? utc(r.value) : undefined}>
              {show(r.value, metric)}
            </td>
          </tr>
        ))}
        {d.other > 0 && (
          <tr className="muted">
            <td>Other</td>
            <td className="num">{formatCount(d.other)}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function MapView({ d, onFilter }: { d: Extract<VisData, { kind: "points" | "countries" }>; onFilter?: (f: Filter) => void }) {
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadWorld()
      .then(() => setReady(true))
      .catch((e: unknown) => setError(`the world map could not be loaded: ${String(e)}`));
  }, []);
  if (error) return <div className="vis-state error">{error}</div>;
  if (!ready) return <div className="vis-state muted">Loading the map…</div>;
  return <WorldChart d={d} onFilter={onFilter} />;
}

function WorldChart({ d, onFilter }: { d: Extract<VisData, { kind: "points" | "countries" }>; onFilter?: (f: Filter) => void }) {
  const option = useMemo(() => mapOption(d), [d]);
  return (
    <EChart
      option={option}
      onClick={(name) => {
        if (onFilter && d.kind === "countries" && /^[A-Z]{2}$/.test(name)) onFilter({ field: "geoip.country_code2", value: name, negate: false });
      }}
    />
  );
}


function mapOption(d: Extract<VisData, { kind: "points" | "countries" }>): Record<string, unknown> {
  const max = d.kind === "points" ? Math.max(...d.points.map((p) => p.value)) : Math.max(...d.countries.map((c) => c.value));
  return (
    d.kind === "points"
      ? {
          animation: false,
          geo: { map: WORLD, roam: true, itemStyle: { areaColor: "#e5e9f0", borderColor: "#b8c2cc" }, emphasis: { disabled: true }, tooltip: { show: false } },
          tooltip: {
            trigger: "item",
            formatter: (p: { value: [number, number, number] }) => `${p.value[1].toFixed(2)}, ${p.value[0].toFixed(2)}<br/><b>${formatCount(p.value[2])}</b> events`,
          },
          visualMap: { show: true, min: 0, max, dimension: 2, left: 8, bottom: 8, calculable: false, inRange: { color: ["#93c5fd", "#1d4ed8", "#be123c"] }, text: [formatCount(max), "0"] },
          series: [
            {
              type: "scatter",
              coordinateSystem: "geo",
              name: d.label,
              data: d.points.map((p) => [p.lon, p.lat, p.value]),
              symbolSize: (v: [number, number, number]) => 6 + 24 * Math.sqrt(v[2] / max),
            },
          ],
        }
      : {
          animation: false,
          tooltip: {
            trigger: "item",
            formatter: (p: { name: string; value?: number }) => `${escapeHtml(countryName(p.name))} (${escapeHtml(p.name)})<br/><b>${formatCount(Number.isFinite(p.value) ? (p.value ?? 0) : 0)}</b> events`,
          },
          visualMap: { min: 0, max, left: 8, bottom: 8, text: [formatCount(max), "0"], inRange: { color: ["#dbeafe", "#1d4ed8"] }, calculable: false },
          series: [
            {
              type: "map",
              map: WORLD,
              roam: true,
              name: d.label,
              itemStyle: { areaColor: "#f1f5f9", borderColor: "#b8c2cc" },
              data: d.countries.map((c) => ({ name: c.code, value: c.value })),
            },
          ],
        });
}

/** Keeps one panel's failure (a malformed saved object, a charting bug) inside that panel. */
export class PanelBoundary extends Component<{ children: ReactNode }, { error: string | null }> {
  override state = { error: null as string | null };

  static getDerivedStateFromError(e: unknown): { error: string } {
    return { error: e instanceof Error ? e.message : String(e) };
  }

  override render(): ReactNode {
    if (this.state.error !== null) {
      return (
        <div className="vis-state error" role="alert" data-state="error">
          This panel cannot be drawn: {this.state.error}
        </div>
      );
    }
    return this.props.children;
  }
}
