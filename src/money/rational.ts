/**
 * Exact rationals over bigint, for values that are not whole minor units: a diamond worth
 * $0.005, or the part of a cent a rounding dropped. Results are always reduced with den > 0,
 * so equal values have equal fields; inputs only need den > 0.
 */
import { invariant } from "../errors.js";

export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** num/den in lowest terms; a zero denominator is a bug in the caller. */
export function rational(num: bigint, den: bigint): Rational {
  invariant(den !== 0n, "rational with a zero denominator");
  const sign = den < 0n ? -1n : 1n;
  const divisor = gcd(num, den);
  return { num: (sign * num) / divisor, den: (sign * den) / divisor };
}

export function rationalFromBigint(value: bigint): Rational {
  return { num: value, den: 1n };
}

export const zeroRational: Rational = { num: 0n, den: 1n };

export function addRationals(a: Rational, b: Rational): Rational {
  assertRational(a);
  assertRational(b);
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subtractRationals(a: Rational, b: Rational): Rational {
  assertRational(b);
  return addRationals(a, { num: -b.num, den: b.den });
}

export function multiplyRationals(a: Rational, b: Rational): Rational {
  assertRational(a);
  assertRational(b);
  return rational(a.num * b.num, a.den * b.den);
}

/** a / b; dividing by zero is a bug in the caller (check the divisor where it is input). */
export function divideRationals(a: Rational, b: Rational): Rational {
  assertRational(a);
  assertRational(b);
  invariant(b.num !== 0n, "division of a rational by zero");
  return rational(a.num * b.den, a.den * b.num);
}

export function compareRationals(a: Rational, b: Rational): -1 | 0 | 1 {
  assertRational(a);
  assertRational(b);
  // Cross-multiplying keeps the order because both denominators are positive.
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function rationalsEqual(a: Rational, b: Rational): boolean {
  return compareRationals(a, b) === 0;
}

export function isIntegerRational(r: Rational): boolean {
  assertRational(r);
  return r.num % r.den === 0n;
}

/** "1/2", "-3", for details and logs; never parsed back. */
export function formatRational(r: Rational): string {
  const reduced = rational(r.num, r.den);
  return reduced.den === 1n ? reduced.num.toString() : `${reduced.num}/${reduced.den}`;
}

function assertRational(r: Rational): void {
  invariant(
    typeof r.num === "bigint" && typeof r.den === "bigint" && r.den > 0n,
    "rational needs bigint fields and den > 0",
  );
}
