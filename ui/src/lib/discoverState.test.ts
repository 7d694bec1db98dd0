import { describe, expect, it } from "vitest";
import { defaultState, moveColumn, stateFromParams, stateToParams, toggleColumn } from "./discoverState";
import { addFilter } from "./filters";

describe("URL state", () => {
  it("round-trips everything", () => {
    const s = {
      ...defaultState(),
      query: "eventsource:ecs.amazonaws.com and not errorCode:*",
      from: "2022-02-07T00:00:00.000Z",
      to: "now",
      columns: ["eventName", "requestParameters.cluster"],
      sort: "asc" as const,
      filters: [
        { field: "sourceIPAddress", value: "203.0.113.7", negate: false },
        { field: "requestParameters.cluster", value: "a:b c", negate: true },
      ],
      interval: "1h",
      refresh: 30,
      savedId: "abc",
    };
    const back = stateFromParams(new URLSearchParams(stateToParams(s).toString()));
    expect(back).toEqual(s);
  });
  it("keeps default links short", () => {
    expect(stateToParams(defaultState()).toString()).toBe("");
    expect(stateToParams({ ...defaultState(), query: "x" }).toString()).toBe("q=x");
  });
  it("ignores malformed filters and refresh values", () => {
    const s = stateFromParams(new URLSearchParams("f=nosign&f=%2Bx&refresh=-5"));
    expect(s.filters).toEqual([]);
    expect(s.refresh).toBe(0);
  });
});

describe("columns and filters", () => {
  it("moves and toggles columns", () => {
    expect(moveColumn(["a", "b", "c"], "b", -1)).toEqual(["b", "a", "c"]);
    expect(moveColumn(["a", "b", "c"], "c", 1)).toEqual(["a", "b", "c"]);
    expect(toggleColumn(["a"], "b")).toEqual(["a", "b"]);
    expect(toggleColumn(["a", "b"], "a")).toEqual(["b"]);
  });
  it("replaces a filter's opposite", () => {
    const f = [{ field: "x", value: "1", negate: false }];
    expect(addFilter(f, { field: "x", value: "1", negate: true })).toEqual([{ field: "x", value: "1", negate: true }]);
  });
});
