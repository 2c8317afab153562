import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { openPayoutRails } from "../src/cli/cashouts.js";
import { transferIdempotencyKey } from "../src/providers/payouts/stripe-connect/stripe-connect-rail.js";
import { openCreatorApp, wallet } from "./support/creator.js";
import {
  cashOut,
  cashoutOf,
  deliverStripe,
  expectBalanced,
  linkStripeAccount,
  openReadyCreator,
  type PayoutsApp,
  reconciliation,
  statusOf,
  transferCount,
} from "./support/payouts.js";

let p: PayoutsApp | null = null;
afterEach(async () => {
  await p?.dispose();
  p = null;
});

async function ready(cashouts = 1): Promise<PayoutsApp> {
  p = await openReadyCreator(cashouts);
  return p;
}

const transfersOf = (app: PayoutsApp, cashoutId: string) =>
  [...app.stripe.transfers.values()].filter((t) => t.metadata.cashoutId === cashoutId);

describe("stripe_account payout methods", () => {
  it("links a connected account by id, masked, matched like PayPal once identity is verified", async () => {
    const { t } = await ready();
    const res = await t.inject("POST", "/v1/users/creator/payout-methods", {
      type: "stripe_account",
      accountId: "acct_1032D82eZvKYlo2C",
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      type: "stripe_account",
      scheme: "stripe",
      masked: "acct_****lo2C",
      holderName: null,
      nameMatch: "match",
    });
    const named = await t.inject("POST", "/v1/users/creator/payout-methods", {
      type: "stripe_account",
      accountId: "acct_1032D82eZvKYlo2D",
      holderName: "Someone Else",
    });
    expect(named.json()).toMatchObject({ nameMatch: "mismatch" });
    expect(await t.payoutMethods.get("creator", (res.json() as { id: string }).id)).toMatchObject({
      details: { accountId: "acct_1032D82eZvKYlo2C" },
    });
  });

  it.each([
    ["no accountId", { type: "stripe_account" }, "/accountId"],
    ["a malformed id", { type: "stripe_account", accountId: "acct_12-34" }, "/accountId"],
    ["not an account id", { type: "stripe_account", accountId: "cus_1032D82eZvKYlo2C" }, "/accountId"],
    ["an email beside it", { type: "stripe_account", accountId: "acct_1", email: "a@example.com" }, "/email"],
    [
      "an IBAN beside it",
      { type: "stripe_account", accountId: "acct_1", iban: "DE89370400440532013000" },
      "/iban",
    ],
    ["an accountId on PayPal", { type: "paypal", email: "a@example.com", accountId: "acct_1" }, "/accountId"],
  ])("refuses %s with 400", async (_name, body, pointer) => {
    const { t } = await ready();
    const res = await t.inject("POST", "/v1/users/creator/payout-methods", body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request", errors: [{ pointer }] });
  });

  it("is refused where the region does not offer it", async () => {
    const t = await openCreatorApp();
    try {
      const res = await t.inject("POST", "/v1/users/creator/payout-methods", {
        type: "stripe_account",
        accountId: "acct_1032D82eZvKYlo2C",
      });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ code: "method_not_allowed" });
    } finally {
      await t.dispose();
    }
  });
});

