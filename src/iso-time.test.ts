import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time.js";

describe("isoTime", () => {
  it("writes exactly what toISOString writes, for any time a Date can hold", () => {
    const maxMs = 8.64e15;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -maxMs, max: maxMs }),
          fc.double({ min: -maxMs, max: maxMs, noNaN: true }),
        ),
        (ms) => {
          expect(isoTime(ms)).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("gets the edges of days and of the fast range right", () => {
    for (const ms of [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 253_402_300_799_999, 253_402_300_800_000, -1,
    ]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("refuses what a Date cannot hold, as toISOString does", () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) {
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });
});
