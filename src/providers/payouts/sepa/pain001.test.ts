import { describe, expect, it } from "vitest";
import { elementTexts, validatePain001 } from "../../../../test/support/pain001.js";
import { buildPain001 } from "./pain001.js";
import { sepaText } from "./sepa-text.js";

const debtor = {
  name: "Giftstream GmbH",
  iban: "DE89370400440532013000",
  bic: "COBADEFFXXX",
  initiatingPartyId: "GS123",
};

describe("buildPain001", () => {
  it("writes a document that validates against pain.001.001.03, with exact sums", async () => {
    const xml = buildPain001({
      messageId: "pf.0123",
      createdAt: Date.parse("2027-06-02T13:45:07.123Z"),
      executionDate: "2027-06-03",
      debtor,
      credits: [
        {
          endToEndId: "co.1",
          amountMinor: 10n,
          creditorName: sepaText("Zoë Müller-Łukasiewicz", 70),
          iban: "FR1420041010050500013M02606",
          bic: null,
          remittance: "Giftstream payout co.1",
        },
        {
          endToEndId: "co.2",
          amountMinor: 99_999_999_999n,
          creditorName: "A & B <C>",
          iban: "DE89370400440532013000",
          bic: "COBADEFF",
          remittance: "x",
        },
      ],
    });
    const result = await validatePain001(xml);
    expect(result.errors, result.rawOutput).toEqual([]);
    expect(result.valid).toBe(true);
    expect(elementTexts(xml, "CtrlSum")).toEqual(["1000000000.09", "1000000000.09"]);
    expect(elementTexts(xml, "InstdAmt")).toEqual(["0.10", "999999999.99"]);
    expect(elementTexts(xml, "NbOfTxs")).toEqual(["2", "2"]);
    expect(elementTexts(xml, "CreDtTm")).toEqual(["2027-06-02T13:45:07Z"]);
    expect(xml).toContain("<Nm>Zoe Muller-Lukasiewicz</Nm>");
    // Escaped by the builder, never concatenated.
    expect(xml).toContain("<Nm>A &amp; B &lt;C&gt;</Nm>");
    expect(xml).toContain("<Othr>\n              <Id>NOTPROVIDED</Id>");
  });

  it("a document the schema refuses is reported, so the validation is real", async () => {
    const xml = buildPain001({
      messageId: "x".repeat(36),
      createdAt: 0,
      executionDate: "2027-06-03",
      debtor,
      credits: [
        {
          endToEndId: "e",
          amountMinor: 1n,
          creditorName: "n",
          iban: "DE89370400440532013000",
          bic: null,
          remittance: "r",
        },
      ],
    });
    const result = await validatePain001(xml);
    expect(result.valid).toBe(false);
    expect(result.errors[0]!.message).toMatch(/MsgId/);
  });
});
