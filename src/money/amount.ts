/**
 * An amount is a unit and an integer count of its minor unit. Arithmetic refuses to mix units:
 * adding cents to diamonds is a request error, never a silent sum.
 */
import { GiftstreamError, invariant } from "../errors.js";
import { type Unit, unitExponent } from "./unit.js";

export interface Amount {
  readonly unit: Unit;
  readonly minor: bigint;
}

export function amount(unit: Unit, minor: bigint): Amount {
  invariant(typeof minor === "bigint", "an amount's minor value must be a bigint");
  unitExponent(unit); // throws on an unknown unit
  return { unit, minor };
}

export function addAmounts(a: Amount, b: Amount): Amount {
  assertSameUnit(a, b, "add");
  return { unit: a.unit, minor: a.minor + b.minor };
}

export function subtractAmounts(a: Amount, b: Amount): Amount {
  assertSameUnit(a, b, "subtract");
  return { unit: a.unit, minor: a.minor - b.minor };
}

export function compareAmounts(a: Amount, b: Amount): -1 | 0 | 1 {
  assertSameUnit(a, b, "compare");
  return a.minor < b.minor ? -1 : a.minor > b.minor ? 1 : 0;
}

export function amountsEqual(a: Amount, b: Amount): boolean {
  return a.unit === b.unit && a.minor === b.minor;
}

function assertSameUnit(a: Amount, b: Amount, verb: string): void {
  if (a.unit === b.unit) return;
  throw new GiftstreamError("unit_mismatch", `cannot ${verb} ${a.unit} and ${b.unit} amounts`, {
    units: [a.unit, b.unit],
  });
}
