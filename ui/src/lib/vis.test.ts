import { describe, expect, it } from "vitest";
import type { SearchResponse } from "./api";
import { chartOption, defaultSpec, readVis, visRequest, type VisSpec } from "./vis";

const ctx = { range: { from: 0, to: 30 * 86_400_000 }, query: "eventSource:ecs.amazonaws.com", filters: [{ field: "awsRegion", value: "us-east-1", negate: true }] };
const fmt = (n: number) => String(n);
const res = (aggregations: Record<string, unknown>, total = 100): SearchResponse => ({ took: 1, hits: { total: { value: total, relation: "eq" }, hits: [] }, aggregations: aggregations as SearchResponse["aggregations"] });

describe("visRequest", () => {
  it("combines the vis's and the dashboard's queries and filters with the range", () => {
    const spec: VisSpec = { ...defaultSpec("table"), query: "readOnly:false", filters: [{ field: "eventName", value: "RunTask", negate: false }] };
    const q = visRequest(spec, ctx).query as { bool: { must: unknown[]; filter: unknown[]; must_not: unknown[] } };
    expect(q.bool.must).toEqual([
      { query_string: { query: "readOnly:false", analyze_wildcard: true } },
      { query_string: { query: "eventSource:ecs.amazonaws.com", analyze_wildcard: true } },
    ]);
    expect(q.bool.filter).toHaveLength(2);
    expect(q.bool.must_not).toEqual([{ match_phrase: { awsRegion: "us-east-1" } }]);
  });
  it("asks for the top values of the split field", () => {
    const body = visRequest(defaultSpec("pie"), ctx);
    expect(body.aggs).toEqual({ split: { terms: { field: "sourceIPAddress", size: 5, order: { _count: "desc" } } } });
  });
  it("orders by a unique count when that is the metric", () => {
    const spec: VisSpec = { ...defaultSpec("table"), metric: { type: "cardinality", field: "userIdentity.arn" } };
    const aggs = visRequest(spec, ctx).aggs as Record<string, { terms?: { order: unknown }; aggs?: unknown }>;
    expect(aggs.split?.terms?.order).toEqual({ metric: "desc" });
    expect(aggs.split?.aggs).toEqual({ metric: { cardinality: { field: "userIdentity.arn" } } });
  });
  it("uses a histogram with split series for lines", () => {
    const spec: VisSpec = { ...defaultSpec("line"), series: { field: "eventName", size: 3 } };
    const aggs = visRequest(spec, ctx).aggs as { time: { date_histogram: { fixed_interval: string }; aggs: unknown } };
    expect(aggs.time.date_histogram.fixed_interval).toBe("12h");
    expect(aggs.time.aggs).toEqual({ series: { terms: { field: "eventName", size: 3 } } });
  });
  it("grids geoip.location for maps, and terms on the country code for choropleths", () => {
    expect(Object.keys(visRequest(defaultSpec("map"), ctx).aggs as object)).toEqual(["grid"]);
    const c = visRequest({ ...defaultSpec("map"), mapMode: "countries" }, ctx).aggs as { countries: { terms: { field: string } } };
    expect(c.countries.terms.field).toBe("geoip.country_code2");
  });
});

