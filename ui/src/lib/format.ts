// Numbers and times for people: grouped digits, times in the browser's zone (UTC on hover).

const INTEGER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return INTEGER.format(n);
}

/** "Nov 27, 2026 @ 21:40:12.000" in the browser's zone, as Kibana shows it. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const date = d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  const time = d.toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return `${date} @ ${time}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

export function utc(ms: number): string {
  return new Date(ms).toISOString();
}
