import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([CanvasRenderer]);

interface Props {
  option: Record<string, unknown>;
  /** Gets the clicked pie slice's or map region's name, or the clicked series' name. */
  onClick?: (name: string) => void;
  /** Registers further handlers once the chart exists (the histogram's brush). */
  onInit?: (chart: echarts.ECharts) => void;
  /** Runs after each new option is applied. */
  afterUpdate?: (chart: echarts.ECharts) => void;
  className?: string;
  label?: string;
}

/** An ECharts canvas that follows its container's size. */
export function EChart({ option, onClick, onInit, afterUpdate, className = "echart", label }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const click = useRef(onClick);
  click.current = onClick;
  const init = useRef(onInit);
  const after = useRef(afterUpdate);
  after.current = afterUpdate;
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current);
    chart.current = c;
    c.on("click", (p: unknown) => {
      const x = p as { seriesName?: string; name?: string; componentSubType?: string };
      const name = x.componentSubType === "pie" || x.componentSubType === "map" ? x.name : x.seriesName;
      if (name) click.current?.(name);
    });
    init.current?.(c);
    // A map resized to nothing has a singular transform that ECharts then fails to invert
    // (panels pass through zero height while a dashboard is rearranged): skip those sizes.
    const ro = new ResizeObserver((entries) => {
      const r = entries[0]?.contentRect;
      if (r && r.width > 0 && r.height > 0) c.resize();
    });
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.setOption(option, { notMerge: true });
    after.current?.(c);
  }, [option]);
  return <div className={className} ref={el} role={label ? "img" : undefined} aria-label={label} />;
}
