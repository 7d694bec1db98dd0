import { describe, expect, it } from "vitest";
import { applySuggestion, errorColumn, fieldTokenAt, suggestFields, type FieldInfo } from "./suggest";

const f = (name: string, count = 1): FieldInfo => ({ name, type: "keyword", count, aggregatable: true, searchable: true, json_path: false });
const FIELDS = [f("eventSource", 10), f("eventName", 20), f("errorCode", 0), f("userIdentity.arn", 5), f("sourceIPAddress", 9)];

describe("fieldTokenAt", () => {
  it("finds the word being typed", () => {
    expect(fieldTokenAt("eventso", 7)).toEqual({ start: 0, end: 7, text: "eventso" });
    expect(fieldTokenAt("a:1 and (user", 13)).toEqual({ start: 9, end: 13, text: "user" });
    expect(fieldTokenAt("not sourceip", 12)?.text).toBe("sourceip");
  });
  it("stays quiet in values, quotes and operators", () => {
    expect(fieldTokenAt("eventsource:ecs", 15)).toBeUndefined();
    expect(fieldTokenAt('x:"a b', 6)).toBeUndefined();
    expect(fieldTokenAt("a:1 and", 7)).toBeUndefined();
    expect(fieldTokenAt("", 0)).toBeUndefined();
  });
});

describe("suggestFields", () => {
  it("ranks prefix matches and used fields first", () => {
    expect(suggestFields(FIELDS, "e").map((x) => x.name)).toEqual(["eventName", "eventSource", "errorCode", "sourceIPAddress", "userIdentity.arn"]);
    expect(suggestFields(FIELDS, "source").map((x) => x.name)).toEqual(["sourceIPAddress", "eventSource"]);
  });
});

describe("applySuggestion", () => {
  it("replaces the word and adds a colon", () => {
    const q = "a:1 and eventso";
    const t = fieldTokenAt(q, q.length)!;
    expect(applySuggestion(q, t, "eventSource")).toEqual({ query: "a:1 and eventSource:", cursor: 20 });
  });
});

describe("errorColumn", () => {
  it("reads the last column the server names", () => {
    expect(errorColumn("expected ')' to close '(' opened at column 13 at column 17")).toBe(17);
    expect(errorColumn("unknown field")).toBeUndefined();
  });
});
