// Filter pills: `field:value` (or its negation) added from the field sidebar or a document,
// shown under the query bar and sent as Elasticsearch `match_phrase` clauses.

export interface Filter {
  field: string;
  value: string;
  negate: boolean;
}

/** `+field:value` / `-field:value`, the form used in URLs. */
export function encodeFilter(f: Filter): string {
  return `${f.negate ? "-" : "+"}${f.field}:${f.value}`;
}

export function decodeFilter(s: string): Filter | undefined {
  const sign = s[0];
  if (sign !== "+" && sign !== "-") return undefined;
  const colon = s.indexOf(":");
  if (colon < 2) return undefined;
  return { field: s.slice(1, colon), value: s.slice(colon + 1), negate: sign === "-" };
}

export function sameFilter(a: Filter, b: Filter): boolean {
  return a.field === b.field && a.value === b.value && a.negate === b.negate;
}

/** Adds a filter, replacing its opposite (adding `-x:1` removes `+x:1`). */
export function addFilter(list: Filter[], f: Filter): Filter[] {
  const rest = list.filter((x) => !(x.field === f.field && x.value === f.value));
  return [...rest, f];
}

export function describeFilter(f: Filter): string {
  return `${f.negate ? "NOT " : ""}${f.field}: ${f.value}`;
}
