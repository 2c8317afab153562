/**
 * Exact decimal rates, written as strings in config and requests: "2" diamonds per coin, "0.005"
 * USD per diamond, "0.5" commission. A rate is an exact fraction with a power-of-ten
 * denominator as written, plus its text for display, so "0.50" is shown as the operator wrote it.
 */
import { GiftstreamError } from "../errors.js";
import type { Rational } from "./rational.js";

export interface Rate extends Rational {
  /** The rate as written; num/den is its exact value (den = 10^decimals, not reduced). */
  readonly text: string;
}

export interface ParseRateOptions {
  allowNegative?: boolean;
  /** Zero is refused unless allowed: a zero price or exchange rate would pay out nothing. */
  allowZero?: boolean;
  /** Names the input in error details. Defaults to "rate". */
  field?: string;
}

export const rateInputLengthMax = 40;
export const rateSignificantDigitsMax = 30;

const ratePattern = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

export function parseRate(input: unknown, opts: ParseRateOptions = {}): Rate {
  const field = opts.field ?? "rate";
  const text = requireRateText(input, field);
  if (!ratePattern.test(text)) throw invalidRate(field, text, "is not a plain decimal number");
  const negative = text.startsWith("-");
  const digits = text.replace("-", "").replace(".", "");
  if (digits.replace(/^0+/, "").length > rateSignificantDigitsMax) {
    throw invalidRate(field, text, `has more than ${rateSignificantDigitsMax} significant digits`);
  }
  const decimals = text.includes(".") ? text.length - text.indexOf(".") - 1 : 0;
  const num = BigInt(digits) * (negative ? -1n : 1n);
  if (num === 0n && negative) throw invalidRate(field, text, 'is a negative zero; write "0"');
  if (num < 0n && !opts.allowNegative) throw invalidRate(field, text, "must not be negative");
  if (num === 0n && !opts.allowZero) throw invalidRate(field, text, "must not be zero");
  return { num, den: 10n ** BigInt(decimals), text };
}

function requireRateText(input: unknown, field: string): string {
  if (typeof input === "number") {
    throw new GiftstreamError(
      "invalid_request",
      `${field} must be a decimal string such as "0.005", not a JSON number: a float cannot hold 0.005 exactly`,
      { field },
    );
  }
  if (typeof input !== "string") {
    const got = input === null ? "null" : Array.isArray(input) ? "array" : typeof input;
    throw new GiftstreamError("invalid_request", `${field} must be a decimal string, got ${got}`, { field });
  }
  if (input.length > rateInputLengthMax) {
    throw new GiftstreamError("invalid_request", `${field} is longer than ${rateInputLengthMax} characters`, {
      field,
    });
  }
  return input;
}

function invalidRate(field: string, text: string, reason: string): GiftstreamError {
  return new GiftstreamError("invalid_request", `${field} ${JSON.stringify(text)} ${reason}`, { field });
}
