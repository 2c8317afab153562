import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../errors.js";
import { convert, convertExact, multiplyRate } from "./convert.js";
import { parseRate } from "./rate.js";
import {
  addRationals,
  compareRationals,
  type Rational,
  rational,
  rationalFromBigint,
  subtractRationals,
} from "./rational.js";
import { type RoundingRule, roundingRules } from "./rounding.js";

const liveDiamondUsd = parseRate("0.005");
const videoDiamondUsd = parseRate("0.01");
const ruleArb = fc.constantFrom(...roundingRules);
const unitArb = fc.constantFrom("COIN", "DIAMOND", "JPY", "USD", "BHD", "CLF");
// A rate as the operator writes it: up to 30 significant digits over a power of ten.
const rateArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n - 1n }), fc.integer({ min: 0, max: 10 }))
  .map(([num, decimals]) => ({ num, den: 10n ** BigInt(decimals) }));
const minorArb = fc.bigInt({ min: -(2n ** 63n - 1n), max: 2n ** 63n - 1n });

describe("convert", () => {
  it.each([
    // amount, from, rate, to, rule, minor, remainder
    [200n, "DIAMOND", "0.005", "USD", "down", 100n, rational(0n, 1n)],
    [3n, "DIAMOND", "0.005", "USD", "down", 1n, rational(1n, 2n)],
    [1n, "DIAMOND", "0.005", "USD", "down", 0n, rational(1n, 2n)],
    [1n, "DIAMOND", "0.005", "USD", "up", 1n, rational(-1n, 2n)],
    [5n, "DIAMOND", "0.005", "USD", "half_even", 2n, rational(1n, 2n)],
    [7n, "DIAMOND", "0.005", "USD", "half_even", 4n, rational(-1n, 2n)],
    [5n, "DIAMOND", "0.005", "USD", "half_up", 3n, rational(-1n, 2n)],
    [200n, "DIAMOND", "0.01", "USD", "down", 200n, rational(0n, 1n)],
    [100n, "COIN", "2", "DIAMOND", "down", 200n, rational(0n, 1n)],
    [100n, "USD", "151.37", "JPY", "down", 151n, rational(37n, 100n)],
    [1000n, "JPY", "0.0066", "USD", "down", 660n, rational(0n, 1n)],
    [990n, "USD", "0.376", "BHD", "down", 3722n, rational(2n, 5n)],
    [1234n, "BHD", "2.65", "USD", "half_even", 327n, rational(1n, 100n)],
    [-3n, "DIAMOND", "0.005", "USD", "down", -1n, rational(-1n, 2n)],
  ] as [bigint, string, string, string, RoundingRule, bigint, Rational][])(
    "%s %s at %s → %s (%s) is %s and a remainder of %o",
    (amountMinor, from, rateText, to, rule, minor, remainder) => {
      expect(convert(amountMinor, from, parseRate(rateText), to, rule)).toEqual({ minor, remainder });
    },
  );

  it("holds the design's worked example exactly: $3.00 gross, $1.50 commission, $1.50 net", () => {
    const gross = addRationals(
      convertExact(200n, "DIAMOND", liveDiamondUsd, "USD"),
      convertExact(200n, "DIAMOND", videoDiamondUsd, "USD"),
    );
    expect(gross).toEqual(rationalFromBigint(300n));
    const commission = multiplyRate(300n, parseRate("0.5"), "down");
    expect(commission).toEqual({ result: 150n, remainder: rational(0n, 1n) });
  });

  it("stays exact past 2^53 and with 30-digit rates", () => {
    const rate = parseRate("0.123456789012345678901234567890");
    const { minor, remainder } = convert(2n ** 63n - 1n, "DIAMOND", rate, "USD", "down");
    // Checked independently with Python's fractions.Fraction.
    expect(minor).toBe(113868789553634907000n);
    expect(remainder).toEqual(rational(73862999893517510447103723n, 10n ** 27n));
    expect(addRationals(rationalFromBigint(minor), remainder)).toEqual(
      convertExact(2n ** 63n - 1n, "DIAMOND", rate, "USD"),
    );
  });

  it("refuses unknown units and non-bigint amounts", () => {
    expect(() => convert(1n, "XAU", liveDiamondUsd, "USD", "down")).toThrow(/not a known unit/);
    expect(() => convert(1n, "DIAMOND", liveDiamondUsd, "usd", "down")).toThrow(/not a known unit/);
    expect(() => convert(1 as unknown as bigint, "DIAMOND", liveDiamondUsd, "USD", "down")).toThrow(
      InvariantViolation,
    );
    expect(() => convert(1n, "DIAMOND", { num: 1n, den: 0n }, "USD", "down")).toThrow(InvariantViolation);
  });

  it("minor + remainder == exact value, for every rule", () => {
    fc.assert(
      fc.property(minorArb, unitArb, rateArb, unitArb, ruleArb, (amountMinor, from, rate, to, rule) => {
        const exact = convertExact(amountMinor, from, rate, to);
        const { minor, remainder } = convert(amountMinor, from, rate, to, rule);
        expect(addRationals(rationalFromBigint(minor), remainder)).toEqual(exact);
        expect(compareRationals(remainder, rationalFromBigint(1n))).toBe(-1);
        expect(compareRationals(remainder, rationalFromBigint(-1n))).toBe(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('"down" on non-negative input keeps 0 <= remainder < 1: payouts never round up', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        unitArb,
        rateArb,
        unitArb,
        (amountMinor, from, rate, to) => {
          const { minor, remainder } = convert(amountMinor, from, rate, to, "down");
          expect(remainder.num >= 0n && remainder.num < remainder.den).toBe(true);
          expect(
            compareRationals(rationalFromBigint(minor), convertExact(amountMinor, from, rate, to)),
          ).not.toBe(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("converting a negation negates the result, so reversals mirror exactly", () => {
    fc.assert(
      fc.property(minorArb, unitArb, rateArb, unitArb, ruleArb, (amountMinor, from, rate, to, rule) => {
        const forward = convert(amountMinor, from, rate, to, rule);
        const backward = convert(-amountMinor, from, rate, to, rule);
        expect(backward.minor).toBe(-forward.minor);
        expect(addRationals(backward.remainder, forward.remainder)).toEqual(rational(0n, 1n));
      }),
    );
  });

  it("is the same as summing per-diamond values: exactness across lot splits", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        (a, b) => {
          const whole = convertExact(a + b, "DIAMOND", liveDiamondUsd, "USD");
          const split = addRationals(
            convertExact(a, "DIAMOND", liveDiamondUsd, "USD"),
            convertExact(b, "DIAMOND", liveDiamondUsd, "USD"),
          );
          expect(split).toEqual(whole);
        },
      ),
    );
  });
});

describe("multiplyRate", () => {
  it.each([
    [100n, "2", "down", 200n, rational(0n, 1n)],
    [300n, "0.5", "down", 150n, rational(0n, 1n)],
    [301n, "0.5", "down", 150n, rational(1n, 2n)],
    [301n, "0.5", "half_even", 150n, rational(1n, 2n)],
    [303n, "0.5", "half_even", 152n, rational(-1n, 2n)],
    [301n, "0.5", "up", 151n, rational(-1n, 2n)],
    [1000n, "0.0099", "down", 9n, rational(9n, 10n)],
    [-301n, "0.5", "down", -150n, rational(-1n, 2n)],
    [0n, "0.5", "up", 0n, rational(0n, 1n)],
  ] as [bigint, string, RoundingRule, bigint, Rational][])(
    "%s × %s (%s) is %s and a remainder of %o",
    (minor, rateText, rule, result, remainder) => {
      expect(multiplyRate(minor, parseRate(rateText), rule)).toEqual({ result, remainder });
    },
  );

  it("splits a gross amount into net and commission without losing a unit", () => {
    // The creator's net rounds down; the platform keeps the rest, remainder included.
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), rateArb, (gross, rate) => {
        const share = rational(rate.num % rate.den, rate.den); // a fraction in [0, 1)
        const net = multiplyRate(gross, share, "down");
        const commission = gross - net.result;
        expect(net.result + commission).toBe(gross);
        expect(net.result <= gross && commission >= 0n).toBe(true);
        expect(
          subtractRationals(rational(gross * share.num, share.den), rationalFromBigint(net.result)),
        ).toEqual(net.remainder);
      }),
    );
  });

  it("result + remainder == minor × rate, for every rule", () => {
    fc.assert(
      fc.property(minorArb, rateArb, ruleArb, (minor, rate, rule) => {
        const { result, remainder } = multiplyRate(minor, rate, rule);
        expect(addRationals(rationalFromBigint(result), remainder)).toEqual(
          rational(minor * rate.num, rate.den),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("treats a non-bigint amount as a caller bug", () => {
    expect(() => multiplyRate(2 as unknown as bigint, parseRate("2"), "down")).toThrow(InvariantViolation);
  });
});
