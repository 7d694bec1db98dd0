// Time ranges as Kibana writes them: date math relative to now (`now-15m`, `now-7d/d`) or
// absolute ISO-8601 instants; resolved to epoch milliseconds only when a request is built, so
// a bookmarked "last 24 hours" stays relative.

export interface TimeRange {
  from: string;
  to: string;
}

export interface QuickRange extends TimeRange {
  label: string;
}

export const QUICK_RANGES: QuickRange[] = [
  { label: "Last 15 minutes", from: "now-15m", to: "now" },
  { label: "Last 30 minutes", from: "now-30m", to: "now" },
  { label: "Last 1 hour", from: "now-1h", to: "now" },
  { label: "Last 4 hours", from: "now-4h", to: "now" },
  { label: "Last 12 hours", from: "now-12h", to: "now" },
  { label: "Last 24 hours", from: "now-24h", to: "now" },
  { label: "Last 7 days", from: "now-7d", to: "now" },
  { label: "Last 30 days", from: "now-30d", to: "now" },
  { label: "Last 90 days", from: "now-90d", to: "now" },
  { label: "Last 1 year", from: "now-1y", to: "now" },
  { label: "Today", from: "now/d", to: "now/d+1d" },
];

export const DEFAULT_RANGE: TimeRange = { from: "now-24h", to: "now" };

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Epoch milliseconds for a date-math or ISO expression, or an Error saying what is wrong. */
export function resolveTime(expr: string, now: number): number | Error {
  const e = expr.trim();
  if (!e.startsWith("now")) {
    const t = Date.parse(e);
    return Number.isNaN(t) ? new Error(`'${expr}' is neither a date (2026-11-27T10:00:00Z) nor date math (now-15m)`) : t;
  }
  let t = now;
  const ops = e.slice(3);
  const re = /([+-])(\d+)([smhdwMy])|\/([smhdwMy])/gy;
  let pos = 0;
  while (pos < ops.length) {
    re.lastIndex = pos;
    const m = re.exec(ops);
    if (!m) return new Error(`cannot read '${ops.slice(pos)}' in '${expr}': expected +N or -N with a unit (s m h d w M y), or /unit`);
    pos = re.lastIndex;
    if (m[4]) {
      t = roundDown(t, m[4]);
    } else {
      const n = Number(m[2]) * (m[1] === "-" ? -1 : 1);
      t = add(t, n, m[3] ?? "s");
    }
  }
  return t;
}

function add(t: number, n: number, unit: string): number {
  if (unit === "M" || unit === "y") {
    const d = new Date(t);
    d.setUTCMonth(d.getUTCMonth() + (unit === "y" ? 12 * n : n));
    return d.getTime();
  }
  return t + n * (UNIT_MS[unit] ?? 0);
}

function roundDown(t: number, unit: string): number {
  const d = new Date(t);
  switch (unit) {
    case "y":
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case "M":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "w": {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      return day - sinceMonday * UNIT_MS.d!;
    }
    default: {
      const u = UNIT_MS[unit] ?? 1;
      return Math.floor(t / u) * u;
    }
  }
}

/** Both ends in epoch ms, or the first error. */
export function resolveRange(r: TimeRange, now: number): { from: number; to: number } | Error {
  const from = resolveTime(r.from, now);
  if (from instanceof Error) return from;
  const to = resolveTime(r.to, now);
  if (to instanceof Error) return to;
  if (from >= to) return new Error(`the range starts (${r.from}) at or after it ends (${r.to})`);
  return { from, to };
}

/** The label of a quick range, or the two ends as written. */
export function describeRange(r: TimeRange): string {
  const q = QUICK_RANGES.find((x) => x.from === r.from && x.to === r.to);
  if (q) return q.label;
  return `${r.from} → ${r.to}`;
}

export interface Interval {
  /** Elasticsearch `fixed_interval`, e.g. `30m`. */
  es: string;
  ms: number;
  /** For the chart's caption: "per 30 minutes". */
  label: string;
}

const INTERVALS: Interval[] = [
  { es: "1s", ms: 1000, label: "second" },
  { es: "5s", ms: 5000, label: "5 seconds" },
  { es: "10s", ms: 10_000, label: "10 seconds" },
  { es: "30s", ms: 30_000, label: "30 seconds" },
  { es: "1m", ms: 60_000, label: "minute" },
  { es: "5m", ms: 300_000, label: "5 minutes" },
  { es: "10m", ms: 600_000, label: "10 minutes" },
  { es: "30m", ms: 1_800_000, label: "30 minutes" },
  { es: "1h", ms: 3_600_000, label: "hour" },
  { es: "3h", ms: 10_800_000, label: "3 hours" },
  { es: "12h", ms: 43_200_000, label: "12 hours" },
  { es: "1d", ms: 86_400_000, label: "day" },
  { es: "7d", ms: 604_800_000, label: "week" },
  { es: "30d", ms: 2_592_000_000, label: "30 days" },
];

/** Kibana's "auto" interval: the smallest round interval giving at most `maxBuckets` bars. */
export function autoInterval(spanMs: number, maxBuckets = 100): Interval {
  for (const i of INTERVALS) {
    if (spanMs / i.ms <= maxBuckets) return i;
  }
  return INTERVALS[INTERVALS.length - 1]!;
}

/** An explicit interval by its ES name, or undefined. */
export function namedInterval(es: string): Interval | undefined {
  return INTERVALS.find((i) => i.es === es);
}

export const INTERVAL_CHOICES = INTERVALS.map((i) => i.es);
