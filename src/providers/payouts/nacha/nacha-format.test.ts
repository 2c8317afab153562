import { describe, expect, it } from "vitest";
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
