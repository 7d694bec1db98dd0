import { describe, expect, it } from "vitest";
import { autoInterval, describeRange, resolveRange, resolveTime } from "./time";

const NOW = Date.UTC(2026, 10, 27, 21, 40, 12); // Friday 2026-11-27T21:40:12Z

describe("resolveTime", () => {
  it("reads date math", () => {
    expect(resolveTime("now", NOW)).toBe(NOW);
    expect(resolveTime("now-15m", NOW)).toBe(NOW - 15 * 60_000);
    expect(resolveTime("now-7d", NOW)).toBe(NOW - 7 * 86_400_000);
    expect(resolveTime("now/d", NOW)).toBe(Date.UTC(2026, 10, 27));
    expect(resolveTime("now/d+1d", NOW)).toBe(Date.UTC(2026, 10, 28));
    expect(resolveTime("now-1M/M", NOW)).toBe(Date.UTC(2026, 9, 1));
    expect(resolveTime("now/w", NOW)).toBe(Date.UTC(2026, 10, 23)); // Monday
    expect(resolveTime("now-1y", NOW)).toBe(Date.UTC(2025, 10, 27, 21, 40, 12));
  });
  it("reads ISO instants", () => {
    expect(resolveTime("2022-02-07T00:00:00Z", NOW)).toBe(Date.UTC(2022, 1, 7));
  });
  it("says what is wrong", () => {
    expect(resolveTime("now-15x", NOW)).toBeInstanceOf(Error);
    expect(String(resolveTime("yesterday", NOW))).toContain("neither a date");
  });
});

describe("resolveRange", () => {
  it("refuses a range that ends before it starts", () => {
    expect(resolveRange({ from: "now", to: "now-1h" }, NOW)).toBeInstanceOf(Error);
  });
  it("names quick ranges", () => {
    expect(describeRange({ from: "now-30d", to: "now" })).toBe("Last 30 days");
    expect(describeRange({ from: "2022-01-01", to: "now" })).toBe("2022-01-01 → now");
  });
});

describe("autoInterval", () => {
  it("keeps bars at or under 100", () => {
    expect(autoInterval(15 * 60_000).es).toBe("10s");
    expect(autoInterval(24 * 3_600_000).es).toBe("30m");
    expect(autoInterval(30 * 86_400_000).es).toBe("12h");
    expect(autoInterval(4 * 3_600_000).es).toBe("5m");
  });
});
