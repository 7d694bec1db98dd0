// The offline world basemap: Natural Earth's 1:110m countries (public domain), from the
// `world-atlas` npm package as TopoJSON, registered with ECharts once. Loaded on first use, in
// its own chunk, so pages without a map do not pay for it.

import type { FeatureCollection, Geometry } from "geojson";
import * as echarts from "echarts/core";

export const WORLD = "world";

let loading: Promise<void> | null = null;
const names = new Map<string, string>();

/** The country's name as Natural Earth writes it, for an ISO alpha-2 code (after `loadWorld`). */
export function countryName(alpha2: string): string {
  return names.get(alpha2) ?? alpha2;
}

export function loadWorld(): Promise<void> {
  loading ??= (async () => {
    const [{ feature }, topo, countries] = await Promise.all([
      import("topojson-client"),
      import("world-atlas/countries-110m.json"),
      import("i18n-iso-countries"),
    ]);
    const world = topo.default as unknown as Parameters<typeof feature>[0];
    const geo = feature(world, (world as unknown as { objects: { countries: Parameters<typeof feature>[1] } }).objects.countries) as unknown as FeatureCollection;
    // Natural Earth names regions by ISO 3166 numeric code; our events carry alpha-2 codes, so
    // each region is named by its alpha-2 code for the choropleth to match.
    for (const f of geo.features) {
      const numeric = String(f.id ?? "").padStart(3, "0");
      const alpha2 = countries.default.numericToAlpha2(numeric);
      const title = (f.properties as { name?: string } | null)?.name ?? "";
      if (alpha2) names.set(alpha2, title);
      f.properties = { ...(f.properties ?? {}), title, name: alpha2 ?? `n${numeric}` };
    }
    for (const f of geo.features) unwrapAntimeridian(f.geometry);
    echarts.registerMap(WORLD, geo as unknown as Parameters<typeof echarts.registerMap>[1]);
  })();
  return loading;
}

/**
 * Rings that cross the antimeridian (Russia's Chukotka, Fiji) jump from +180 to -180 and would
 * be drawn as lines across the whole map; their western points are moved east of +180 instead.
 */
export function unwrapAntimeridian(g: Geometry | null): void {
  if (!g) return;
  const polygons = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
  for (const polygon of polygons) {
    for (const ring of polygon) {
      const crosses = ring.some((p) => (p[0] ?? 0) > 170) && ring.some((p) => (p[0] ?? 0) < -170);
      if (crosses) for (const p of ring) if ((p[0] ?? 0) < 0) p[0] = (p[0] ?? 0) + 360;
    }
  }
}
