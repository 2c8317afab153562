import { describe, expect, it } from "vitest";
import { isValidRoutingNumber, parseAccountNumber, parseBic, parseIban } from "./bank-account.js";

describe("bank accounts", () => {
  it.each([
    ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000"],
    ["gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"],
    ["FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"],
    ["NL91ABNA0417164300", "NL91ABNA0417164300"],
  ])("takes the IBAN %s as %s", (text, iban) => {
    expect(parseIban(text)).toBe(iban);
  });

  it.each([
    "DE88370400440532013000",
    "DE8937040044053201300",
    "DE893704004405320130000",
    "XX89370400440532013000",
    "NL91ABNA041716430O",
    "CH4431999123000889012",
    "",
  ])("refuses the IBAN %s", (text) => {
    expect(() => parseIban(text)).toThrow(/not a valid IBAN/);
  });

  it("takes 8- and 11-character BICs, refuses others", () => {
    expect(parseBic("deutdeff")).toBe("DEUTDEFF");
    expect(parseBic("DEUTDEFF500")).toBe("DEUTDEFF500");
    for (const bic of ["DEUTDEF", "DEUTXXFF", "DEUT DEFF 5", "1EUTDEFF"])
      expect(() => parseBic(bic)).toThrow();
  });

  it("checks ABA routing numbers with the 3-7-1 weights and a Federal Reserve prefix", () => {
    for (const routing of ["011000015", "021000021", "121000358", "026009593", "322271627"]) {
      expect(isValidRoutingNumber(routing), routing).toBe(true);
    }
    for (const routing of ["021000022", "121000359", "000000000", "990000008", "02100002", "02100002a"]) {
      expect(isValidRoutingNumber(routing), routing).toBe(false);
    }
  });

  it("takes US account numbers of 4 to 17 digits", () => {
    expect(parseAccountNumber("0001 2345-6789")).toBe("000123456789");
    expect(parseAccountNumber("1234")).toBe("1234");
    expect(parseAccountNumber("1".repeat(17))).toBe("1".repeat(17));
    for (const n of ["123", "1".repeat(18), "12AB", "0000"]) expect(() => parseAccountNumber(n)).toThrow();
  });
});
