// Discover's state and its URL form, so a view can be bookmarked and shared:
// `/discover?q=…&from=now-24h&to=now&cols=eventName,eventSource&sort=desc&f=+field:value&id=…`.

import { decodeFilter, encodeFilter, type Filter } from "./filters";
import { DEFAULT_RANGE } from "./time";

export const TIME_FIELD = "eventTime";

export const DEFAULT_COLUMNS = ["eventName", "eventSource", "sourceIPAddress", "userIdentity.arn"];

export interface DiscoverState {
  query: string;
  from: string;
  to: string;
  columns: string[];
  sort: "desc" | "asc";
  filters: Filter[];
  /** "auto" or an explicit interval (`1h`). */
  interval: string;
  /** Auto-refresh period in seconds; 0 is off. */
  refresh: number;
  /** The saved search this view was opened from. */
  savedId?: string;
}

export function defaultState(): DiscoverState {
  return {
    query: "",
    from: DEFAULT_RANGE.from,
    to: DEFAULT_RANGE.to,
    columns: [...DEFAULT_COLUMNS],
    sort: "desc",
    filters: [],
    interval: "auto",
    refresh: 0,
  };
}

export function stateFromParams(p: URLSearchParams): DiscoverState {
  const s = defaultState();
  s.query = p.get("q") ?? s.query;
  s.from = p.get("from") ?? s.from;
  s.to = p.get("to") ?? s.to;
  const cols = p.get("cols");
  if (cols !== null) s.columns = cols.split(",").filter((c) => c.length > 0);
  if (p.get("sort") === "asc") s.sort = "asc";
  s.filters = p.getAll("f").flatMap((f) => {
    const d = decodeFilter(f);
    return d ? [d] : [];
  });
  s.interval = p.get("interval") ?? s.interval;
  const refresh = Number(p.get("refresh") ?? "0");
  s.refresh = Number.isFinite(refresh) && refresh > 0 ? refresh : 0;
  const id = p.get("id");
  if (id) s.savedId = id;
  return s;
}

/** Only what differs from the defaults, so shared links stay short. */
export function stateToParams(s: DiscoverState): URLSearchParams {
  const d = defaultState();
  const p = new URLSearchParams();
  if (s.query) p.set("q", s.query);
  if (s.from !== d.from || s.to !== d.to) {
    p.set("from", s.from);
    p.set("to", s.to);
  }
  if (s.columns.join(",") !== d.columns.join(",")) p.set("cols", s.columns.join(","));
  if (s.sort !== d.sort) p.set("sort", s.sort);
  for (const f of s.filters) p.append("f", encodeFilter(f));
  if (s.interval !== d.interval) p.set("interval", s.interval);
  if (s.refresh > 0) p.set("refresh", String(s.refresh));
  if (s.savedId) p.set("id", s.savedId);
  return p;
}

/** Moves a column one place left (-1) or right (+1). */
export function moveColumn(columns: string[], name: string, by: -1 | 1): string[] {
  const i = columns.indexOf(name);
  const j = i + by;
  if (i < 0 || j < 0 || j >= columns.length) return columns;
  const out = [...columns];
  out[i] = columns[j]!;
  out[j] = name;
  return out;
}

export function toggleColumn(columns: string[], name: string): string[] {
  return columns.includes(name) ? columns.filter((c) => c !== name) : [...columns, name];
}
