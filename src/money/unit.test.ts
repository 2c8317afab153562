import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import currencyCodes from "currency-codes";
import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../errors.js";
import { findUnit, isoCodesWithoutMinorUnit, isUnit, parseUnit, unitCodes, unitExponent } from "./unit.js";

function thrown(fn: () => unknown): GiftstreamError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GiftstreamError);
    return error as GiftstreamError;
  }
  throw new Error("expected a GiftstreamError");
}

describe("unitExponent", () => {
  it.each([
    ["COIN", 0],
    ["DIAMOND", 0],
    ["USD", 2],
    ["EUR", 2],
    ["GBP", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["XAF", 0],
    ["BHD", 3],
    ["KWD", 3],
    ["TND", 3],
    ["CLF", 4],
  ])("%s has %i minor digits", (code, exponent) => {
    expect(unitExponent(code)).toBe(exponent);
    expect(isUnit(code)).toBe(true);
    expect(findUnit(code)?.exponent).toBe(exponent);
  });

  it.each([
    "usd",
    "Usd",
    "coin",
    "Coin",
    "diamonds",
    "",
    "US",
    "USDX",
    " USD",
    "USD ",
    "XAU",
    "XAG",
    "XPT",
    "XPD",
    "XDR",
    "XTS",
    "XXX",
    "ZZZ",
    "__proto__",
    "constructor",
    "toString",
    "USD\u0000",
  ])("%j is not a unit", (code) => {
    expect(isUnit(code)).toBe(false);
    expect(findUnit(code)).toBeUndefined();
    const error = thrown(() => unitExponent(code));
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/is not a known unit/);
  });

  it.each([840, null, undefined, {}, ["USD"], Symbol("USD")])(
    "isUnit(%s) is false for non-strings",
    (value) => {
      expect(isUnit(value)).toBe(false);
    },
  );

  it.each([undefined, null, 840])("unitExponent(%o) fails as a bad request, not a TypeError", (value) => {
    expect(thrown(() => unitExponent(value as unknown as string)).code).toBe("invalid_request");
  });

  it("marks app units and currencies apart", () => {
    expect(findUnit("COIN")).toEqual({ code: "COIN", exponent: 0, kind: "app" });
    expect(findUnit("USD")).toEqual({ code: "USD", exponent: 2, kind: "currency" });
  });
});

describe("parseUnit", () => {
  it("returns a known unit", () => {
    expect(parseUnit("USD")).toBe("USD");
    expect(parseUnit("DIAMOND", "payout.unit")).toBe("DIAMOND");
  });

  it.each([
    [840, /payout\.unit must be a string/],
    [null, /payout\.unit must be a string/],
    ["usd", /payout\.unit "usd" is not a known unit/],
    ["XAU", /"XAU" is not a known unit/],
  ])("rejects %j", (input, detail) => {
    const error = thrown(() => parseUnit(input, "payout.unit"));
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(detail);
    expect(error.extra).toEqual({ field: "payout.unit" });
  });

  it("bounds a huge bogus code in the detail", () => {
    const error = thrown(() => parseUnit("A".repeat(10_000)));
    expect(error.message.length).toBeLessThan(200);
  });
});

describe("the unit list", () => {
  it("excludes exactly the codes ISO 4217 lists without a minor unit", () => {
    // Pair check: the hard-coded set against the ISO list the package ships.
    const require = createRequire(import.meta.url);
    const xml = readFileSync(require.resolve("currency-codes/iso-4217-list-one.xml"), "utf8");
    const withoutMinorUnit = new Set<string>();
    for (const entry of xml.matchAll(/<CcyNtry>([\s\S]*?)<\/CcyNtry>/g)) {
      const code = /<Ccy>(\w+)<\/Ccy>/.exec(entry[1] ?? "")?.[1];
      const digits = /<CcyMnrUnts>([^<]*)<\/CcyMnrUnts>/.exec(entry[1] ?? "")?.[1];
      if (code !== undefined && digits === "N.A.") withoutMinorUnit.add(code);
    }
    expect([...withoutMinorUnit].sort()).toEqual([...isoCodesWithoutMinorUnit].sort());
  });

  it("holds every other ISO code with its listed digits", () => {
    for (const record of currencyCodes.data) {
      if (isoCodesWithoutMinorUnit.has(record.code)) continue;
      expect(unitExponent(record.code)).toBe(record.digits);
    }
  });

  it("lists every unit, sorted, with exponents from 0 to 4", () => {
    const codes = unitCodes();
    expect(codes).toEqual([...codes].sort());
    expect(codes).toContain("COIN");
    expect(codes).toContain("DIAMOND");
    expect(codes).toContain("USD");
    expect(codes).not.toContain("XAU");
    for (const code of codes) expect([0, 2, 3, 4]).toContain(unitExponent(code));
  });
});
