import { useMemo, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { BrushComponent, GridComponent, ToolboxComponent, TooltipComponent } from "echarts/components";
import type { Bucket } from "../lib/api";
import { formatCount, formatTime } from "../lib/format";

import { EChart } from "./EChart";

echarts.use([BarChart, BrushComponent, GridComponent, ToolboxComponent, TooltipComponent]);

interface Props {
  buckets: Bucket[];
  range: { from: number; to: number };
  /** Dragging across the chart selects a new absolute range. */
  onSelect: (from: number, to: number) => void;
}

/** Hits over time; drag to zoom into a range. */
export function Histogram({ buckets, range, onSelect }: Props) {
  const select = useRef(onSelect);
  select.current = onSelect;
  const option = useMemo(
    () => ({
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
    }),
    [buckets, range.from, range.to],
  );
  return (
    <EChart
      option={option}
      className="histogram"
      label="Hits over time (drag to select a range)"
      onInit={(c) =>
        c.on("brushEnd", (p: unknown) => {
          const areas = (p as { areas?: Array<{ coordRange?: [number, number] }> }).areas;
          const r = areas?.[0]?.coordRange;
          c.dispatchAction({ type: "brush", areas: [] });
          if (r && r[1] > r[0]) select.current(Math.round(r[0]), Math.round(r[1]));
        })
      }
      // Keep the brush cursor armed so a plain drag selects, as in Kibana.
      afterUpdate={(c) => c.dispatchAction({ type: "takeGlobalCursor", key: "brush", brushOption: { brushType: "lineX", brushMode: "single" } })}
    />
  );
}
