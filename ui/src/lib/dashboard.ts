// Dashboards as data: panels on a 12-column grid that show saved visualizations or saved
// searches under one query bar, filters and time range; and the versioned JSON bundle that
// exports a dashboard together with everything its panels refer to.

import type { Filter } from "./filters";
import { VIS_TYPES } from "./vis";

export const GRID_COLUMNS = 12;

export interface Panel {
  /** The panel's own id within the dashboard (a saved object may appear twice). */
  i: string;
  kind: "visualization" | "search";
  /** The saved object shown. */
  ref: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DashboardAttributes {
  title: string;
  description?: string;
  query: string;
  filters: Filter[];
  /** Stored time range, if the dashboard keeps one. */
  from?: string;
  to?: string;
  panels: Panel[];
}

export function emptyDashboard(title: string): DashboardAttributes {
  return { title, query: "", filters: [], panels: [] };
}

/** A new panel for `ref`, placed below everything else, half the width. */
export function addPanel(d: DashboardAttributes, kind: Panel["kind"], ref: string): DashboardAttributes {
  const bottom = d.panels.reduce((m, p) => Math.max(m, p.y + p.h), 0);
  const used = new Set(d.panels.map((p) => p.i));
  let n = d.panels.length + 1;
  while (used.has(`p${n}`)) n += 1;
  // Two half-width panels share a row: start on the right when the last row has room.
  const last = d.panels.filter((p) => p.y + p.h === bottom);
  const rightFree = last.length === 1 && last[0] !== undefined && last[0].x + last[0].w <= GRID_COLUMNS / 2;
  const panel: Panel = rightFree && last[0]
    ? { i: `p${n}`, kind, ref, x: GRID_COLUMNS / 2, y: last[0].y, w: GRID_COLUMNS / 2, h: last[0].h }
    : { i: `p${n}`, kind, ref, x: 0, y: bottom, w: GRID_COLUMNS / 2, h: 8 };
  return { ...d, panels: [...d.panels, panel] };
}

export function removePanel(d: DashboardAttributes, i: string): DashboardAttributes {
  return { ...d, panels: d.panels.filter((p) => p.i !== i) };
}

/** Applies the grid's new positions and sizes, keeping everything else of each panel. */
export function applyLayout(d: DashboardAttributes, layout: ReadonlyArray<{ i: string; x: number; y: number; w: number; h: number }>): DashboardAttributes {
  const at = new Map(layout.map((l) => [l.i, l]));
  return {
    ...d,
    panels: d.panels.map((p) => {
      const l = at.get(p.i);
      return l ? { ...p, x: l.x, y: l.y, w: l.w, h: l.h } : p;
    }),
  };
}

// ---- export / import

export const BUNDLE_FORMAT = "trailscope-saved-objects";
export const BUNDLE_VERSION = 1;

export interface BundleObject {
  type: "dashboard" | "visualization" | "search";
  id: string;
  attributes: Record<string, unknown> & { title: string };
}

export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  version: number;
  exported_at?: string;
  /** Referenced objects first, the dashboards last, so importing in order never dangles. */
  objects: BundleObject[];
}

export function exportBundle(dashboard: BundleObject, refs: BundleObject[], now: Date): Bundle {
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, exported_at: now.toISOString(), objects: [...refs, dashboard] };
}

const TYPES = new Set(["dashboard", "visualization", "search"]);
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Reads a bundle, or says exactly what is wrong with it. */
export function parseBundle(text: string): Bundle | Error {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return new Error(`not JSON: ${String(e)}`);
  }
  const b = v as Partial<Bundle>;
  if (b?.format !== BUNDLE_FORMAT) return new Error(`not a trailscope export: "format" must be "${BUNDLE_FORMAT}"`);
  if (typeof b.version !== "number" || b.version > BUNDLE_VERSION) {
    return new Error(`export version ${String(b.version)} is not supported: this trailscope reads version ${BUNDLE_VERSION} or older`);
  }
  if (!Array.isArray(b.objects)) return new Error(`"objects" must be a list`);
  for (const [n, o] of b.objects.entries()) {
    if (!TYPES.has(o?.type)) return new Error(`object ${n + 1}: unknown type ${JSON.stringify(o?.type)}`);
    if (typeof o.id !== "string" || !ID.test(o.id)) return new Error(`object ${n + 1}: invalid id ${JSON.stringify(o?.id)}`);
    if (typeof o.attributes?.title !== "string" || o.attributes.title.trim() === "") return new Error(`object ${n + 1} (${o.type} ${o.id}): no title`);
  }
  const ids = new Set(b.objects.map((o) => `${o.type}/${o.id}`));
  for (const o of b.objects) {
    const what = `${o.type} ${o.id}`;
    const a = o.attributes as Record<string, unknown>;
    if (o.type === "visualization") {
      const problem = visProblem(a);
      if (problem) return new Error(`${what}: ${problem}`);
    }
    if (o.type === "search" && (typeof a.query !== "string" || !Array.isArray(a.columns) || !Array.isArray(a.filters))) {
      return new Error(`${what}: a saved search needs "query", "filters" and "columns"`);
    }
    if (o.type !== "dashboard") continue;
    if (!Array.isArray(a.panels)) return new Error(`${what}: "panels" must be a list`);
    for (const p of a.panels as Panel[]) {
      if (p?.kind !== "visualization" && p?.kind !== "search") return new Error(`${what}: panel ${String(p?.i)} shows a ${JSON.stringify(p?.kind)}; panels show a visualization or a search`);
      if (![p.x, p.y, p.w, p.h].every((n) => Number.isInteger(n) && n >= 0)) return new Error(`${what}: panel ${p.i} has no valid position and size`);
      if (!ids.has(`${p.kind}/${p.ref}`)) return new Error(`${what}: panel ${p.i} refers to ${p.kind} ${p.ref}, which the export does not contain`);
    }
  }
  return b as Bundle;
}

/** Why a visualization's attributes cannot be drawn, if they cannot. */
function visProblem(a: Record<string, unknown>): string | undefined {
  if (!VIS_TYPES.some((t) => t.type === a.type)) return `unknown visualization type ${JSON.stringify(a.type)}`;
  const m = a.metric as { type?: unknown } | undefined;
  if (!m || !["count", "cardinality", "min", "max", "percent"].includes(String(m.type))) return `no valid "metric"`;
  if (typeof a.query !== "string" || !Array.isArray(a.filters)) return `a visualization needs "query" and "filters"`;
  return undefined;
}
