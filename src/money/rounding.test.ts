import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../errors.js";
import { addRationals, compareRationals, type Rational, rational, rationalFromBigint } from "./rational.js";
import {
  isRoundingRule,
  type RoundingRule,
  roundingRules,
  roundRational,
  roundWithRemainder,
} from "./rounding.js";

function tenths(value: bigint): Rational {
  return rational(value, 10n);
}

const rationalArb = fc
  .tuple(fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), fc.bigInt({ min: 1n, max: 10n ** 9n }))
  .map(([num, den]) => rational(num, den));
const ruleArb = fc.constantFrom(...roundingRules);

describe("roundRational", () => {
  // The table of Java's RoundingMode, whose symmetric semantics these rules follow.
  it.each([
    // input in tenths, up, down, half_up, half_even
    [55n, 6n, 5n, 6n, 6n],
    [25n, 3n, 2n, 3n, 2n],
    [16n, 2n, 1n, 2n, 2n],
    [11n, 2n, 1n, 1n, 1n],
    [10n, 1n, 1n, 1n, 1n],
    [5n, 1n, 0n, 1n, 0n],
    [15n, 2n, 1n, 2n, 2n],
    [0n, 0n, 0n, 0n, 0n],
    [-5n, -1n, 0n, -1n, 0n],
    [-10n, -1n, -1n, -1n, -1n],
    [-11n, -2n, -1n, -1n, -1n],
    [-16n, -2n, -1n, -2n, -2n],
    [-25n, -3n, -2n, -3n, -2n],
    [-55n, -6n, -5n, -6n, -6n],
  ])("rounds %s tenths to up %s, down %s, half_up %s, half_even %s", (value, up, down, halfUp, halfEven) => {
    const r = tenths(value);
    expect(roundRational(r, "up")).toBe(up);
    expect(roundRational(r, "down")).toBe(down);
    expect(roundRational(r, "half_up")).toBe(halfUp);
    expect(roundRational(r, "half_even")).toBe(halfEven);
  });

  it("rounds unreduced and large inputs", () => {
    expect(roundRational({ num: 10n, den: 4n }, "half_even")).toBe(2n);
    expect(roundRational({ num: 14n, den: 4n }, "half_even")).toBe(4n);
    expect(roundRational({ num: 2n ** 80n + 1n, den: 2n }, "down")).toBe(2n ** 79n);
    expect(roundRational({ num: 1n, den: 3n }, "half_up")).toBe(0n);
    expect(roundRational({ num: 2n, den: 3n }, "half_up")).toBe(1n);
  });

  it("treats a bad rule or denominator as a caller bug", () => {
    expect(() => roundRational(tenths(5n), "nearest" as RoundingRule)).toThrow(InvariantViolation);
    expect(() => roundRational({ num: 1n, den: 0n }, "down")).toThrow(InvariantViolation);
    expect(() => roundRational({ num: 1n, den: -2n }, "down")).toThrow(InvariantViolation);
  });
});

describe("isRoundingRule", () => {
  it.each([...roundingRules])("accepts %s", (rule) => {
    expect(isRoundingRule(rule)).toBe(true);
  });

  it.each(["DOWN", "half-even", "floor", "", null, 0])("refuses %o", (value) => {
    expect(isRoundingRule(value)).toBe(false);
  });
});

describe("roundWithRemainder", () => {
  it("returns what rounding dropped", () => {
    expect(roundWithRemainder(rational(3n, 2n), "down")).toEqual({ result: 1n, remainder: rational(1n, 2n) });
    expect(roundWithRemainder(rational(3n, 2n), "up")).toEqual({ result: 2n, remainder: rational(-1n, 2n) });
    expect(roundWithRemainder(rationalFromBigint(7n), "half_even")).toEqual({
      result: 7n,
      remainder: { num: 0n, den: 1n },
    });
  });

  it("result + remainder is exact, and |remainder| < 1, for every rule", () => {
    fc.assert(
      fc.property(rationalArb, ruleArb, (r, rule) => {
        const { result, remainder } = roundWithRemainder(r, rule);
        expect(addRationals(rationalFromBigint(result), remainder)).toEqual(r);
        expect(compareRationals(remainder, rationalFromBigint(1n))).toBe(-1);
        expect(compareRationals(remainder, rationalFromBigint(-1n))).toBe(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('"down" on a non-negative value drops 0 <= remainder < 1', () => {
    fc.assert(
      fc.property(rationalArb, (r) => {
        const positive = rational(r.num < 0n ? -r.num : r.num, r.den);
        const { remainder } = roundWithRemainder(positive, "down");
        expect(remainder.num >= 0n && remainder.num < remainder.den).toBe(true);
      }),
    );
  });

  it("half rules land within 1/2 of the value", () => {
    fc.assert(
      fc.property(rationalArb, fc.constantFrom<RoundingRule>("half_up", "half_even"), (r, rule) => {
        const { remainder } = roundWithRemainder(r, rule);
        expect(
          compareRationals(
            rational(remainder.num < 0n ? -remainder.num : remainder.num, remainder.den),
            rational(1n, 2n),
          ),
        ).not.toBe(1);
      }),
    );
  });

  it("half_even sends every tie to the even neighbour", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (k) => {
        const tie = rational(2n * k + 1n, 2n); // k + 1/2
        const result = roundRational(tie, "half_even");
        expect(result % 2n).toBe(0n);
        expect(result === k || result === k + 1n).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("is symmetric: round(-r) == -round(r)", () => {
    fc.assert(
      fc.property(rationalArb, ruleArb, (r, rule) => {
        expect(roundRational(rational(-r.num, r.den), rule)).toBe(-roundRational(r, rule));
      }),
    );
  });
});
