import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../errors.js";
import {
  addRationals,
  compareRationals,
  divideRationals,
  formatRational,
  gcd,
  isIntegerRational,
  multiplyRationals,
  type Rational,
  rational,
  rationalFromBigint,
  rationalsEqual,
  subtractRationals,
} from "./rational.js";

const rationalArb = fc
  .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 12n }))
  .map(([num, den]) => rational(num, den));

describe("rational", () => {
  it.each([
    [1n, 2n, 1n, 2n],
    [2n, 4n, 1n, 2n],
    [-2n, 4n, -1n, 2n],
    [2n, -4n, -1n, 2n],
    [-2n, -4n, 1n, 2n],
    [0n, 5n, 0n, 1n],
    [0n, -5n, 0n, 1n],
    [5n, 1000n, 1n, 200n],
    [10n, 5n, 2n, 1n],
  ])("reduces %s/%s to %s/%s", (num, den, expectedNum, expectedDen) => {
    expect(rational(num, den)).toEqual({ num: expectedNum, den: expectedDen });
  });

  it("treats a zero denominator as a caller bug", () => {
    expect(() => rational(1n, 0n)).toThrow(InvariantViolation);
  });

  it.each([
    [12n, 18n, 6n],
    [-12n, 18n, 6n],
    [0n, 7n, 7n],
    [7n, 0n, 7n],
    [0n, 0n, 0n],
  ])("gcd(%s, %s) = %s", (a, b, expected) => {
    expect(gcd(a, b)).toBe(expected);
  });
});

describe("arithmetic", () => {
  const half = rational(1n, 2n);
  const third = rational(1n, 3n);

  it("adds, subtracts, multiplies and divides exactly", () => {
    expect(addRationals(half, third)).toEqual(rational(5n, 6n));
    expect(subtractRationals(half, third)).toEqual(rational(1n, 6n));
    expect(multiplyRationals(half, third)).toEqual(rational(1n, 6n));
    expect(divideRationals(half, third)).toEqual(rational(3n, 2n));
    // The diamond value stays exact: 200 × $0.005 = $1 exactly.
    expect(multiplyRationals(rationalFromBigint(200n), { num: 5n, den: 1000n })).toEqual({
      num: 1n,
      den: 1n,
    });
  });

  it("accepts unreduced inputs such as parsed rates", () => {
    expect(addRationals({ num: 50n, den: 100n }, { num: 5n, den: 10n })).toEqual({ num: 1n, den: 1n });
    expect(compareRationals({ num: 50n, den: 100n }, half)).toBe(0);
  });

  it("treats division by zero and bad denominators as caller bugs", () => {
    expect(() => divideRationals(half, rationalFromBigint(0n))).toThrow(InvariantViolation);
    const bad: Rational = { num: 1n, den: 0n };
    expect(() => addRationals(bad, half)).toThrow(InvariantViolation);
    expect(() => compareRationals(half, { num: 1n, den: -2n })).toThrow(InvariantViolation);
    expect(() => multiplyRationals(half, { num: 1, den: 2 } as unknown as Rational)).toThrow(
      InvariantViolation,
    );
  });

  it.each([
    [rational(1n, 2n), rational(2n, 3n), -1],
    [rational(2n, 3n), rational(1n, 2n), 1],
    [rational(-1n, 2n), rational(-2n, 3n), 1],
    [rational(3n, 6n), rational(1n, 2n), 0],
  ])("compares %o with %o as %i", (a, b, expected) => {
    expect(compareRationals(a, b)).toBe(expected);
  });

  it.each([
    [rational(4n, 2n), true],
    [rational(1n, 2n), false],
    [{ num: 10n, den: 5n }, true],
    [rational(0n, 3n), true],
  ])("isIntegerRational(%o) is %s", (r, expected) => {
    expect(isIntegerRational(r)).toBe(expected);
  });

  it("formats for humans", () => {
    expect(formatRational(rational(1n, 2n))).toBe("1/2");
    expect(formatRational({ num: -10n, den: 4n })).toBe("-5/2");
    expect(formatRational({ num: 6n, den: 3n })).toBe("2");
  });
});

describe("properties", () => {
  it("keeps results reduced with a positive denominator", () => {
    fc.assert(
      fc.property(rationalArb, rationalArb, (a, b) => {
        for (const r of [addRationals(a, b), subtractRationals(a, b), multiplyRationals(a, b)]) {
          expect(r.den > 0n).toBe(true);
          expect(gcd(r.num, r.den)).toBe(1n);
        }
      }),
    );
  });

  it("undoes addition with subtraction and multiplication with division", () => {
    fc.assert(
      fc.property(rationalArb, rationalArb, (a, b) => {
        expect(subtractRationals(addRationals(a, b), b)).toEqual(a);
        if (b.num !== 0n) expect(divideRationals(multiplyRationals(a, b), b)).toEqual(a);
      }),
    );
  });

  it("orders by the sign of the difference", () => {
    fc.assert(
      fc.property(rationalArb, rationalArb, (a, b) => {
        const difference = subtractRationals(a, b).num;
        const sign = difference < 0n ? -1 : difference > 0n ? 1 : 0;
        expect(compareRationals(a, b)).toBe(sign);
        expect(rationalsEqual(a, b)).toBe(sign === 0);
      }),
    );
  });
});
