import { describe, expect, it } from "vitest";
import { holdsNul, refuseNul } from "./nul-text.js";

describe("NUL in request text", () => {
  it("finds it in strings, nested values and keys", () => {
    expect(holdsNul("a\u0000b")).toBe(true);
    expect(holdsNul({ context: { id: "s\u0000" } })).toBe(true);
    expect(holdsNul([{ gifts: ["ok", "x\u0000"] }])).toBe(true);
    expect(holdsNul({ "k\u0000": 1 })).toBe(true);
  });

  it("passes text without it, including the escape written out", () => {
    expect(holdsNul({ name: "Zoë", note: "\\u0000 as text", n: 5, ok: true, none: null })).toBe(false);
    expect(() => refuseNul([{ a: "fine" }, undefined, "also fine"])).not.toThrow();
    expect(() => refuseNul([{ a: "bad\u0000" }])).toThrow(/NUL character/);
  });
});