describe("readVis and chartOption", () => {
  it("reads rows and an Other slice", () => {
    const d = readVis(defaultSpec("pie"), res({ split: { sum_other_doc_count: 7, buckets: [{ key: "1.2.3.4", doc_count: 60 }, { key: "5.6.7.8", doc_count: 33 }] } }));
    expect(d).toEqual({ kind: "rows", field: "sourceIPAddress", rows: [{ key: "1.2.3.4", value: 60 }, { key: "5.6.7.8", value: 33 }], other: 7, total: 100, label: "Count" });
    const opt = chartOption(defaultSpec("pie"), d, fmt) as { series: Array<{ data: Array<{ name: string }>; radius: unknown }> };
    expect(opt.series[0]?.data.map((x) => x.name)).toEqual(["1.2.3.4", "5.6.7.8", "Other"]);
    expect(opt.series[0]?.radius).toEqual(["35%", "62%"]);
  });
  it("reads split series, largest first, with zeros where a value is absent", () => {
    const spec: VisSpec = { ...defaultSpec("bar"), series: { field: "eventName", size: 2 } };
    const d = readVis(spec, res({
      time: {
        buckets: [
          { key: 0, doc_count: 3, series: { buckets: [{ key: "A", doc_count: 1 }, { key: "B", doc_count: 2 }] } },
          { key: 43_200_000, doc_count: 5, series: { buckets: [{ key: "B", doc_count: 5 }] } },
        ],
      },
    }));
    expect(d).toMatchObject({ kind: "series", times: [0, 43_200_000], series: [{ name: "B", values: [2, 5] }, { name: "A", values: [1, 0] }] });
    // Only the `size` largest series over the whole range are drawn.
    const one = readVis({ ...spec, series: { field: "eventName", size: 1 } }, res({ time: { buckets: [{ key: 0, doc_count: 3, series: { buckets: [{ key: "A", doc_count: 1 }, { key: "B", doc_count: 2 }] } }] } }));
    expect(one).toMatchObject({ series: [{ name: "B" }] });
    expect((one as { series: unknown[] }).series).toHaveLength(1);
    const opt = chartOption(spec, d, fmt) as { series: Array<{ type: string; stack?: string; data: unknown[] }> };
    expect(opt.series.map((s) => [s.type, s.stack])).toEqual([["bar", "total"], ["bar", "total"]]);
    expect(opt.series[1]?.data).toEqual([[0, 1], [43_200_000, 0]]);
  });
  it("reads map points from centroids", () => {
    const d = readVis(defaultSpec("map"), res({ grid: { buckets: [{ key: "4/8/5", doc_count: 9, centroid: { location: { lat: 51.5, lon: -0.1 } } }] } }));
    expect(d).toEqual({ kind: "points", points: [{ lat: 51.5, lon: -0.1, value: 9, key: "4/8/5" }], label: "Count" });
  });
  it("orders rows by first seen, newest first", () => {
    const spec: VisSpec = { ...defaultSpec("table"), split: { field: "geoip.country_name", size: 5, order: "desc" }, metric: { type: "min", field: "eventTime" } };
    const aggs = visRequest(spec, ctx).aggs as Record<string, { terms?: { order: unknown }; aggs?: unknown }>;
    expect(aggs.split?.terms?.order).toEqual({ metric: "desc" });
    expect(aggs.split?.aggs).toEqual({ metric: { min: { field: "eventTime" } } });
    const d = readVis(spec, res({ split: { sum_other_doc_count: 3, buckets: [{ key: "Russia", doc_count: 2, metric: { value: 1_700_000_000_000 } }] } }));
    expect(d).toMatchObject({ rows: [{ key: "Russia", value: 1_700_000_000_000 }], other: 0, label: "First seen" });
  });
  it("reads shares of matching events, and nothing where there were no events", () => {
    const spec: VisSpec = { ...defaultSpec("line"), metric: { type: "percent", query: "errorCode:*" } };
    const aggs = visRequest(spec, ctx).aggs as { time: { aggs: unknown } };
    expect(aggs.time.aggs).toEqual({ metric: { filter: { query_string: { query: "errorCode:*", analyze_wildcard: true } } } });
    const d = readVis(spec, res({ time: { buckets: [{ key: 0, doc_count: 4, metric: { doc_count: 1 } }, { key: 1, doc_count: 0, metric: { doc_count: 0 } }] } }));
    expect(d).toMatchObject({ series: [{ values: [25, null] }], label: "% matching errorCode:*" });
    const m = readVis({ ...defaultSpec("metric"), metric: { type: "percent", query: "errorCode:*" } }, res({ metric: { doc_count: 5 } }, 20));
    expect(m).toMatchObject({ value: 25 });
    const firstSeen = readVis({ ...defaultSpec("metric"), metric: { type: "min", field: "eventTime" } }, res({ metric: { value: null } }, 0));
    expect(firstSeen).toMatchObject({ value: null });
  });
  it("looks at all history for first seen when asked", () => {
    const q = visRequest({ ...defaultSpec("table"), allHistory: true }, ctx).query as { bool: { filter: Array<{ range?: { eventTime: Record<string, unknown> } }> } };
    expect(q.bool.filter[0]?.range?.eventTime).toEqual({ lte: ctx.range.to, format: "epoch_millis" });
  });
  it("escapes bucket keys in pie tooltips", () => {
    const d = readVis(defaultSpec("pie"), res({ split: { buckets: [{ key: "<img src=x onerror=alert(1)>", doc_count: 1 }] } }));
    const opt = chartOption(defaultSpec("pie"), d, fmt) as { tooltip: { formatter: (p: unknown) => string } };
    expect(opt.tooltip.formatter({ name: "<img src=x onerror=alert(1)>", value: 1, percent: 100 })).toBe("&lt;img src=x onerror=alert(1)&gt;<br/><b>1</b> (100%)");
  });
  it("reads a unique count as the metric", () => {
    const spec: VisSpec = { ...defaultSpec("metric"), metric: { type: "cardinality", field: "userIdentity.arn" } };
    expect(readVis(spec, res({ metric: { value: 14 } }))).toEqual({ kind: "metric", value: 14, label: "Unique count of userIdentity.arn" });
    expect(readVis(defaultSpec("metric"), res({}, 42))).toMatchObject({ value: 42, label: "Count" });
  });
});
