import { describe, expect, it } from "vitest";
import { freshJson, JsonTextCache } from "./json-texts.js";

describe("JsonTextCache", () => {
  it("is JSON.stringify for plain JSON", () => {
    const value = { b: 1, a: ["x", null, { c: "é\u2028" }] };
    expect(new JsonTextCache().of(value)).toBe(JSON.stringify(value));
    expect(freshJson.of(value)).toBe(JSON.stringify(value));
  });

  it("answers an object with the text it first computed, also once taken into another cache", () => {
    const value: Record<string, unknown> = { n: 1 };
    const request = new JsonTextCache();
    expect(request.of(value)).toBe('{"n":1}');
    value.n = 2; // never done to a submitted request: shows the text is computed once per object
    expect(request.of(value)).toBe('{"n":1}');
    const batch = new JsonTextCache();
    batch.addAll(request);
    expect(batch.of(value)).toBe('{"n":1}');
    expect(batch.of({ n: 2 })).toBe('{"n":2}');
    expect(freshJson.of(value)).toBe('{"n":2}');
  });

  it("throws on what JSON cannot hold, and caches nothing for it", () => {
    const cache = new JsonTextCache();
    expect(() => cache.of({ amount: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => cache.of(cyclic)).toThrow(TypeError);
    expect(() => cache.of(cyclic)).toThrow(TypeError);
    expect(() => cache.of({ toJSON: () => undefined })).toThrow(TypeError);
  });
});
