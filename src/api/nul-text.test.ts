import { describe, expect, it } from "vitest";
import { holdsUnstorable, refuseUnstorable } from "./nul-text.js";

describe("NUL and lone surrogates in request text", () => {
  it("finds it in strings, nested values and keys", () => {
    expect(holdsUnstorable("a\u0000b")).toBe(true);
    expect(holdsUnstorable({ context: { id: "s\u0000" } })).toBe(true);
    expect(holdsUnstorable([{ gifts: ["ok", "x\u0000"] }])).toBe(true);
    expect(holdsUnstorable({ "k\u0000": 1 })).toBe(true);
    expect(holdsUnstorable({ context: { id: "stream-\ud800" } })).toBe(true);
    expect(holdsUnstorable(["\udc00 low first"])).toBe(true);
    expect(holdsUnstorable({ "k\udbff": 1 })).toBe(true);
  });

  it("passes text without it, including the escape written out", () => {
    expect(holdsUnstorable({ name: "Zoë", note: "\\u0000 as text", n: 5, ok: true, none: null })).toBe(false);
    expect(() => refuseUnstorable([{ a: "fine" }, undefined, "also fine"])).not.toThrow();
    expect(holdsUnstorable({ emoji: "🎁 gift", pair: "\ud83c\udf81" })).toBe(false);
    expect(() => refuseUnstorable([{ a: "bad\u0000" }])).toThrow(/NUL character/);
    expect(() => refuseUnstorable([{ a: "bad\ud800" }])).toThrow(/lone surrogate/);
  });

  it("does not walk a raw body's bytes", () => {
    // Signed webhooks and KYC uploads arrive as a Buffer. Walked as an object, each byte was an
    // entry (about 0.6 s a MiB, with the event loop blocked); the NUL bytes are data, not text.
    const body = Buffer.alloc(1 << 20);
    // An own property is seen only by a walk of the object's entries: it makes this fail if the
    // bytes were ever walked again.
    Object.assign(body, { marker: "walked\u0000" });
    expect(holdsUnstorable(body)).toBe(false);
    expect(holdsUnstorable({ nested: new Uint8Array([0, 0xd8]) })).toBe(false);
    expect(() => refuseUnstorable([undefined, {}, body])).not.toThrow();
  });
});
