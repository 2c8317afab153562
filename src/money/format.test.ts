import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../errors.js";
import { formatFixed, formatMajor, formatMinor } from "./format.js";
import { parseFixed, parseMajor, parseMinor } from "./parse.js";

const int64Max = 2n ** 63n - 1n;

describe("formatMajor", () => {
  it.each([
    [990n, "USD", "9.90"],
    [900n, "USD", "9.00"],
    [1n, "USD", "0.01"],
    [10n, "USD", "0.10"],
    [0n, "USD", "0.00"],
    [-5n, "USD", "-0.05"],
    [-990n, "USD", "-9.90"],
    [100000n, "USD", "1000.00"],
    [int64Max, "USD", "92233720368547758.07"],
    [9007199254740993n, "USD", "90071992547409.93"],
    [100n, "JPY", "100"],
    [0n, "JPY", "0"],
    [-7n, "JPY", "-7"],
    [1234n, "BHD", "1.234"],
    [1n, "BHD", "0.001"],
    [-1n, "BHD", "-0.001"],
    [1n, "CLF", "0.0001"],
    [400n, "DIAMOND", "400"],
  ])("writes %s %s as %j", (minor, unit, expected) => {
    expect(formatMajor(minor, unit)).toBe(expected);
  });

  it("refuses an unknown unit", () => {
    expect(() => formatMajor(1n, "XAU")).toThrow(/not a known unit/);
  });

  it.each([1, "1", 1.5])("treats the non-bigint %o as a caller bug", (minor) => {
    expect(() => formatMajor(minor as unknown as bigint, "USD")).toThrow(InvariantViolation);
    expect(() => formatMinor(minor as unknown as bigint)).toThrow(InvariantViolation);
  });
});

describe("formatMinor", () => {
  it.each([
    [0n, "0"],
    [990n, "990"],
    [-5n, "-5"],
    [int64Max, "9223372036854775807"],
    [-(2n ** 100n), "-1267650600228229401496703205376"],
  ])("writes %s as %j", (minor, expected) => {
    expect(formatMinor(minor)).toBe(expected);
  });
});

describe("round trips", () => {
  const max = 10n ** 30n;
  const minorArb = fc.bigInt({ min: -max, max });
  const everything = { max, allowZero: true, allowNegative: true };

  it("parseFixed(formatFixed(x, e), e) == x for every exponent 0..4", () => {
    fc.assert(
      fc.property(minorArb, fc.integer({ min: 0, max: 4 }), (minor, exponent) => {
        const text = formatFixed(minor, exponent);
        expect(parseFixed(text, exponent, everything)).toBe(minor);
      }),
      { numRuns: 1000 },
    );
  });

  it("writes exactly `exponent` decimals, in the grammar parseMajor accepts", () => {
    fc.assert(
      fc.property(minorArb, fc.integer({ min: 0, max: 4 }), (minor, exponent) => {
        const text = formatFixed(minor, exponent);
        const decimals = text.includes(".") ? text.split(".")[1]?.length : 0;
        expect(decimals).toBe(exponent);
        expect(text).toMatch(/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/);
      }),
    );
  });

  it("parseMajor(formatMajor(x, u), u) == x for units of every exponent", () => {
    const unitArb = fc.constantFrom("COIN", "DIAMOND", "JPY", "USD", "EUR", "BHD", "CLF");
    fc.assert(
      fc.property(minorArb, unitArb, (minor, unit) => {
        expect(parseMajor(formatMajor(minor, unit), unit, everything)).toBe(minor);
      }),
      { numRuns: 1000 },
    );
  });

  it("parseMinor(formatMinor(x)) == x for |x| <= max", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -int64Max, max: int64Max }), (minor) => {
        expect(parseMinor(formatMinor(minor), { ...everything, max: int64Max })).toBe(minor);
      }),
      { numRuns: 1000 },
    );
  });

  it("parseMinor refuses |x| > max", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 20n }), fc.boolean(), (excess, negative) => {
        const minor = (int64Max + excess) * (negative ? -1n : 1n);
        expect(() => parseMinor(formatMinor(minor), { ...everything, max: int64Max })).toThrow(/must be at/);
      }),
    );
  });
});
