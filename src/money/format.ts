/**
 * Amounts as decimal strings. Output always goes through these, never through `Number`, so a
 * value past 2^53 prints exactly.
 */
import { invariant } from "../errors.js";
import { type Unit, unitExponent } from "./unit.js";

/** The wire form of an amount: the integer in minor units, "990" for $9.90. */
export function formatMinor(minor: bigint): string {
  invariant(typeof minor === "bigint", "formatMinor needs a bigint");
  return minor.toString();
}

/** Major units with exactly the unit's decimals: 990n USD → "9.90", -5n USD → "-0.05", 100n JPY → "100". */
export function formatMajor(minor: bigint, unit: Unit): string {
  return formatFixed(minor, unitExponent(unit));
}

/** `minor` scaled down by 10^exponent, written with exactly `exponent` decimals. */
export function formatFixed(minor: bigint, exponent: number): string {
  invariant(typeof minor === "bigint", "formatFixed needs a bigint");
  assertExponent(exponent);
  if (exponent === 0) return minor.toString();
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, "0");
  const cut = digits.length - exponent;
  return `${minor < 0n ? "-" : ""}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** ISO 4217 goes up to 4 digits; anything else is a caller bug, not input. */
export const exponentMax = 18;

export function assertExponent(exponent: number): void {
  invariant(Number.isInteger(exponent) && exponent >= 0 && exponent <= exponentMax, "bad unit exponent");
}
