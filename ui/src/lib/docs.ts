// Reading documents (`_source`): values by dotted, case-insensitive field names, flattening for
// the field table, and marking the highlighted terms in the pretty JSON.

import { HIGHLIGHT_POST, HIGHLIGHT_PRE } from "./esRequest";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** The value at `a.b.c`, matching names case-insensitively (users type `eventsource`). */
export function getPath(doc: JsonValue, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    const obj: { [k: string]: JsonValue } = cur;
    if (part in obj) {
      cur = obj[part];
      continue;
    }
    const lower = part.toLowerCase();
    const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
    if (key === undefined) return undefined;
    cur = obj[key];
  }
  return cur;
}

/** A cell's text: strings as they are, everything else as compact JSON. */
export function formatValue(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Every leaf as `[dotted.path, value]`, in document order; arrays stay whole. */
export function flatten(doc: JsonValue, prefix = ""): Array<[string, JsonValue]> {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return prefix ? [[prefix, doc]] : [];
  const out: Array<[string, JsonValue]> = [];
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
      out.push(...flatten(v, path));
    } else {
      out.push([path, v]);
    }
  }
  return out;
}

/** The words the server highlighted, from a hit's `highlight` fragments. */
export function highlightedTerms(highlight: Record<string, string[]> | undefined): string[] {
  if (!highlight) return [];
  const terms = new Set<string>();
  for (const fragments of Object.values(highlight)) {
    for (const f of fragments) {
      let at = 0;
      for (;;) {
        const start = f.indexOf(HIGHLIGHT_PRE, at);
        if (start < 0) break;
        const end = f.indexOf(HIGHLIGHT_POST, start);
        if (end < 0) break;
        const term = f.slice(start + HIGHLIGHT_PRE.length, end);
        if (term.length > 0) terms.add(term);
        at = end + HIGHLIGHT_POST.length;
      }
    }
  }
  // Longest first, so "ecs.amazonaws.com" wins over "ecs" where both match.
  return [...terms].sort((a, b) => b.length - a.length);
}

export interface Piece {
  text: string;
  mark: boolean;
}

/** Splits `text` into runs, marking each occurrence of a term (case-insensitive). */
export function markTerms(text: string, terms: string[]): Piece[] {
  if (terms.length === 0) return [{ text, mark: false }];
  const lower = text.toLowerCase();
  const needles = terms.map((t) => t.toLowerCase());
  const out: Piece[] = [];
  let plain = 0;
  let i = 0;
  while (i < text.length) {
    const hit = needles.find((n) => n.length > 0 && lower.startsWith(n, i));
    if (hit) {
      if (i > plain) out.push({ text: text.slice(plain, i), mark: false });
      out.push({ text: text.slice(i, i + hit.length), mark: true });
      i += hit.length;
      plain = i;
    } else {
      i += 1;
    }
  }
  if (plain < text.length) out.push({ text: text.slice(plain), mark: false });
  return out;
}
