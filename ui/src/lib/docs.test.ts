import { describe, expect, it } from "vitest";
import { flatten, formatValue, getPath, highlightedTerms, markTerms } from "./docs";

const doc = {
  eventSource: "ecs.amazonaws.com",
  userIdentity: { arn: "arn:aws:iam::1:user/bob", sessionContext: { attributes: { mfaAuthenticated: "false" } } },
  requestParameters: { cluster: "prod", tags: [{ key: "a" }] },
  responseElements: null,
  geoip: { location: { lat: 1.5, lon: 2 } },
};

describe("documents", () => {
  it("reads dotted names case-insensitively", () => {
    expect(getPath(doc, "eventsource")).toBe("ecs.amazonaws.com");
    expect(getPath(doc, "userIdentity.ARN")).toBe("arn:aws:iam::1:user/bob");
    expect(getPath(doc, "requestParameters.missing")).toBeUndefined();
    expect(formatValue(getPath(doc, "geoip.location"))).toBe('{"lat":1.5,"lon":2}');
    expect(formatValue(getPath(doc, "responseElements"))).toBe("");
  });
  it("flattens to leaves", () => {
    expect(flatten(doc).map(([k]) => k)).toEqual([
      "eventSource",
      "userIdentity.arn",
      "userIdentity.sessionContext.attributes.mfaAuthenticated",
      "requestParameters.cluster",
      "requestParameters.tags",
      "responseElements",
      "geoip.location.lat",
      "geoip.location.lon",
    ]);
  });
});

describe("highlighting", () => {
  it("collects highlighted terms, longest first", () => {
    const h = {
      eventSource: ["@kibana-highlighted-field@ecs.amazonaws.com@/kibana-highlighted-field@"],
      userAgent: ["aws-cli @kibana-highlighted-field@ecs@/kibana-highlighted-field@ x"],
    };
    expect(highlightedTerms(h)).toEqual(["ecs.amazonaws.com", "ecs"]);
  });
  it("marks occurrences", () => {
    expect(markTerms('"ECS.amazonaws.com", "ecs"', ["ecs.amazonaws.com", "ecs"])).toEqual([
      { text: '"', mark: false },
      { text: "ECS.amazonaws.com", mark: true },
      { text: '", "', mark: false },
      { text: "ecs", mark: true },
      { text: '"', mark: false },
    ]);
    expect(markTerms("nothing", [])).toEqual([{ text: "nothing", mark: false }]);
  });
});
