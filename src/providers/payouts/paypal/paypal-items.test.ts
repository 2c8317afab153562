import { describe, expect, it } from "vitest";
import type { PayoutOrder } from "../rail.js";
import {
  batchRequestOf,
  duplicateBatchIdOf,
  isBatchRefusal,
  minorOfItem,
  type PaypalItem,
  paypalTransactionStatuses,
  readItem,
  senderBatchIdOf,
  stateOfItem,
} from "./paypal-items.js";

const item = (status: string, extra: Partial<PaypalItem> = {}): PaypalItem => ({
  payout_item_id: "8AELMXH8UB2P8",
  transaction_id: status === "PENDING" ? null : "0C413693MN970190K",
  transaction_status: status,
  payout_item: { amount: { value: "150.00", currency: "USD" }, sender_item_id: "co_1" },
  ...extra,
});

const order = (id: string, netMinor: bigint, currency = "USD"): PayoutOrder => ({
  cashoutId: id,
  userId: "u",
  currency,
  netMinor,
  destination: { type: "paypal", email: `${id}@example.com` },
});

describe("stateOfItem", () => {
  it("maps every PayPal item status", () => {
    const states = Object.fromEntries(paypalTransactionStatuses.map((s) => [s, stateOfItem(item(s)).status]));
    expect(states).toEqual({
      SUCCESS: "paid",
      // The money has left the balance, waiting to be claimed; RETURNED after 30 days brings it back.
      UNCLAIMED: "paid",
      PENDING: "processing",
      ONHOLD: "processing",
      FAILED: "failed",
      BLOCKED: "failed",
      RETURNED: "returned",
      REFUNDED: "returned",
      REVERSED: "returned",
    });
  });

  it("keeps PayPal's transaction id as the reference, and its error as the reason", () => {
    expect(stateOfItem(item("SUCCESS"))).toEqual({ status: "paid", ref: "0C413693MN970190K" });
    expect(
      stateOfItem(item("FAILED", { errors: { name: "RECEIVER_ACCOUNT_LOCKED", message: "locked" } })),
    ).toEqual({
      status: "failed",
      reason: "PayPal payout item 8AELMXH8UB2P8 is FAILED: RECEIVER_ACCOUNT_LOCKED (locked)",
    });
  });

  it("leaves a status PayPal may add later processing, changing nothing", () => {
    expect(stateOfItem(item("DENIED_SOMEHOW"))).toEqual({ status: "processing", ref: "8AELMXH8UB2P8" });
  });
});

describe("senderBatchIdOf", () => {
  it("is the same for the same cash-outs in any order, and differs for any other set", () => {
    const a = senderBatchIdOf(["co_1", "co_2", "co_3"]);
    expect(senderBatchIdOf(["co_3", "co_1", "co_2"])).toBe(a);
    expect(senderBatchIdOf(["co_1", "co_2"])).not.toBe(a);
    expect(a).toMatch(/^gs_[A-Za-z0-9_-]{40}$/);
  });

  it("refuses an empty batch", () => {
    expect(() => senderBatchIdOf([])).toThrow();
  });
});

describe("batchRequestOf", () => {
  it("writes one EMAIL item per cash-out, amounts in major units as strings", () => {
    const body = JSON.parse(batchRequestOf("gs_x", [order("co_1", 15_000n), order("co_2", 1n, "JPY")]));
    expect(body).toEqual({
      sender_batch_header: { sender_batch_id: "gs_x", recipient_type: "EMAIL" },
      items: [
        {
          recipient_type: "EMAIL",
          amount: { value: "150.00", currency: "USD" },
          receiver: "co_1@example.com",
          sender_item_id: "co_1",
        },
        {
          recipient_type: "EMAIL",
          amount: { value: "1", currency: "JPY" },
          receiver: "co_2@example.com",
          sender_item_id: "co_2",
        },
      ],
    });
  });

  it("refuses nothing to pay, more than PayPal takes, or another kind of destination", () => {
    expect(() => batchRequestOf("gs_x", [])).toThrow();
    expect(() => batchRequestOf("gs_x", [order("co_1", 0n)])).toThrow();
    const many = Array.from({ length: 15_001 }, (_, i) => order(`co_${i}`, 1n));
    expect(() => batchRequestOf("gs_x", many)).toThrow();
    const bank = {
      ...order("co_1", 1n),
      destination: { type: "stripe_account" as const, accountId: "acct_1" },
    };
    expect(() => batchRequestOf("gs_x", [bank])).toThrow();
  });
});

describe("amounts", () => {
  it("reads PayPal's decimal strings exactly, never through a float", () => {
    expect(minorOfItem(item("SUCCESS"))).toEqual({ currency: "USD", netMinor: 15_000n });
    const odd = item("SUCCESS", { payout_item: { amount: { value: "1.0", currency: "USD" } } });
    expect(minorOfItem(odd).netMinor).toBe(100n);
    const huge = item("SUCCESS", {
      payout_item: { amount: { value: "92233720368547758.07", currency: "USD" } },
    });
    expect(minorOfItem(huge).netMinor).toBe(9_223_372_036_854_775_807n);
    for (const value of ["1.001", "1e3", "-1.00", "abc", "92233720368547758.08"]) {
      const bad = item("SUCCESS", { payout_item: { amount: { value, currency: "USD" } } });
      expect(() => minorOfItem(bad), value).toThrow(/cannot read/);
    }
  });

  it("refuses an item without the fields the rail reads", () => {
    expect(() => readItem({ payout_item_id: "X" })).toThrow();
    expect(() => readItem(null)).toThrow();
    expect(readItem(item("SUCCESS")).payout_item_id).toBe("8AELMXH8UB2P8");
  });
});

describe("PayPal's errors", () => {
  const duplicate = {
    name: "USER_BUSINESS_ERROR",
    message: "User business error.",
    details: [
      {
        field: "SENDER_BATCH_ID",
        location: "body",
        issue: "Batch with given sender_batch_id already exists",
        link: [
          { href: "https://api-m.paypal.com/v1/payments/payouts/GMF9PBFDN9YXE", rel: "self", method: "GET" },
        ],
      },
    ],
  };

  it("reads the original batch out of a duplicate sender_batch_id refusal", () => {
    expect(duplicateBatchIdOf(400, duplicate)).toBe("GMF9PBFDN9YXE");
    expect(duplicateBatchIdOf(422, duplicate)).toBeNull();
    expect(duplicateBatchIdOf(400, { ...duplicate, details: [] })).toBeNull();
    expect(duplicateBatchIdOf(400, { name: "VALIDATION_ERROR" })).toBeNull();
  });

  it("takes only an invalid request as a refusal of the batch; the rest is retried", () => {
    expect(isBatchRefusal(400, { name: "VALIDATION_ERROR" })).toBe(true);
    expect(isBatchRefusal(422, { name: "UNPROCESSABLE_ENTITY" })).toBe(true);
    expect(isBatchRefusal(422, { name: "INSUFFICIENT_FUNDS" })).toBe(false);
    expect(isBatchRefusal(400, duplicate)).toBe(false);
    expect(isBatchRefusal(401, { error: "invalid_token" })).toBe(false);
    expect(isBatchRefusal(403, { name: "AUTHORIZATION_ERROR" })).toBe(false);
    expect(isBatchRefusal(500, null)).toBe(false);
  });
});
