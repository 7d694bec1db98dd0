// Helpers that turn an app's short description into saved objects: visualizations with ids
// under the app's prefix, and one dashboard laying them out in rows.

import { GRID_COLUMNS, type BundleObject, type DashboardAttributes, type Panel } from "../lib/dashboard";
import { defaultSpec, type Metric, type VisSpec, type VisType } from "../lib/vis";

export interface AppDef {
  id: string;
  title: string;
  /** Bumped whenever the content changes; an installed older version offers an update. */
  version: number;
  description: string;
  /** The dashboard to open after installing. */
  dashboard: string;
  objects: BundleObject[];
}

export interface PanelDef {
  /** Suffix of the visualization's id. */
  id: string;
  title: string;
  type: VisType;
  query?: string;
  split?: string;
  size?: number;
  metric?: Metric;
  series?: string;
  donut?: boolean;
  mapMode?: "points" | "countries";
  allHistory?: boolean;
  /** Width in grid columns (12 = full) and height in rows. */
  w: number;
  h?: number;
}

export function visOf(p: PanelDef): VisSpec {
  const spec = defaultSpec(p.type);
  return {
    ...spec,
    title: p.title,
    query: p.query ?? "",
    metric: p.metric ?? { type: "count" },
    ...(p.split ? { split: { field: p.split, size: p.size ?? 5, order: "desc" as const } } : {}),
    ...(p.series ? { series: { field: p.series, size: p.size ?? 5 } } : {}),
    ...(p.donut !== undefined ? { donut: p.donut } : {}),
    ...(p.mapMode ? { mapMode: p.mapMode } : {}),
    ...(p.allHistory ? { allHistory: true } : {}),
  };
}

/** Panels fill rows left to right; a panel that does not fit starts the next row. */
export function layoutRows(defs: PanelDef[], prefix: string): Panel[] {
  const panels: Panel[] = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  defs.forEach((d, n) => {
    const h = d.h ?? 8;
    if (x + d.w > GRID_COLUMNS) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    panels.push({ i: `p${n + 1}`, kind: "visualization", ref: `${prefix}-${d.id}`, x, y, w: d.w, h });
    x += d.w;
    rowH = Math.max(rowH, h);
  });
  return panels;
}

export function app(meta: Omit<AppDef, "objects" | "dashboard">, dashboardTitle: string, defs: PanelDef[]): AppDef {
  const dashboardId = `${meta.id}-dashboard`;
  const dashboard: DashboardAttributes = {
    title: dashboardTitle,
    description: meta.description,
    query: "",
    filters: [],
    from: "now-30d",
    to: "now",
    panels: layoutRows(defs, meta.id),
  };
  const objects: BundleObject[] = [
    ...defs.map((d) => ({ type: "visualization" as const, id: `${meta.id}-${d.id}`, attributes: { ...visOf(d), app: meta.id } as unknown as BundleObject["attributes"] })),
    { type: "dashboard", id: dashboardId, attributes: { ...dashboard, app: meta.id } as unknown as BundleObject["attributes"] },
  ];
  return { ...meta, dashboard: dashboardId, objects };
}
