import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { BrushComponent, GridComponent, ToolboxComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { Bucket } from "../lib/api";
import { formatCount, formatTime } from "../lib/format";

echarts.use([BarChart, BrushComponent, GridComponent, ToolboxComponent, TooltipComponent, CanvasRenderer]);

interface Props {
  buckets: Bucket[];
  range: { from: number; to: number };
  /** Dragging across the chart selects a new absolute range. */
  onSelect: (from: number, to: number) => void;
}

/** Hits over time; drag to zoom into a range. */
export function Histogram({ buckets, range, onSelect }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const select = useRef(onSelect);
  select.current = onSelect;

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: "canvas" });
    chart.current = c;
    c.on("brushEnd", (p: unknown) => {
      const areas = (p as { areas?: Array<{ coordRange?: [number, number] }> }).areas;
      const r = areas?.[0]?.coordRange;
      c.dispatchAction({ type: "brush", areas: [] });
      if (r && r[1] > r[0]) select.current(Math.round(r[0]), Math.round(r[1]));
    });
    const resize = new ResizeObserver(() => c.resize());
    resize.observe(el.current);
    return () => {
      resize.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.setOption(
      {
        animation: false,
        grid: { left: 56, right: 16, top: 12, bottom: 28 },
        toolbox: { show: false },
        brush: { xAxisIndex: 0, brushType: "lineX", brushMode: "single", transformable: false, throttleType: "debounce" },
        tooltip: {
          trigger: "axis",
          axisPointer: { type: "shadow" },
          formatter: (ps: unknown) => {
            const p = (ps as Array<{ value: [number, number] }>)[0];
            return p ? `${formatTime(p.value[0])}<br/><b>${formatCount(p.value[1])}</b> events` : "";
          },
        },
        xAxis: { type: "time", min: range.from, max: range.to },
        yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: (v: number) => formatCount(v) } },
        series: [
          {
            type: "bar",
            name: "events",
            barWidth: "90%",
            itemStyle: { color: "#3b82f6" },
            data: buckets.map((b) => [Number(b.key), b.doc_count]),
          },
        ],
      },
      { notMerge: true },
    );
    // Keep the brush cursor armed so a plain drag selects, as in Kibana.
    c.dispatchAction({ type: "takeGlobalCursor", key: "brush", brushOption: { brushType: "lineX", brushMode: "single" } });
  }, [buckets, range.from, range.to]);

  return <div className="histogram" ref={el} role="img" aria-label="Hits over time (drag to select a range)" />;
}
