import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../errors.js";
import { type ParseRateOptions, parseRate } from "./rate.js";

function thrown(fn: () => unknown): GiftstreamError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GiftstreamError);
    return error as GiftstreamError;
  }
  throw new Error("expected a GiftstreamError");
}

describe("parseRate", () => {
  it.each([
    ["2", {}, 2n, 1n],
    ["0.5", {}, 5n, 10n],
    ["0.50", {}, 50n, 100n],
    ["0.005", {}, 5n, 1000n],
    ["0.01", {}, 1n, 100n],
    ["0.0099", {}, 99n, 10000n],
    ["151.37", {}, 15137n, 100n],
    ["1", {}, 1n, 1n],
    ["100", {}, 100n, 1n],
    ["0", { allowZero: true }, 0n, 1n],
    ["0.000", { allowZero: true }, 0n, 1000n],
    ["-0.5", { allowNegative: true }, -5n, 10n],
    ["123456789012345678901234567890", {}, 123456789012345678901234567890n, 1n],
    ["0.123456789012345678901234567890", {}, 123456789012345678901234567890n, 10n ** 30n],
    ["0.00000001", {}, 1n, 10n ** 8n],
  ] as [string, ParseRateOptions, bigint, bigint][])("parses %o exactly", (text, options, num, den) => {
    expect(parseRate(text, options)).toEqual({ num, den, text });
  });

  it.each([
    [0.005, /not a JSON number: a float cannot hold 0.005 exactly/],
    [2, /not a JSON number/],
    [Number.NaN, /not a JSON number/],
    [5n, /got bigint/],
    [null, /got null/],
    [undefined, /got undefined/],
    [{ num: 1, den: 2 }, /got object/],
    [["0.5"], /got array/],
    ["", /is not a plain decimal number/],
    [" 0.5", /is not a plain decimal/],
    ["0.5 ", /is not a plain decimal/],
    ["+0.5", /is not a plain decimal/],
    ["5e-3", /is not a plain decimal/],
    ["1E2", /is not a plain decimal/],
    ["NaN", /is not a plain decimal/],
    ["Infinity", /is not a plain decimal/],
    ["0x10", /is not a plain decimal/],
    [".5", /is not a plain decimal/],
    ["5.", /is not a plain decimal/],
    ["00.5", /is not a plain decimal/],
    ["05", /is not a plain decimal/],
    ["0.5%", /is not a plain decimal/],
    ["1/2", /is not a plain decimal/],
    ["0,5", /is not a plain decimal/],
    ["0.5.1", /is not a plain decimal/],
    ["--1", /is not a plain decimal/],
    ["\u00bd", /is not a plain decimal/],
    ["1234567890123456789012345678901", /more than 30 significant digits/],
    ["0.0000001234567890123456789012345678901", /more than 30 significant digits/],
    ["1".repeat(41), /longer than 40 characters/],
    ["0.5".padEnd(1000, "0"), /longer than 40 characters/],
    ["-0.5", /must not be negative/],
    ["-2", /must not be negative/],
    ["0", /must not be zero/],
    ["0.00", /must not be zero/],
    ["-0", /negative zero/],
    ["-0.0", /negative zero/],
  ])("rejects %o", (input, detail) => {
    const error = thrown(() => parseRate(input));
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/^rate /);
    expect(error.message).toMatch(detail);
  });

  it("refuses negative zero even where negatives and zero are allowed", () => {
    expect(thrown(() => parseRate("-0", { allowNegative: true, allowZero: true })).message).toMatch(
      /negative zero/,
    );
  });

  it("names the field", () => {
    const error = thrown(() => parseRate("1e3", { field: "economy.diamondValue" }));
    expect(error.message).toBe('economy.diamondValue "1e3" is not a plain decimal number');
    expect(error.extra).toEqual({ field: "economy.diamondValue" });
  });
});
