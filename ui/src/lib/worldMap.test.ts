import { describe, expect, it } from "vitest";
import type { Polygon } from "geojson";
import { unwrapAntimeridian } from "./worldMap";

describe("unwrapAntimeridian", () => {
  it("moves the western half of a crossing ring east", () => {
    const g: Polygon = { type: "Polygon", coordinates: [[[179, -16], [-179.5, -16.5], [-179, -17], [179, -16]]] };
    unwrapAntimeridian(g);
    expect(g.coordinates[0]?.map((p) => p[0])).toEqual([179, 180.5, 181, 179]);
  });
  it("leaves other rings alone", () => {
    const g: Polygon = { type: "Polygon", coordinates: [[[-10, 50], [2, 51], [-10, 50]]] };
    unwrapAntimeridian(g);
    expect(g.coordinates[0]?.map((p) => p[0])).toEqual([-10, 2, -10]);
  });
});
