import { describe, expect, it } from "vitest";
import { GiftstreamError, InvariantViolation } from "../errors.js";
import { type ParseAmountOptions, parseFixed, parseMajor, parseMinor } from "./parse.js";

const max = 10n ** 12n;
const int64Max = 2n ** 63n - 1n;

function thrown(fn: () => unknown): GiftstreamError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GiftstreamError);
    return error as GiftstreamError;
  }
  throw new Error("expected a GiftstreamError");
}

function opts(extra: Partial<ParseAmountOptions> = {}): ParseAmountOptions {
  return { max, ...extra };
}

const neg = { allowNegative: true };
const zero = { allowZero: true };

// Bad forms every parser refuses, whatever the unit.
const malformed: [unknown, RegExp][] = [
  [9, /not a JSON number: numbers lose precision past 2\^53/],
  [0, /not a JSON number/],
  [1.5, /not a JSON number/],
  [-5, /not a JSON number/],
  [Number.NaN, /not a JSON number/],
  [Number.POSITIVE_INFINITY, /not a JSON number/],
  // What JSON.parse makes of 2^53 + 1: already 2^53, the reason numbers are refused.
  [JSON.parse("9007199254740993"), /not a JSON number/],
  [10n, /got bigint/],
  [null, /got null/],
  [undefined, /got undefined/],
  [{}, /got object/],
  [{ toString: () => "5" }, /got object/],
  [[], /got array/],
  [["5"], /got array/],
  [true, /got boolean/],
  ["", /is empty/],
  [" 5", /contains whitespace/],
  ["5 ", /contains whitespace/],
  ["5\n", /contains whitespace/],
  ["\t5", /contains whitespace/],
  ["1 000", /contains whitespace/],
  ["\u00a05", /contains whitespace/],
  ["\ufeff5", /contains whitespace/],
  ["+5", /leading "\+"/],
  ["+0", /leading "\+"/],
  ["1e3", /exponent notation/],
  ["1E3", /exponent notation/],
  ["1e+3", /exponent notation/],
  ["1e-3", /exponent notation/],
  ["-1e3", /exponent notation/],
  ["NaN", /not a finite number/],
  ["nan", /not a finite number/],
  ["Infinity", /not a finite number/],
  ["-Infinity", /not a finite number/],
  ["0x10", /not in decimal notation/],
  ["0X1F", /not in decimal notation/],
  ["0b1", /not in decimal notation/],
  ["0o7", /not in decimal notation/],
  ["-0x10", /not in decimal notation/],
  ["007", /leading zeros/],
  ["00", /leading zeros/],
  ["01", /leading zeros/],
  ["-", /is not/],
  ["--5", /is not/],
  ["5-", /is not/],
  ["abc", /is not/],
  ["1_000", /is not/],
  ["1,000", /is not/],
  ["$5", /is not/],
  ["5USD", /is not/],
  ["\u0661\u0662\u0663", /is not/], // Arabic-Indic digits
  ["\uff11\uff12", /is not/], // full-width digits
  ["\u00bd", /is not/],
  ["1".repeat(41), /longer than 40 characters/],
  ["9".repeat(100_000), /longer than 40 characters/],
];

describe("parseMinor", () => {
  it.each([
    ["1", opts(), 1n],
    ["123", opts(), 123n],
    ["990", opts(), 990n],
    ["0", opts(zero), 0n],
    ["-5", opts(neg), -5n],
    ["-1", opts(neg), -1n],
    [max.toString(), opts(), max],
    [(-max).toString(), opts(neg), -max],
    ["9007199254740993", opts({ max: int64Max }), 9007199254740993n],
    ["9223372036854775807", opts({ max: int64Max }), int64Max],
    ["-9223372036854775807", opts({ max: int64Max, ...neg }), -int64Max],
    [`1${"0".repeat(39)}`, opts({ max: 10n ** 39n }), 10n ** 39n],
  ])("accepts %o", (input, options, expected) => {
    expect(parseMinor(input, options)).toBe(expected);
  });

  it.each(malformed)("rejects %o", (input, detail) => {
    const error = thrown(() => parseMinor(input, opts({ ...neg, ...zero, max: 10n ** 50n })));
    expect(error.code).toBe("invalid_amount");
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^amount /);
    expect(error.message).toMatch(detail);
  });

  it.each([
    ["1.5", opts(), /has a decimal point; amounts are integers in minor units/],
    ["1.0", opts(), /has a decimal point/],
    ["0.5", opts(), /has a decimal point/],
    [".5", opts(), /has a decimal point/],
    ["5.", opts(), /has a decimal point/],
    ["1.5e3", opts(), /exponent notation/],
    ["-0", opts({ ...neg, ...zero }), /"-0" is a negative zero/],
    ["-0", opts(zero), /negative zero/],
    ["-00", opts({ ...neg, ...zero }), /leading zeros/],
    ["-007", opts(neg), /leading zeros/],
    ["0", opts(), /"0" must be greater than zero/],
    ["0", opts(neg), /"0" must not be zero/],
    ["-5", opts(), /"-5" must not be negative/],
    ["-1", opts(zero), /must not be negative/],
    [(max + 1n).toString(), opts(), /must be at most 1000000000000$/],
    ["99999999999999999999", opts(), /must be at most 1000000000000$/],
    [(-max - 1n).toString(), opts(neg), /must be at least -1000000000000$/],
    ["9223372036854775808", opts({ max: int64Max }), /must be at most 9223372036854775807/],
    ["1", opts({ max: 0n, allowZero: true }), /must be at most 0/],
  ])("rejects %o with %o", (input, options, detail) => {
    const error = thrown(() => parseMinor(input, options));
    expect(error.code).toBe("invalid_amount");
    expect(error.message).toMatch(detail);
  });

  it("names the field in the detail and in extra", () => {
    const error = thrown(() => parseMinor("1.5", opts({ field: "transfers[0].amount" })));
    expect(error.message).toBe(
      'transfers[0].amount "1.5" has a decimal point; amounts are integers in minor units (cents for USD)',
    );
    expect(error.extra).toEqual({ field: "transfers[0].amount" });
    expect(thrown(() => parseMinor(5, opts({ field: "price" }))).message).toMatch(/^price must be a string/);
  });

  it.each([-1n, 5 as unknown as bigint, undefined as unknown as bigint])(
    "treats max %s as a caller bug",
    (badMax) => {
      expect(() => parseMinor("1", { max: badMax })).toThrow(InvariantViolation);
    },
  );
});

