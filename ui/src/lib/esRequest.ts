// Elasticsearch request bodies for Discover, built from its state; the server's `_search`
// answers them (the same API any Elasticsearch client uses).

import type { DiscoverState } from "./discoverState";
import { TIME_FIELD } from "./discoverState";
import type { Filter } from "./filters";
import { autoInterval, namedInterval, type Interval } from "./time";

export const HIGHLIGHT_PRE = "@kibana-highlighted-field@";
export const HIGHLIGHT_POST = "@/kibana-highlighted-field@";
export const PAGE_SIZE = 100;

type Json = Record<string, unknown>;

function filterClause(f: Filter): Json {
  return { match_phrase: { [f.field]: f.value } };
}

/**
 * The query part shared by every request the UI makes: query-bar texts (a Discover query, or a
 * visualization's own query plus its dashboard's), filter pills, and the time range. `from` may
 * be left out ("since the beginning") for questions about all history, such as first seen.
 */
export function boolQuery(queries: string | string[], filters: Filter[], range: { from?: number; to: number }): Json {
  const must: Json[] = (Array.isArray(queries) ? queries : [queries])
    .filter((q) => q.trim() !== "")
    .map((query) => ({ query_string: { query, analyze_wildcard: true } }));
  const time: Json = { lte: range.to, format: "epoch_millis" };
  if (range.from !== undefined) time.gte = range.from;
  const filter: Json[] = [{ range: { [TIME_FIELD]: time } }, ...filters.filter((f) => !f.negate).map(filterClause)];
  const mustNot = filters.filter((f) => f.negate).map(filterClause);
  return { bool: { must, filter, must_not: mustNot } };
}

export function histogramInterval(s: DiscoverState, range: { from: number; to: number }): Interval {
  return (s.interval !== "auto" ? namedInterval(s.interval) : undefined) ?? autoInterval(range.to - range.from);
}

/** The first page: newest (or oldest) hits, the exact total and the histogram. */
export function discoverBody(s: DiscoverState, range: { from: number; to: number }, interval: Interval): Json {
  return {
    size: PAGE_SIZE,
    track_total_hits: true,
    sort: [{ [TIME_FIELD]: { order: s.sort } }],
    query: boolQuery(s.query, s.filters, range),
    aggs: {
      histogram: {
        date_histogram: {
          field: TIME_FIELD,
          fixed_interval: interval.es,
          min_doc_count: 0,
          extended_bounds: { min: range.from, max: range.to },
        },
      },
    },
    highlight: {
      pre_tags: [HIGHLIGHT_PRE],
      post_tags: [HIGHLIGHT_POST],
      fields: { "*": {} },
    },
  };
}

/** The next page after the last hit shown (`search_after` its sort values). */
export function nextPageBody(s: DiscoverState, range: { from: number; to: number }, after: unknown[]): Json {
  return {
    size: PAGE_SIZE,
    track_total_hits: false,
    sort: [{ [TIME_FIELD]: { order: s.sort } }],
    search_after: after,
    query: boolQuery(s.query, s.filters, range),
    highlight: { pre_tags: [HIGHLIGHT_PRE], post_tags: [HIGHLIGHT_POST], fields: { "*": {} } },
  };
}

/** The field sidebar's top values of one field under the current query. */
export function topValuesBody(s: DiscoverState, range: { from: number; to: number }, field: string, size = 5): Json {
  return {
    size: 0,
    track_total_hits: true,
    query: boolQuery(s.query, s.filters, range),
    aggs: {
      present: { filter: { exists: { field } } },
      top: { terms: { field, size } },
    },
  };
}
