/**
 * Conversions between units, exact until one named rounding at the end. The remainder is what
 * the rounding dropped, so the caller can book it (the platform keeps payout remainders):
 * `minor + remainder` equals the exact value, always.
 */
import { invariant } from "../errors.js";
import { type Rational, rational } from "./rational.js";
import { type RoundingRule, roundWithRemainder } from "./rounding.js";
import { type Unit, unitExponent } from "./unit.js";

export interface Converted {
  /** The rounded result, in minor units of the target unit. */
  readonly minor: bigint;
  /** Exact value − minor, in minor units of the target unit; |remainder| < 1. */
  readonly remainder: Rational;
}

/**
 * The exact value of `amountMinor` of `fromUnit` in minor units of `toUnit`, where `rate` is
 * major units of `toUnit` per major unit of `fromUnit` (e.g. "0.005" USD per DIAMOND).
 * Sum these before rounding when several lots are paid out together.
 */
export function convertExact(amountMinor: bigint, fromUnit: Unit, rate: Rational, toUnit: Unit): Rational {
  invariant(typeof amountMinor === "bigint", "convert needs a bigint amount");
  const fromScale = 10n ** BigInt(unitExponent(fromUnit));
  const toScale = 10n ** BigInt(unitExponent(toUnit));
  return rational(amountMinor * rate.num * toScale, rate.den * fromScale);
}

export function convert(
  amountMinor: bigint,
  fromUnit: Unit,
  rate: Rational,
  toUnit: Unit,
  rule: RoundingRule,
): Converted {
  const { result, remainder } = roundWithRemainder(convertExact(amountMinor, fromUnit, rate, toUnit), rule);
  return { minor: result, remainder };
}

/** `minor × rate` for a unit-free rate: coins × "2" = diamonds, gross × "0.5" = commission. */
export function multiplyRate(
  minor: bigint,
  rate: Rational,
  rule: RoundingRule,
): { result: bigint; remainder: Rational } {
  invariant(typeof minor === "bigint", "multiplyRate needs a bigint amount");
  return roundWithRemainder(rational(minor * rate.num, rate.den), rule);
}
