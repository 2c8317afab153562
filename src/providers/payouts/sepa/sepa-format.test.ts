import { describe, expect, it } from "vitest";
import { elementTexts } from "../../../../test/support/pain001.js";
import type { PayoutOrder } from "../rail.js";
import { remittanceOf, SepaFormat } from "./sepa-format.js";

const format = new SepaFormat({
  debtor: { name: "Giftstream Ltd", iban: "DE89370400440532013000", bic: null, initiatingPartyId: null },
  remittancePrefix: "Giftstream payout",
  executionDelayBusinessDays: 1,
});

function order(iban: string): PayoutOrder {
  return {
    cashoutId: "co_1",
    userId: "u1",
    currency: "EUR",
    netMinor: 10_000n,
    destination: { type: "bank_account", holderName: "Ada Lovelace", iban, bic: null },
  };
}

describe("SEPA orders", () => {
  it.each([
    ["DE89370400440532013000", null],
    ["CH9300762011623852957", null],
    ["GB33BUKB20201555555555", null],
    ["BR1800360305000010009795493C1", "the IBAN's country (BR) is outside the SEPA scheme"],
    ["SA0380000000608010167519", "the IBAN's country (SA) is outside the SEPA scheme"],
  ])("takes an IBAN of a SEPA country, refuses one outside the scheme (%s)", (iban, refusal) => {
    expect(format.refusal(order(iban))).toBe(refusal);
  });

  it("keeps the cash-out's reference whole however the prefix transliterates", () => {
    const reference = "co.0123456789abcdef0123456789ab";
    // 100 characters, the longest prefix the configuration takes, three times as long in ASCII.
    const prefix = "北京".repeat(50);
    const text = remittanceOf(prefix, reference);
    expect(text.length).toBeLessThanOrEqual(140);
    expect(text.endsWith(` ${reference}`)).toBe(true);
    expect(text.startsWith("BeiJing")).toBe(true);
    expect(remittanceOf("Giftstream payout", reference)).toBe(`Giftstream payout ${reference}`);
    // A prefix with nothing SEPA can carry leaves the reference alone.
    expect(remittanceOf("\u200b ", reference)).toBe(reference);
  });
});

describe("SEPA files", () => {
  it("asks for execution executionDelayBusinessDays weekdays after the file's creation (ReqdExctnDt)", () => {
    // 2027-06-03 is a Thursday: one business day on is Friday, two is the Monday after.
    const createdAt = Date.parse("2027-06-03T13:45:00Z");
    const requested = (executionDelayBusinessDays: number) => {
      const delayed = new SepaFormat({
        debtor: {
          name: "Giftstream Ltd",
          iban: "DE89370400440532013000",
          bic: null,
          initiatingPartyId: null,
        },
        remittancePrefix: "Giftstream payout",
        executionDelayBusinessDays,
      });
      const { content } = delayed.build({
        fileId: "pf_1",
        createdAt,
        sameDayIndex: 0,
        serialStart: 1,
        orders: [order("DE89370400440532013000")],
      });
      const xml = content.toString("utf8");
      expect(elementTexts(xml, "CreDtTm")).toEqual(["2027-06-03T13:45:00Z"]);
      return elementTexts(xml, "ReqdExctnDt");
    };
    expect([0, 1, 2].map(requested)).toEqual([["2027-06-03"], ["2027-06-04"], ["2027-06-07"]]);
  });
});
