import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { HistorySource } from "./activity.js";
import { historyCursorCharsMax, historyCursorOf, historyPositionOf } from "./cursor.js";

const positions = fc.oneof(
  fc.record({
    at: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    source: fc.constant(HistorySource.activity),
    key: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
  }),
  fc.record({
    at: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    source: fc.constantFrom(HistorySource.giftSent, HistorySource.giftReceived),
    key: fc.stringMatching(/^gft_[A-Za-z0-9_-]{1,60}$/),
  }),
);

describe("history cursors", () => {
  it("give back the position they were made from, within their length limit", () => {
    fc.assert(
      fc.property(positions, (position) => {
        const cursor = historyCursorOf(position);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(cursor.length).toBeLessThanOrEqual(historyCursorCharsMax);
        expect(historyPositionOf(cursor)).toEqual(position);
      }),
    );
  });

  it("refuse any text this service did not hand out, as invalid_request", () => {
    const of = (text: string) => Buffer.from(text).toString("base64url");
    for (const cursor of [
      "",
      "a b",
      "x".repeat(historyCursorCharsMax + 1),
      of("1.0.0"),
      of("1.0.01"),
      of("1.0.9223372036854775808"),
      of("1.0.gft_a"),
      of("1.2.42"),
      of("1.3.gft_a"),
      of("01.1.gft_a"),
      of("9007199254740993.1.gft_a"),
      of("1.1.gft_a.b"),
      of("1.1"),
    ]) {
      expect(() => historyPositionOf(cursor), cursor).toThrow(GiftstreamError);
    }
    // Any other text: refused or read as a valid position, never anything else.
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const position = historyPositionOf(text);
          expect(historyPositionOf(historyCursorOf(position))).toEqual(position);
        } catch (error) {
          expect(error).toBeInstanceOf(GiftstreamError);
        }
      }),
    );
  });
});
