import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GiftstreamError, InvariantViolation } from "../errors.js";
import { addAmounts, amount, amountsEqual, compareAmounts, subtractAmounts } from "./amount.js";

const minorArb = fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n });

describe("amount", () => {
  it("builds an amount of a known unit", () => {
    expect(amount("USD", 990n)).toEqual({ unit: "USD", minor: 990n });
    expect(amount("COIN", 0n)).toEqual({ unit: "COIN", minor: 0n });
    expect(amount("DIAMOND", -3n)).toEqual({ unit: "DIAMOND", minor: -3n });
  });

  it.each(["usd", "XAU", ""])("refuses the unknown unit %j", (unit) => {
    expect(() => amount(unit, 1n)).toThrow(GiftstreamError);
  });

  it.each([1, "1", 1.5, null])("refuses a non-bigint minor value %j as a bug", (minor) => {
    expect(() => amount("USD", minor as unknown as bigint)).toThrow(InvariantViolation);
  });
});

describe("arithmetic", () => {
  it("adds, subtracts and compares in one unit", () => {
    const a = amount("USD", 990n);
    const b = amount("USD", 10n);
    expect(addAmounts(a, b)).toEqual(amount("USD", 1000n));
    expect(subtractAmounts(b, a)).toEqual(amount("USD", -980n));
    expect(compareAmounts(a, b)).toBe(1);
    expect(compareAmounts(b, a)).toBe(-1);
    expect(compareAmounts(a, amount("USD", 990n))).toBe(0);
  });

  it("stays exact past 2^53", () => {
    const big = amount("USD", 2n ** 53n);
    expect(addAmounts(big, amount("USD", 1n)).minor).toBe(9007199254740993n);
  });

  it.each([
    ["add", addAmounts],
    ["subtract", subtractAmounts],
    ["compare", compareAmounts],
  ] as const)("refuses to %s two units with unit_mismatch", (verb, operation) => {
    try {
      operation(amount("USD", 1n), amount("EUR", 1n));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GiftstreamError);
      expect((error as GiftstreamError).code).toBe("unit_mismatch");
      expect((error as GiftstreamError).status).toBe(422);
      expect((error as GiftstreamError).message).toBe(`cannot ${verb} USD and EUR amounts`);
    }
  });

  it("compares equality across units without throwing", () => {
    expect(amountsEqual(amount("COIN", 1n), amount("DIAMOND", 1n))).toBe(false);
    expect(amountsEqual(amount("COIN", 1n), amount("COIN", 1n))).toBe(true);
  });

  it("undoes an addition with a subtraction", () => {
    fc.assert(
      fc.property(minorArb, minorArb, (x, y) => {
        const a = amount("DIAMOND", x);
        const b = amount("DIAMOND", y);
        expect(subtractAmounts(addAmounts(a, b), b)).toEqual(a);
      }),
    );
  });

  it("orders antisymmetrically", () => {
    fc.assert(
      fc.property(minorArb, minorArb, (x, y) => {
        const a = amount("COIN", x);
        const b = amount("COIN", y);
        expect(compareAmounts(a, b)).toBe(-compareAmounts(b, a) || 0);
        expect(compareAmounts(a, b) === 0).toBe(x === y);
      }),
    );
  });
});
