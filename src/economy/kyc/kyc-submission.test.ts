import { describe, expect, it } from "vitest";
import { checkSubmission, type KycSubmission } from "./kyc-submission.js";

const now = Date.parse("2031-03-01T12:00:00Z");
const input: KycSubmission = {
  legalName: "  Zélie \t Quartermaine ",
  birthDate: "1994-07-09",
  address: { line1: "12  rue des Lilas", line2: " ", city: "Lyon", postalCode: "69003", country: "FR" },
  document: { type: "passport", number: "19fr 456-78", issuingCountry: "FR" },
};

describe("a KYC submission", () => {
  it("is tidied: NFC, whitespace collapsed, blank optional lines dropped, the number canonical", () => {
    const decomposed = { ...input, legalName: input.legalName.normalize("NFD") };
    expect(checkSubmission(decomposed, now, 18)).toEqual({
      legalName: "Zélie Quartermaine",
      birthDate: "1994-07-09",
      address: { line1: "12 rue des Lilas", city: "Lyon", postalCode: "69003", country: "FR" },
      document: { type: "passport", number: "19FR45678", issuingCountry: "FR" },
    });
  });

  it("needs the economy's minimum age on the service clock's date", () => {
    expect(() => checkSubmission({ ...input, birthDate: "2013-03-02" }, now, 18)).toThrow(
      expect.objectContaining({ code: "underage" }),
    );
    expect(checkSubmission({ ...input, birthDate: "2013-03-01" }, now, 18).birthDate).toBe("2013-03-01");
    expect(() => checkSubmission({ ...input, birthDate: "2011-01-01" }, now, 21)).toThrow(/21 or over/);
  });

  it("refuses what the schema cannot see, naming the field and never the value", () => {
    const bad = (patch: Partial<KycSubmission>) => () => checkSubmission({ ...input, ...patch }, now, 18);
    expect(bad({ address: { ...input.address, country: "ZZ" } })).toThrow(/address\/country/);
    expect(bad({ document: { ...input.document, number: "1 2-3" } })).toThrow(/document\/number/);
    // 4 letters or digits is the least taken, and masks to its last 2 ("****34").
    const shortest = checkSubmission(
      { ...input, document: { ...input.document, number: "1 2-3 4" } },
      now,
      18,
    );
    expect(shortest.document.number).toBe("1234");
    expect(bad({ legalName: "1234" })).toThrow(/legalName must contain a letter/);
    expect(bad({ birthDate: "1994-02-30" })).toThrow(/birthDate/);
    expect(bad({ birthDate: "1994-02-30" })).not.toThrow(/1994-02-30/);
  });
});
