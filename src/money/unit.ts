/**
 * Units of account: the two in-app currencies and the ISO 4217 currencies.
 *
 * A unit is its code as a plain string, so that ledger rows and config carry it unchanged. Codes
 * are matched exactly (upper case): "usd" is not a unit, so one unit never has two spellings.
 */
import currencyCodes from "currency-codes";
import { GiftstreamError } from "../errors.js";

export type Unit = string;

/** The in-app units; both are whole numbers of items. */
export const appUnitExponents: Readonly<Record<string, number>> = { COIN: 0, DIAMOND: 0 };

/**
 * ISO 4217 codes whose minor unit the list gives as "N.A." (metals, fund units, testing codes).
 * `currency-codes` flattens "N.A." to 0 digits, which would make gold look like yen; unit.test.ts
 * checks this set against the ISO XML the package ships, so a list update cannot drift past it.
 */
export const isoCodesWithoutMinorUnit: ReadonlySet<string> = new Set([
  "XAG",
  "XAU",
  "XBA",
  "XBB",
  "XBC",
  "XBD",
  "XDR",
  "XPD",
  "XPT",
  "XSU",
  "XTS",
  "XUA",
  "XXX",
]);

export interface UnitInfo {
  readonly code: Unit;
  /** Digits of the minor unit: 2 for USD means amounts are counted in cents. */
  readonly exponent: number;
  readonly kind: "app" | "currency";
}

// Built once: `currencyCodes.code()` scans the list and upper-cases its input, both unwanted here.
const units: ReadonlyMap<string, UnitInfo> = buildUnits();

function buildUnits(): Map<string, UnitInfo> {
  const map = new Map<string, UnitInfo>();
  for (const record of currencyCodes.data) {
    if (isoCodesWithoutMinorUnit.has(record.code)) continue;
    map.set(record.code, { code: record.code, exponent: record.digits, kind: "currency" });
  }
  for (const [code, exponent] of Object.entries(appUnitExponents)) {
    map.set(code, { code, exponent, kind: "app" });
  }
  return map;
}

export function findUnit(code: string): UnitInfo | undefined {
  return units.get(code);
}

export function isUnit(code: unknown): code is Unit {
  return typeof code === "string" && units.has(code);
}

/** Minor-unit digits of a unit; an unknown unit is a bad request, not a bug. */
export function unitExponent(unit: Unit): number {
  const info = units.get(unit);
  if (info === undefined) throw unknownUnit(unit, "unit");
  return info.exponent;
}

/** Validates a unit taken from input (a request body, a config file). */
export function parseUnit(input: unknown, field = "unit"): Unit {
  if (typeof input !== "string") {
    throw new GiftstreamError("invalid_request", `${field} must be a string`, { field });
  }
  if (!units.has(input)) throw unknownUnit(input, field);
  return input;
}

/** Every accepted unit code, sorted; for schemas and docs. */
export function unitCodes(): Unit[] {
  return [...units.keys()].sort();
}

function unknownUnit(code: unknown, field: string): GiftstreamError {
  // Bounded so a huge bogus code cannot bloat logs and responses.
  const text = String(code);
  const shown = text.length > 16 ? `${text.slice(0, 16)}…` : text;
  return new GiftstreamError(
    "invalid_request",
    `${field} ${JSON.stringify(shown)} is not a known unit: COIN, DIAMOND or an ISO 4217 currency code with a minor unit`,
    { field },
  );
}
