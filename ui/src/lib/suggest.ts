// Query-bar autocomplete: what the word under the cursor is, and which field names fit it.
// The server parses the query; this only needs to know where a field name may be typed.

export interface FieldInfo {
  name: string;
  type: string;
  count: number;
  aggregatable: boolean;
  searchable: boolean;
  json_path: boolean;
}

export interface Token {
  /** Where the word starts and ends (the cursor is inside or at its end). */
  start: number;
  end: number;
  text: string;
}

// Characters that end a field name in our language: spaces, grouping, operators and quotes.
const BOUNDARY = /[\s()":!<>=&|+\-]/;

/**
 * The word at `cursor` when a field name could be typed there: not inside quotes and not after
 * a `field:` (that is a value).
 */
export function fieldTokenAt(query: string, cursor: number): Token | undefined {
  let quotes = 0;
  for (let i = 0; i < cursor; i += 1) if (query[i] === '"' && query[i - 1] !== "\\") quotes += 1;
  if (quotes % 2 === 1) return undefined;
  let start = cursor;
  while (start > 0 && !BOUNDARY.test(query[start - 1]!)) start -= 1;
  // A leading '-' or '+' belongs to the operator, but dashes inside names do not occur in
  // field names we know, so the boundary set above is safe.
  let end = cursor;
  while (end < query.length && !BOUNDARY.test(query[end]!)) end += 1;
  const text = query.slice(start, end);
  if (text.length === 0) return undefined;
  if (start > 0 && query[start - 1] === ":") return undefined;
  if (/^(and|or|not|to)$/i.test(text)) return undefined;
  return { start, end, text };
}

/** Field names for a typed prefix: prefix matches first, then those containing it; used fields first. */
export function suggestFields(fields: FieldInfo[], typed: string, limit = 10): FieldInfo[] {
  const t = typed.toLowerCase();
  const scored: Array<[number, FieldInfo]> = [];
  for (const f of fields) {
    const n = f.name.toLowerCase();
    if (n === t) continue;
    const at = n.indexOf(t);
    if (at < 0) continue;
    // Prefix matches rank above inner matches; among equals, fields that occur rank first.
    const score = (at === 0 ? 0 : 2) + (f.count > 0 ? 0 : 1);
    scored.push([score, f]);
  }
  scored.sort((a, b) => a[0] - b[0] || b[1].count - a[1].count || a[1].name.localeCompare(b[1].name));
  return scored.slice(0, limit).map(([, f]) => f);
}

/** The query after choosing `field` for `token`, and where the cursor goes (after the colon). */
export function applySuggestion(query: string, token: Token, field: string): { query: string; cursor: number } {
  const after = query.slice(token.end);
  const colon = after.startsWith(":") ? "" : ":";
  const q = query.slice(0, token.start) + field + colon + after;
  return { query: q, cursor: token.start + field.length + 1 };
}

/** The 1-based column of a syntax error in the server's message ("… at column 17"), if any. */
export function errorColumn(reason: string): number | undefined {
  const all = [...reason.matchAll(/at column (\d+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}
