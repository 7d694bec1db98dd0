import { describe, expect, it } from "vitest";
import { parseBundle, BUNDLE_FORMAT, BUNDLE_VERSION, GRID_COLUMNS } from "../lib/dashboard";
import { APPS } from "./catalog";

describe("the apps library", () => {
  it("ships the three apps the issue names", () => {
    expect(APPS.map((a) => a.id)).toEqual(["cloudtrail-security", "ecs-activity", "cloudtrail-overview"]);
  });
  for (const a of APPS) {
    it(`${a.id}: is a valid bundle whose panels all resolve and fit the grid`, () => {
      const b = parseBundle(JSON.stringify({ format: BUNDLE_FORMAT, version: BUNDLE_VERSION, objects: a.objects }));
      expect(b).not.toBeInstanceOf(Error);
      const dash = a.objects.find((o) => o.id === a.dashboard);
      const panels = (dash?.attributes as unknown as { panels: Array<{ x: number; w: number; y: number; h: number }> }).panels;
      expect(panels.length).toBe(a.objects.length - 1);
      for (const p of panels) expect(p.x + p.w).toBeLessThanOrEqual(GRID_COLUMNS);
      // No two panels overlap.
      for (const [i, p] of panels.entries()) {
        for (const q of panels.slice(i + 1)) {
          const overlap = p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
          expect(overlap).toBe(false);
        }
      }
      const ids = a.objects.map((o) => o.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => id.startsWith(a.id))).toBe(true);
    });
  }
  it("covers the security questions", () => {
    const titles = APPS[0]!.objects.map((o) => o.attributes.title.toLowerCase()).join(" | ");
    for (const t of ["console logins", "mfa", "root", "deletions", "access denied", "network", "new countries", "map", "top users"]) {
      expect(titles).toContain(t);
    }
  });
});
