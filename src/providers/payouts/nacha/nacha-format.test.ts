import { describe, expect, it } from "vitest";
import { parseNacha } from "../../../../test/support/nacha-parser.js";
import type { PayoutOrder } from "../rail.js";
import { testOrigin } from "./nacha.testkit.js";
import { NachaFormat } from "./nacha-format.js";

const format = new NachaFormat({
  origin: testOrigin,
  executionDelayBusinessDays: 1,
});

const order = (holderName: string, netMinor: bigint): PayoutOrder => ({
  cashoutId: "co_nacha_1",
  userId: "u1",
  currency: "USD",
  netMinor,
  destination: {
    type: "bank_account",
    holderName,
    routingNumber: "091000019",
    accountNumber: "12345678",
    accountType: "checking",
  },
});

describe("NachaFormat.refusal", () => {
  it("takes an order the file can carry, names in any script transliterated", () => {
    expect(format.refusal(order("Ada Lovelace", 10_000n))).toBeNull();
    expect(format.refusal(order("李小龙", 9_999_999_999n))).toBeNull();
  });

  it("refuses, alone, an entry over $99,999,999.99 and a name with nothing an ACH file can carry", () => {
    // Either used to fail an invariant while the whole file was built, every pass.
    expect(format.refusal(order("Ada Lovelace", 10_000_000_000n))).toMatch(/at most \$99,999,999.99/);
    expect(format.refusal(order("!!! ???", 10_000n))).toMatch(/no character an ACH file can carry/);
  });
});

describe("NachaFormat.build", () => {
  it("asks for the effective entry date executionDelayBusinessDays weekdays after the file's creation", () => {
    // 2027-06-03 is a Thursday: one business day on is Friday, two is the Monday after.
    const createdAt = Date.parse("2027-06-03T13:45:00Z");
    const effective = (executionDelayBusinessDays: number) => {
      const delayed = new NachaFormat({ origin: testOrigin, executionDelayBusinessDays });
      const { content } = delayed.build({
        fileId: "pf_1",
        createdAt,
        sameDayIndex: 0,
        serialStart: 1,
        orders: [order("Ada Lovelace", 10_000n)],
      });
      const parsed = parseNacha(content.toString("ascii"));
      expect(parsed.header.createdDate).toBe("270603");
      return parsed.batch.effectiveDate;
    };
    expect([0, 1, 2].map(effective)).toEqual(["270603", "270604", "270607"]);
  });

  it("identifies each entry by the end of its cash-out id, which the receiver's statement shows", () => {
    const orders = ["co_0123456789abcdefghij", "co_klmnopqrstuvwxyz9876"].map((cashoutId, i) => ({
      ...order("Ada Lovelace", 10_000n + BigInt(i)),
      cashoutId,
      userId: `usr_creator${i}`,
    }));
    const { content } = format.build({
      fileId: "pf_1",
      createdAt: Date.parse("2027-06-03T13:45:00Z"),
      sameDayIndex: 0,
      serialStart: 1,
      orders,
    });
    const entries = parseNacha(content.toString("ascii")).entries;
    expect(entries.map((e) => e.individualId)).toEqual(["56789ABCDEFGHIJ", "PQRSTUVWXYZ9876"]);
  });
});
