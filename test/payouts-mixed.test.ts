import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { earn, linkPaypal, linkUsBank, verify, wallet } from "./support/creator.js";
import {
  cashOut,
  deliverPaypal,
  deliverStripe,
  linkStripeAccount,
  openPayoutsApp,
  type PayoutsApp,
  reconciliation,
  statusOf,
} from "./support/payouts.js";

let p: PayoutsApp | null = null;
afterEach(async () => {
  await p?.dispose();
  p = null;
});

describe("a mixed run across the PayPal, Stripe Connect and test rails", () => {
  it("ends every cash-out paid, failed or returned, gives back the diamonds of the failed and returned, balances the ledger and reconciles", async () => {
    p = await openPayoutsApp();
    const { t, paypal, stripe } = p;
    const cases = [
      // [name, rail, how it ends]
      ["paypal paid, by webhook", "paypal", "paid"],
      ["paypal paid, by polling", "paypal", "paid"],
      ["paypal failed", "paypal", "failed"],
      ["paypal blocked", "paypal", "failed"],
      ["paypal unclaimed, then returned", "paypal", "returned"],
      ["paypal refunded after paying", "paypal", "returned"],
      ["stripe paid", "stripe_connect", "paid"],
      ["stripe paid too", "stripe_connect", "paid"],
      ["stripe refused", "stripe_connect", "failed"],
      ["stripe reversed", "stripe_connect", "returned"],
      ["bank paid", "test", "paid"],
      ["bank failed", "test", "failed"],
      ["bank returned", "test", "returned"],
    ] as const;
    await earn(t, "video", "galaxy", 10 * cases.length);
    await verify(t);
    const methods: Record<(typeof cases)[number][0], string> = {
      "paypal paid, by webhook": await linkPaypal(t, "ada@example.com"),
      "paypal paid, by polling": await linkPaypal(t, "ada+poll@example.com"),
      "paypal failed": await linkPaypal(t, "fail@example.com"),
      "paypal blocked": await linkPaypal(t, "blocked@example.com"),
      "paypal unclaimed, then returned": await linkPaypal(t, "unclaimed@example.com"),
      "paypal refunded after paying": await linkPaypal(t, "ada+refund@example.com"),
      "stripe paid": await linkStripeAccount(t, stripe.createConnectedAccount()),
      "stripe paid too": await linkStripeAccount(t, stripe.createConnectedAccount()),
      "stripe refused": await linkStripeAccount(t, stripe.createConnectedAccount({ transfers: "inactive" })),
      "stripe reversed": await linkStripeAccount(t, stripe.createConnectedAccount()),
      "bank paid": await linkUsBank(t, "Ada Lovelace", "000123456789"),
      "bank failed": await linkUsBank(t, "Ada Lovelace", "000123450002"),
      "bank returned": await linkUsBank(t, "Ada Lovelace", "000123450003"),
    };
    const ids = {} as Record<(typeof cases)[number][0], string>;
    for (const [name] of cases) ids[name] = await cashOut(t, methods[name]);
    for (const [name, rail] of cases)
      expect((await t.inject("GET", `/v1/cashouts/${ids[name]}`)).json().rail, name).toBe(rail);

    // Pass 1: PayPal gets one batch; the answer to the first Stripe transfer comes after a timeout,
    // so that cash-out stays processing until a poll finds its transfer.
    stripe.faultNext("POST", "/v1/transfers", { kind: "delay", ms: 1500 });
    await t.cashouts.process();
    expect(paypal.batches.size).toBe(1);
    const stripeStatuses = await Promise.all(
      cases.filter(([, rail]) => rail === "stripe_connect").map(([name]) => statusOf(t, ids[name])),
    );
    expect(stripeStatuses.filter((s) => s === "processing")).toHaveLength(1);

    // PayPal processes its items; three of its events are delivered, the rest found by polling.
    const events = paypal.process();
    const receiverOf = (e: (typeof events)[number]) => e.resource.payout_item.receiver;
    for (const event of events.filter((e) =>
      ["ada@example.com", "fail@example.com", "unclaimed@example.com"].includes(receiverOf(e)),
    )) {
      expect((await deliverPaypal(t, paypal, event)).statusCode).toBe(200);
    }
    await t.cashouts.process();

    // The money comes back for three of them: two told by webhook, one found by polling.
    const returned = paypal.setItemStatus(ids["paypal unclaimed, then returned"], "RETURNED")!;
    expect((await deliverPaypal(t, paypal, returned)).statusCode).toBe(200);
    paypal.setItemStatus(ids["paypal refunded after paying"], "REFUNDED");
    const transfer = [...stripe.transfers.values()].find(
      (x) => x.metadata.cashoutId === ids["stripe reversed"],
    )!;
    for (const event of stripe.reverseTransfer(transfer.id))
      expect((await deliverStripe(t, stripe, event)).statusCode).toBe(200);
    await t.cashouts.process();
    // More passes change nothing.
    expect(await t.cashouts.process()).toBe(0);

    for (const [name, , end] of cases) expect(await statusOf(t, ids[name]), name).toBe(end);
    const back = cases.filter(([, , end]) => end !== "paid").length;
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: String(back * 20_000), onHold: "0" });
    const ledger = await reconcile(t.runtime.store);
    expect(ledger.problems).toEqual([]);
    expect(ledger.ok).toBe(true);

    // Nothing was paid twice: one PayPal item and at most one transfer per cash-out.
    for (const [name, rail] of cases) {
      if (rail === "paypal") expect(paypal.itemsOf(ids[name]), name).toHaveLength(1);
      if (rail === "stripe_connect") {
        const made = [...stripe.transfers.values()].filter((x) => x.metadata.cashoutId === ids[name]);
        expect(made, name).toHaveLength(name === "stripe refused" ? 0 : 1);
      }
    }
    const report = await reconciliation(t);
    expect(report.differences).toEqual([]);
    expect(report).toMatchObject({ ok: true, cashoutsChecked: cases.length });
    // A leap second passes the date-time format but is no instant `Date` can hold: a 400, not a 500.
    const leap = await t.inject("GET", "/v1/admin/reconciliation/payouts?since=2016-12-31T23:59:60Z");
    expect(leap.statusCode).toBe(400);
    expect(leap.json()).toMatchObject({ code: "invalid_request", detail: expect.stringMatching(/since/) });
  });
});
