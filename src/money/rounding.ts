/**
 * Named rounding rules. Every rounding of money says which rule it uses.
 *
 * The rules are symmetric about zero, as in Java's RoundingMode, so that negating the input
 * negates the result (a reversal rounds to the exact mirror of the original):
 * - "down": toward zero (for non-negative values, the floor). -1.5 → -1.
 * - "up": away from zero. -1.2 → -2.
 * - "half_up": to nearest, ties away from zero. -2.5 → -3.
 * - "half_even": to nearest, ties to the even neighbour (banker's rounding). -2.5 → -2.
 */
import { invariant } from "../errors.js";
import { type Rational, subtractRationals } from "./rational.js";

export const roundingRules = ["down", "up", "half_up", "half_even"] as const;
export type RoundingRule = (typeof roundingRules)[number];

export function isRoundingRule(value: unknown): value is RoundingRule {
  return typeof value === "string" && (roundingRules as readonly string[]).includes(value);
}

export function roundRational(r: Rational, rule: RoundingRule): bigint {
  invariant(r.den > 0n, "rounding a rational with den <= 0");
  // BigInt division truncates toward zero, and the remainder takes the sign of num.
  const truncated = r.num / r.den;
  const rest = r.num % r.den;
  if (rest === 0n) return truncated;
  const away = truncated + (r.num < 0n ? -1n : 1n);
  const twiceRest = rest < 0n ? -2n * rest : 2n * rest;
  switch (rule) {
    case "down":
      return truncated;
    case "up":
      return away;
    case "half_up":
      return twiceRest >= r.den ? away : truncated;
    case "half_even":
      if (twiceRest !== r.den) return twiceRest > r.den ? away : truncated;
      return truncated % 2n === 0n ? truncated : away;
    default:
      return unknownRule(rule);
  }
}

/** The rounded value and what rounding dropped: `result + remainder` is exactly `r`. */
export function roundWithRemainder(r: Rational, rule: RoundingRule): { result: bigint; remainder: Rational } {
  const result = roundRational(r, rule);
  const remainder = subtractRationals(r, { num: result, den: 1n });
  // Every rule lands on one of the two integers around r, so less than one unit is ever dropped.
  invariant(-remainder.den < remainder.num && remainder.num < remainder.den, "rounding dropped a unit");
  return { result, remainder };
}

function unknownRule(rule: never): never {
  invariant(false, `unknown rounding rule ${String(rule)}`);
}
