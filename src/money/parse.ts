/**
 * Amounts from input. Only strings are accepted: a JSON number is a float to every JSON parser,
 * exact only up to 2^53, so "amount": 12345678901234567891 would arrive already changed.
 *
 * Every rejection is `invalid_amount` with a detail naming the field and what was wrong.
 */
import { GiftstreamError, invariant } from "../errors.js";
import { assertExponent, formatFixed } from "./format.js";
import { type Unit, unitExponent } from "./unit.js";

/** Longer input is refused before any parsing: 40 characters hold any amount below 10^38. */
export const amountInputLengthMax = 40;

export interface ParseAmountOptions {
  /** Largest accepted magnitude in minor units (`money.amountMax`); negatives are bounded by -max. */
  max: bigint;
  /** Zero is refused unless allowed: a zero transfer or price is almost always a mistake. */
  allowZero?: boolean;
  allowNegative?: boolean;
  /** Names the input in error details, e.g. "transfers[0].amount". Defaults to "amount". */
  field?: string;
}

const integerPattern = /^-?(?:0|[1-9][0-9]*)$/;
const decimalPattern = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** A string integer in minor units: "990" is $9.90. */
export function parseMinor(input: unknown, opts: ParseAmountOptions): bigint {
  const field = opts.field ?? "amount";
  const text = requireText(input, field, 'an integer in minor units, such as "990"');
  if (!integerPattern.test(text)) throw invalidAmount(field, text, malformedReason(text, "integer"));
  return checkBounds(BigInt(text), text, opts, field, (value) => value.toString());
}

/** A decimal string in major units, converted to minor units: "9.90" USD is 990n. */
export function parseMajor(input: unknown, unit: Unit, opts: ParseAmountOptions): bigint {
  const exponent = unitExponent(unit);
  const field = opts.field ?? "amount";
  const text = parseFixedText(input, exponent, field, unit);
  const show = (value: bigint) => `${formatFixed(value, exponent)} ${unit}`;
  return checkBounds(toMinor(text, exponent), text, opts, field, show);
}

/** As parseMajor, for a bare exponent instead of a unit. */
export function parseFixed(input: unknown, exponent: number, opts: ParseAmountOptions): bigint {
  const field = opts.field ?? "amount";
  const text = parseFixedText(input, exponent, field, undefined);
  return checkBounds(toMinor(text, exponent), text, opts, field, (value) => formatFixed(value, exponent));
}

/** The validated text of a decimal with at most `exponent` decimals. */
function parseFixedText(input: unknown, exponent: number, field: string, unit: Unit | undefined): string {
  assertExponent(exponent);
  const text = requireText(input, field, 'a decimal string, such as "9.90"');
  if (!decimalPattern.test(text)) throw invalidAmount(field, text, malformedReason(text, "decimal"));
  const decimals = text.includes(".") ? text.length - text.indexOf(".") - 1 : 0;
  if (decimals > exponent) throw invalidAmount(field, text, tooManyDecimals(decimals, exponent, unit));
  return text;
}

function toMinor(text: string, exponent: number): bigint {
  const [whole = "", fraction = ""] = text.split(".");
  return BigInt(whole + fraction.padEnd(exponent, "0"));
}

function requireText(input: unknown, field: string, expected: string): string {
  if (typeof input === "number") {
    throw new GiftstreamError(
      "invalid_amount",
      `${field} must be a string holding ${expected}, not a JSON number: numbers lose precision past 2^53`,
      { field },
    );
  }
  if (typeof input !== "string") {
    const got = input === null ? "null" : Array.isArray(input) ? "array" : typeof input;
    throw new GiftstreamError("invalid_amount", `${field} must be a string holding ${expected}, got ${got}`, {
      field,
    });
  }
  if (input.length > amountInputLengthMax) {
    throw new GiftstreamError(
      "invalid_amount",
      `${field} is longer than ${amountInputLengthMax} characters, too long for an amount`,
      { field },
    );
  }
  return input;
}

/** Why a string failed the grammar, most specific first, so the caller can fix it. */
function malformedReason(text: string, grammar: "integer" | "decimal"): string {
  if (text === "") return "is empty";
  if (/\s/.test(text)) return "contains whitespace";
  if (text.startsWith("+")) return 'has a leading "+"; write the digits alone';
  if (/^-?(?:nan|infinity)$/i.test(text)) return "is not a finite number";
  if (/^-?0[xob]/i.test(text)) return "is not in decimal notation";
  if (/^-?[0-9.]+e[-+]?[0-9]*$/i.test(text)) return "uses exponent notation; write all the digits";
  if (grammar === "integer" && /^-?[0-9]*\.[0-9]*$/.test(text)) {
    return "has a decimal point; amounts are integers in minor units (cents for USD)";
  }
  if (/^-?0[0-9]/.test(text)) return "has leading zeros";
  if (/^-?\.|\.$/.test(text)) return "needs digits on both sides of the decimal point";
  return grammar === "integer" ? "is not an integer in decimal digits" : "is not a plain decimal number";
}

function tooManyDecimals(found: number, exponent: number, unit: Unit | undefined): string {
  if (unit === undefined) return `has ${found} decimals; at most ${exponent} are allowed`;
  if (exponent === 0) return `has decimals, but ${unit} has no minor unit; write whole units`;
  return `has ${found} decimals, but ${unit} allows at most ${exponent}`;
}

/** `text` is the input as given, echoed in details; `show` writes the limit in the same notation. */
function checkBounds(
  value: bigint,
  text: string,
  opts: ParseAmountOptions,
  field: string,
  show: (value: bigint) => string,
): bigint {
  invariant(typeof opts.max === "bigint" && opts.max >= 0n, "parse options need max >= 0n");
  // "-0" passes the grammar but is two spellings of one value; refuse it rather than normalise.
  if (value === 0n && text.startsWith("-")) throw invalidAmount(field, text, 'is a negative zero; write "0"');
  if (value < 0n && !opts.allowNegative) throw invalidAmount(field, text, "must not be negative");
  if (value === 0n && !opts.allowZero) {
    throw invalidAmount(field, text, opts.allowNegative ? "must not be zero" : "must be greater than zero");
  }
  if (value > opts.max) throw invalidAmount(field, text, `must be at most ${show(opts.max)}`);
  if (value < -opts.max) throw invalidAmount(field, text, `must be at least ${show(-opts.max)}`);
  return value;
}

function invalidAmount(field: string, text: string, reason: string): GiftstreamError {
  return new GiftstreamError("invalid_amount", `${field} ${JSON.stringify(text)} ${reason}`, { field });
}