describe("parseMajor", () => {
  it.each([
    ["9.90", "USD", opts(), 990n],
    ["9.9", "USD", opts(), 990n],
    ["9", "USD", opts(), 900n],
    ["0.01", "USD", opts(), 1n],
    ["0.1", "USD", opts(), 10n],
    ["1000", "USD", opts(), 100000n],
    ["0.00", "USD", opts(zero), 0n],
    ["0", "USD", opts(zero), 0n],
    ["-0.05", "USD", opts(neg), -5n],
    ["-9.90", "USD", opts(neg), -990n],
    ["100", "JPY", opts(), 100n],
    ["1.234", "BHD", opts(), 1234n],
    ["1.2", "BHD", opts(), 1200n],
    ["0.001", "BHD", opts(), 1n],
    ["0.0001", "CLF", opts(), 1n],
    ["5", "COIN", opts(), 5n],
    ["400", "DIAMOND", opts(), 400n],
    ["92233720368547758.07", "USD", opts({ max: int64Max }), int64Max],
    ["90071992547409.93", "USD", opts({ max: int64Max }), 9007199254740993n],
  ])("accepts %j %s", (input, unit, options, expected) => {
    expect(parseMajor(input, unit, options)).toBe(expected);
  });

  it.each(malformed)("rejects %o", (input, detail) => {
    const error = thrown(() => parseMajor(input, "USD", opts({ ...neg, ...zero, max: 10n ** 50n })));
    expect(error.code).toBe("invalid_amount");
    expect(error.message).toMatch(detail);
  });

  it.each([
    ["9.901", "USD", opts(), /"9.901" has 3 decimals, but USD allows at most 2/],
    ["9.900", "USD", opts(), /has 3 decimals, but USD allows at most 2/],
    ["0.001", "USD", opts(), /has 3 decimals/],
    ["1.5", "JPY", opts(), /has decimals, but JPY has no minor unit; write whole units/],
    ["1.0", "JPY", opts(), /JPY has no minor unit/],
    ["1.5", "COIN", opts(), /COIN has no minor unit/],
    ["1.2345", "BHD", opts(), /has 4 decimals, but BHD allows at most 3/],
    [".5", "USD", opts(), /needs digits on both sides of the decimal point/],
    ["5.", "USD", opts(), /needs digits on both sides/],
    ["-.5", "USD", opts(neg), /needs digits on both sides/],
    ["1.2.3", "USD", opts(), /is not a plain decimal number/],
    ["1,50", "USD", opts(), /is not a plain decimal number/],
    ["9.9e1", "USD", opts(), /exponent notation/],
    ["09.90", "USD", opts(), /leading zeros/],
    ["00.5", "USD", opts(), /leading zeros/],
    ["-0", "USD", opts({ ...neg, ...zero }), /negative zero/],
    ["-0.00", "USD", opts({ ...neg, ...zero }), /"-0.00" is a negative zero/],
    ["0.00", "USD", opts(), /must be greater than zero/],
    ["-9.90", "USD", opts(), /must not be negative/],
    ["10000000000.01", "USD", opts(), /must be at most 10000000000.00 USD$/],
    ["-10000000000.01", "USD", opts(neg), /must be at least -10000000000.00 USD$/],
  ])("rejects %j %s", (input, unit, options, detail) => {
    const error = thrown(() => parseMajor(input, unit, options));
    expect(error.code).toBe("invalid_amount");
    expect(error.message).toMatch(detail);
  });

  it("refuses an unknown unit before reading the amount", () => {
    expect(thrown(() => parseMajor("1", "XAU", opts())).code).toBe("invalid_request");
  });
});

describe("parseFixed", () => {
  it.each([
    ["1.2345", 4, 12345n],
    ["1", 4, 10000n],
    ["7", 0, 7n],
    ["0.5", 1, 5n],
  ])("accepts %j at exponent %i", (input, exponent, expected) => {
    expect(parseFixed(input, exponent, opts())).toBe(expected);
  });

  it("says how many decimals are allowed", () => {
    expect(thrown(() => parseFixed("0.05", 1, opts())).message).toBe(
      'amount "0.05" has 2 decimals; at most 1 are allowed',
    );
  });

  it.each([-1, 1.5, 19, Number.NaN])("treats exponent %s as a caller bug", (exponent) => {
    expect(() => parseFixed("1", exponent, opts())).toThrow(InvariantViolation);
  });
});
