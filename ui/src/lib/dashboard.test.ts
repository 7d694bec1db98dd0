import { describe, expect, it } from "vitest";
import { addPanel, applyLayout, emptyDashboard, exportBundle, parseBundle, removePanel } from "./dashboard";

describe("panels", () => {
  it("places new panels two to a row", () => {
    let d = emptyDashboard("d");
    d = addPanel(d, "visualization", "a");
    d = addPanel(d, "visualization", "b");
    d = addPanel(d, "search", "c");
    expect(d.panels.map((p) => [p.i, p.x, p.y, p.w])).toEqual([
      ["p1", 0, 0, 6],
      ["p2", 6, 0, 6],
      ["p3", 0, 8, 6],
    ]);
    d = removePanel(d, "p2");
    expect(addPanel(d, "visualization", "e").panels.at(-1)?.i).toBe("p4");
  });
  it("takes positions from the grid", () => {
    const d = addPanel(emptyDashboard("d"), "visualization", "a");
    expect(applyLayout(d, [{ i: "p1", x: 3, y: 2, w: 9, h: 4 }]).panels[0]).toMatchObject({ ref: "a", x: 3, y: 2, w: 9, h: 4 });
  });
});

describe("bundles", () => {
  const vis = { type: "visualization" as const, id: "v1", attributes: { title: "Top IPs", type: "table", query: "", filters: [], metric: { type: "count" } } };
  const dash = { type: "dashboard" as const, id: "d1", attributes: { ...addPanel(emptyDashboard("ECS"), "visualization", "v1") } };
  it("round-trips", () => {
    const b = exportBundle(dash, [vis], new Date(0));
    expect(parseBundle(JSON.stringify(b))).toEqual(b);
    expect(b.objects.map((o) => o.id)).toEqual(["v1", "d1"]);
  });
  it("refuses what it cannot import, saying why", () => {
    expect(String(parseBundle("{"))).toContain("not JSON");
    expect(String(parseBundle('{"format":"kibana"}'))).toContain("not a trailscope export");
    expect(String(parseBundle(JSON.stringify({ ...exportBundle(dash, [vis], new Date(0)), version: 9 })))).toContain("version 9 is not supported");
    expect(String(parseBundle(JSON.stringify(exportBundle(dash, [], new Date(0)))))).toContain("refers to visualization v1");
    const bad = exportBundle(dash, [{ ...vis, id: "../x" }], new Date(0));
    expect(String(parseBundle(JSON.stringify(bad)))).toContain("invalid id");
    const noMetric = exportBundle(dash, [{ ...vis, attributes: { title: "x", type: "table", query: "", filters: [] } }], new Date(0));
    expect(String(parseBundle(JSON.stringify(noMetric)))).toContain('no valid "metric"');
    const nested = { ...dash, attributes: { ...dash.attributes, panels: [{ ...dash.attributes.panels[0]!, kind: "dashboard" as "search" }] } };
    expect(String(parseBundle(JSON.stringify(exportBundle(nested, [vis], new Date(0)))))).toContain("panels show a visualization or a search");
  });
});
