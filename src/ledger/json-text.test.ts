import { describe, expect, it } from "vitest";
import { jsonText } from "./json-text.js";

describe("jsonText", () => {
  it("is JSON.stringify for plain JSON", () => {
    const value = { b: 1, a: ["x", null, { c: "é\u2028" }] };
    expect(jsonText(value)).toBe(JSON.stringify(value));
    expect(JSON.parse(jsonText(value))).toEqual(value);
  });

  it("answers the same object with the text it first computed, and another object afresh", () => {
    const value: Record<string, unknown> = { n: 1 };
    expect(jsonText(value)).toBe('{"n":1}');
    value.n = 2; // never done to a submitted request: shows the text is computed once per object
    expect(jsonText(value)).toBe('{"n":1}');
    expect(jsonText({ n: 2 })).toBe('{"n":2}');
  });

  it("throws on what JSON cannot hold, and caches nothing for it", () => {
    expect(() => jsonText({ amount: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonText(cyclic)).toThrow(TypeError);
    expect(() => jsonText(cyclic)).toThrow(TypeError);
  });
});