describe("the Stripe Connect rail (local stand-in of Stripe's API, through the stripe SDK)", () => {
  it("pays by a transfer to the connected account, keyed by the cash-out id", async () => {
    const { t, stripe } = await ready(2);
    const account = stripe.createConnectedAccount();
    const method = await linkStripeAccount(t, account);
    const ids = [await cashOut(t, method), await cashOut(t, method)];
    await t.cashouts.process();
    for (const id of ids) {
      const [transfer] = transfersOf(p!, id);
      expect(transfer).toMatchObject({
        amount: 10_000,
        currency: "usd",
        destination: account,
        transfer_group: id,
        metadata: { cashoutId: id },
      });
      expect(await cashoutOf(t, id)).toMatchObject({ status: "paid", railRef: transfer!.id });
      const request = stripe.requests.find(
        (r) => r.path === "/v1/transfers" && r.params.transfer_group === id,
      );
      expect(request?.idempotencyKey).toBe(transferIdempotencyKey(id));
    }
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "0", onHold: "0" });
    // Paid cash-outs are watched for a reversal; nothing changes while there is none.
    await t.cashouts.process();
    for (const id of ids) expect(await statusOf(t, id)).toBe("paid");
    await expectBalanced(p!);
    expect(await reconciliation(t)).toMatchObject({ ok: true, cashoutsChecked: 2, railRecordsChecked: 2 });
  });

  it("fails a transfer Stripe refuses, and gives the diamonds back", async () => {
    const { t, stripe } = await ready(3);
    const inactive = await cashOut(
      t,
      await linkStripeAccount(t, stripe.createConnectedAccount({ transfers: "inactive" })),
    );
    const unknown = await cashOut(t, await linkStripeAccount(t, "acct_0000000000000000"));
    stripe.balances.set("usd", 5_000n);
    const poor = await cashOut(t, await linkStripeAccount(t, stripe.createConnectedAccount()));
    await t.cashouts.process();
    expect(await cashoutOf(t, inactive)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("insufficient_capabilities_for_transfer"),
    });
    expect(await cashoutOf(t, unknown)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("No such destination"),
    });
    expect(await cashoutOf(t, poor)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("balance_insufficient"),
    });
    expect(stripe.transfers.size).toBe(0);
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "60000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("fails a transfer Stripe forbids (403), and gives the diamonds back", async () => {
    const { t, stripe } = await ready();
    const id = await cashOut(t, await linkStripeAccount(t, stripe.createConnectedAccount()));
    // A restricted key without the transfers permission: Stripe refuses before making anything.
    stripe.faultNext("POST", "/v1/transfers", {
      kind: "refuse",
      status: 403,
      error: {
        type: "invalid_request_error",
        message:
          "The provided key 'rk_test_***' does not have the required permissions for this endpoint. Having the 'rak_transfer_write' permission would allow this request to continue.",
      },
    });
    await t.cashouts.process();
    expect(await cashoutOf(t, id)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("rak_transfer_write"),
    });
    expect(stripe.transfers.size).toBe(0);
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "20000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("after a timeout finds the transfer Stripe made, and never makes a second", async () => {
    const { t, stripe } = await ready(3);
    const method = await linkStripeAccount(t, stripe.createConnectedAccount());
    const late = await cashOut(t, method);
    // Stripe makes the transfer; its answer comes after the rail has stopped waiting.
    stripe.faultNext("POST", "/v1/transfers", { kind: "delay", ms: 1500 });
    await t.cashouts.process();
    expect(await statusOf(t, late)).toBe("processing");
    expect(transfersOf(p!, late)).toHaveLength(1);
    await t.cashouts.process();
    expect(await statusOf(t, late)).toBe("paid");
    expect(transfersOf(p!, late)).toHaveLength(1);

    // The connection dropped after Stripe made the transfer: the request goes again with the same
    // idempotency key, and Stripe answers it with the transfer it already made.
    const dropped = await cashOut(t, method);
    stripe.faultNext("POST", "/v1/transfers", { kind: "drop" });
    await t.cashouts.process();
    expect(await statusOf(t, dropped)).toBe("paid");
    const posts = stripe.requests.filter((r) => r.method === "POST" && r.params.transfer_group === dropped);
    expect(posts.map((r) => r.idempotencyKey)).toEqual([
      transferIdempotencyKey(dropped),
      transferIdempotencyKey(dropped),
    ]);
    expect(transfersOf(p!, dropped)).toHaveLength(1);
    // Stripe's event of that transfer, arriving after, changes nothing.
    const created = stripe.transferEvents.filter((e) => e.type === "transfer.created").at(-1)!;
    const before = await transferCount(t);
    expect((await deliverStripe(t, stripe, created)).statusCode).toBe(200);
    expect(await transferCount(t)).toBe(before);

    // Timed out again, and this time Stripe's event settles it before any poll does.
    const settledByEvent = await cashOut(t, method);
    stripe.faultNext("POST", "/v1/transfers", { kind: "delay", ms: 1500 });
    await t.cashouts.process();
    expect(await statusOf(t, settledByEvent)).toBe("processing");
    const event = stripe.transferEvents.filter((e) => e.type === "transfer.created").at(-1)!;
    expect((await deliverStripe(t, stripe, event)).statusCode).toBe(200);
    expect(await statusOf(t, settledByEvent)).toBe("paid");
    await t.cashouts.process();
    expect(transfersOf(p!, settledByEvent)).toHaveLength(1);
    expect(stripe.transfers.size).toBe(3);
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("asks Stripe again with the same idempotency key when it cannot tell, and Stripe answers the first transfer", async () => {
    const { t, stripe } = await ready();
    const account = stripe.createConnectedAccount();
    const id = await cashOut(t, await linkStripeAccount(t, account));
    const order = {
      cashoutId: id,
      userId: "creator",
      currency: "USD",
      netMinor: 10_000n,
      destination: { type: "stripe_account" as const, accountId: account },
    };
    await t.cashouts.process();
    // A submit again (as after a crash that lost the answer): Stripe replays the first transfer.
    const rails = openPayoutRails({
      runtime: t.runtime,
      clock: t.clock.now,
      logger: pino({ level: "silent" }),
    });
    const rail = rails.get("stripe_connect")!;
    const again = await rail.submit(order);
    expect(again).toEqual({ status: "paid", ref: transfersOf(p!, id)[0]!.id });
    expect(stripe.transfers.size).toBe(1);
    expect(stripe.requests.filter((r) => r.path === "/v1/transfers" && r.method === "POST")).toHaveLength(2);

    // Pair check: the transfer of the cash-out's group must be the one asked for. Sent to another
    // account, or of another amount or currency, it is not this payout, and nothing settles on it.
    const elsewhere = stripe.createConnectedAccount();
    for (const other of [
      { ...order, destination: { type: "stripe_account" as const, accountId: elsewhere } },
      { ...order, netMinor: 10_001n },
      { ...order, currency: "EUR" },
    ]) {
      await expect(
        rail.status(other),
        JSON.stringify(other, (_k, v) => String(v)),
      ).rejects.toThrow(/does not match/);
    }
    expect(await rail.status(order)).toEqual(again);
  });

  it("applies a reversal once, however often it is delivered, and gives the diamonds back", async () => {
    const { t, stripe } = await ready();
    const id = await cashOut(t, await linkStripeAccount(t, stripe.createConnectedAccount()));
    await t.cashouts.process();
    expect(await statusOf(t, id)).toBe("paid");
    const [created] = stripe.transferEvents;
    // The creation event after the answer changes nothing.
    const before = await transferCount(t);
    expect((await deliverStripe(t, stripe, created!)).statusCode).toBe(200);
    expect(await transferCount(t)).toBe(before);

    const [reversed] = stripe.reverseTransfer(transfersOf(p!, id)[0]!.id);
    for (let i = 0; i < 3; i++) expect((await deliverStripe(t, stripe, reversed!)).statusCode).toBe(200);
    expect(await cashoutOf(t, id)).toMatchObject({
      status: "returned",
      reason: expect.stringContaining("reversed"),
    });
    const afterReturn = await transferCount(t);
    expect((await deliverStripe(t, stripe, created!)).statusCode).toBe(200);
    expect((await deliverStripe(t, stripe, reversed!)).statusCode).toBe(200);
    expect(await statusOf(t, id)).toBe("returned");
    expect(await transferCount(t)).toBe(afterReturn);
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "20000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("a connected account's own transfer, or another transfer, never settles a cash-out", async () => {
    const { t, stripe } = await ready();
    const account = stripe.createConnectedAccount();
    const id = await cashOut(t, await linkStripeAccount(t, account));
    await t.cashouts.process();
    const [reversed] = stripe.reverseTransfer(transfersOf(p!, id)[0]!.id);
    const before = await transferCount(t);
    // A Standard account's holder makes and reverses a transfer of their own with the same
    // metadata and amount: Stripe signs it as an event of their account.
    const theirs = { ...reversed!, account } as typeof reversed;
    expect((await deliverStripe(t, stripe, theirs!)).statusCode).toBe(200);
    expect(await statusOf(t, id)).toBe("paid");
    // A platform event of some other transfer naming the cash-out is not this cash-out's either.
    const object = (reversed as { data: { object: object } }).data.object;
    const other = {
      ...reversed!,
      data: { object: { ...object, id: "tr_not_the_cashouts" } },
    } as typeof reversed;
    expect((await deliverStripe(t, stripe, other!)).statusCode).not.toBe(200);
    expect(await statusOf(t, id)).toBe("paid");
    expect(await transferCount(t)).toBe(before);
    // The real one still returns it.
    expect((await deliverStripe(t, stripe, reversed!)).statusCode).toBe(200);
    expect(await statusOf(t, id)).toBe("returned");
  });

  it("refuses an event Stripe did not sign with 400, and changes nothing", async () => {
    const { t, stripe } = await ready();
    const id = await cashOut(t, await linkStripeAccount(t, stripe.createConnectedAccount()));
    await t.cashouts.process();
    const [reversed] = stripe.reverseTransfer(transfersOf(p!, id)[0]!.id);
    const before = await transferCount(t);
    const forged = await deliverStripe(t, stripe, reversed!, { secret: "whsec_not_the_right_one" });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: "invalid_signature" });
    const { body, header } = stripe.signedDelivery(reversed!, {
      timestampSeconds: Math.floor(Date.now() / 1000) - 3600,
    });
    const stale = await t.app.inject({
      method: "POST",
      url: "/v1/webhooks/stripe",
      headers: { "content-type": "application/json", "stripe-signature": header },
      payload: body,
    });
    expect(stale.statusCode).toBe(400);
    const unsigned = await t.app.inject({
      method: "POST",
      url: "/v1/webhooks/stripe",
      headers: { "content-type": "application/json" },
      payload: body,
    });
    expect(unsigned.statusCode).toBe(400);
    expect(await statusOf(t, id)).toBe("paid");
    expect(await transferCount(t)).toBe(before);
  });

  it("finds a reversal by polling when no event comes; a part reversed shows in reconciliation", async () => {
    const { t, stripe } = await ready(2);
    const method = await linkStripeAccount(t, stripe.createConnectedAccount());
    const whole = await cashOut(t, method);
    const part = await cashOut(t, method);
    await t.cashouts.process();
    stripe.reverseTransfer(transfersOf(p!, whole)[0]!.id);
    stripe.reverseTransfer(transfersOf(p!, part)[0]!.id, 2_500n);
    await t.cashouts.process();
    expect(await statusOf(t, whole)).toBe("returned");
    expect(await statusOf(t, part)).toBe("paid");
    expect((await wallet(t)).diamonds.withdrawable).toBe("20000");
    await expectBalanced(p!);
    const report = await reconciliation(t);
    expect(report.ok).toBe(false);
    expect(report.differences).toMatchObject([
      { kind: "amount_mismatch", rail: "stripe_connect", cashoutId: part },
    ]);
  });

  it("acknowledges a connected account's failed payout to its bank, and the cash-out stays paid", async () => {
    const { t, stripe } = await ready();
    const account = stripe.createConnectedAccount();
    const id = await cashOut(t, await linkStripeAccount(t, account));
    await t.cashouts.process();
    const [failed] = stripe.connectedPayoutFailed(account, { amountMinor: 10_000n });
    expect(failed!.account).toBe(account);
    const res = await deliverStripe(t, stripe, failed!);
    expect(res.statusCode, res.body).toBe(200);
    expect(await statusOf(t, id)).toBe("paid");
    // Signed with the account endpoint's secret instead, it is still Stripe's: acknowledged too.
    expect((await deliverStripe(t, stripe, failed!, { secret: stripe.webhookSecret })).statusCode).toBe(200);
  });

  it("still credits coin purchases through the same webhook endpoint", async () => {
    const { t, stripe } = await ready();
    const created = await t.inject(
      "POST",
      "/v1/purchases",
      { userId: "viewer", packId: "us-1000", provider: "stripe" },
      { "idempotency-key": "connect-purchase-1" },
    );
    expect(created.statusCode, created.body).toBe(201);
    const purchaseId = (created.json() as { id: string }).id;
    const session = [...stripe.sessions.values()].find((s) => s.client_reference_id === purchaseId)!;
    for (const event of stripe.pay(session.id))
      expect((await deliverStripe(t, stripe, event)).statusCode).toBe(200);
    expect((await t.inject("GET", `/v1/purchases/${purchaseId}`)).json()).toMatchObject({
      status: "completed",
    });
  });
});
