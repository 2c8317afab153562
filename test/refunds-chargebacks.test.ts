import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { type StripeStandIn, startStripeStandIn } from "./stand-ins/stripe-stand-in.js";
import { openTestApp, type TestApp } from "./support/app.js";
import {
  buyPack,
  dayMs,
  moveClock,
  newKey,
  openBuyerApp,
  posted,
  refundPurchase,
  simulateProvider,
  spendCoins,
} from "./support/buyer.js";
import { deliverStripeEvent } from "./support/stripe.js";

let t: TestApp | null = null;
let stand: StripeStandIn | null = null;
afterEach(async () => {
  await t?.dispose();
  await stand?.close();
  t = null;
  stand = null;
});

const setup = async (country = "GB", overrides: object = {}) => {
  t = await openBuyerApp(country, overrides);
  return t;
};

async function user(app: TestApp) {
  return (await app.app.inject({ method: "GET", url: "/v1/users/buyer", headers: app.admin })).json() as {
    status: string;
    statusReason: string | null;
  };
}

describe("refunds of unused web-bought coins (EEA and UK, 14 days)", () => {
  it("refunds on dayMs 14, pro rata and half-even, once", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    expect(p.priceMinor).toBe("789");
    await spendCoins(app, p.id, 333n);
    await moveClock(app, app.clock.now() + 14 * dayMs);
    const k = newKey();
    const res = await refundPurchase(app, p.id, k);
    expect(res.statusCode).toBe(200);
    // 789 × 667 / 1000 = 526.263 → 526
    expect(res.json()).toMatchObject({ status: "refunded", refundedCoins: "667", refundedMinor: "526" });
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(0n);
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(789n - 526n);
    const replay = await refundPurchase(app, p.id, k);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(789n - 526n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("rounds half-even on an exact half", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-30"); // 30 coins for 25 pence
    await spendCoins(app, p.id, 12n); // 18 unused: 25 × 18 / 30 = 15 exactly
    expect((await refundPurchase(app, p.id)).json()).toMatchObject({ refundedMinor: "15" });
    const q = await buyPack(app, "gb-100"); // 100 coins for 79 pence
    await spendCoins(app, q.id, 50n); // 50 unused: 39.5 → 40 (even)
    expect((await refundPurchase(app, q.id)).json()).toMatchObject({ refundedMinor: "40" });
  });

  it.each([
    ["on dayMs 15", "GB", 15 * dayMs + 1, {}],
    ["for a US purchase", "US", dayMs, {}],
    ["for an in-app purchase", "GB", dayMs, { channel: "app" }],
  ])("refuses %s with coins_non_refundable and changes nothing", async (_name, country, later, extra) => {
    const app = await setup(country);
    const p = await buyPack(app, country === "US" ? "us-1000" : "gb-1000", extra);
    await moveClock(app, app.clock.now() + later);
    const before = await posted(app, `user:buyer:coins:paid:${p.id}`);
    const res = await refundPurchase(app, p.id);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: "coins_non_refundable" });
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(before);
  });

  it("refuses a refund when every coin is used, and one without a key", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-100");
    await spendCoins(app, p.id, 100n);
    expect((await refundPurchase(app, p.id)).json()).toMatchObject({ code: "coins_non_refundable" });
    const noKey = await app.app.inject({
      method: "POST",
      url: `/v1/purchases/${p.id}/refund`,
      headers: app.admin,
    });
    expect(noKey.statusCode).toBe(400);
  });

  it("refunds a Stripe purchase through Stripe's Refunds API (local stand-in)", async () => {
    stand = await startStripeStandIn();
    const app = await setup("DE", {
      payments: {
        stripe: { secretKey: stand.secretKey, webhookSecret: stand.webhookSecret, apiUrl: stand.url },
      },
    });
    const created = await app.app.inject({
      method: "POST",
      url: "/v1/purchases",
      headers: { ...app.admin, "idempotency-key": newKey() },
      payload: { userId: "buyer", packId: "de-1000", provider: "stripe" },
    });
    const id = created.json().id as string;
    const session = [...stand.sessions.values()].find((s) => s.client_reference_id === id)!;
    for (const event of stand.pay(session.id)) {
      await deliverStripeEvent(app, stand, event);
    }
    const res = await refundPurchase(app, id);
    expect(res.json()).toMatchObject({ status: "refunded", refundedMinor: "918" });
    expect(stand.requests.some((r) => r.path === "/v1/refunds")).toBe(true);
    // The charge.refunded webhook that follows is recognised as ours and changes nothing more.
    for (const event of stand.refundEvents) {
      await deliverStripeEvent(app, stand, event);
    }
    expect(await posted(app, "platform:EUR:revenue:coin_sales")).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});

describe("chargebacks", () => {
  it("all coins unspent: removes them and books the loss; a won dispute puts everything back", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    expect((await simulateProvider(app, p.id, "dispute")).json()).toMatchObject({ status: "disputed" });
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(0n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(-990n);
    expect((await user(app)).status).toBe("active");
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);

    await simulateProvider(app, p.id, "dispute"); // a replay changes nothing
    expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(-990n);

    expect((await simulateProvider(app, p.id, "dispute-won")).json()).toMatchObject({ status: "completed" });
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
    expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("a purchase disputed again after a won dispute is charged back again, in the same millisecond", async () => {
    // The test clock is frozen, so every step has the same time: only the chargeback count tells
    // the second chargeback from the first (found by the economy property test).
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    for (let round = 0; round < 2; round++) {
      expect((await simulateProvider(app, p.id, "dispute")).json()).toMatchObject({ status: "disputed" });
      expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(0n);
      expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(-990n);
      expect((await simulateProvider(app, p.id, "dispute-won")).json()).toMatchObject({
        status: "completed",
      });
      expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
      expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(0n);
    }
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("coins spent: they become debt, the user is restricted, and the next purchase repays it first", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    await spendCoins(app, p.id, 700n);
    await simulateProvider(app, p.id, "dispute");
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(0n);
    // A debit balance: posted = credits − debits.
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-700n);
    expect(await user(app)).toMatchObject({
      status: "restricted",
      statusReason: "coin debt after a chargeback",
    });

    const next = await buyPack(app, "us-500");
    expect(await posted(app, `user:buyer:coins:paid:${next.id}`)).toBe(0n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-200n);
    expect((await user(app)).status).toBe("restricted");
    const last = await buyPack(app, "us-500");
    expect(await posted(app, `user:buyer:coins:paid:${last.id}`)).toBe(300n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    expect(await user(app)).toMatchObject({ status: "active", statusReason: null });
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  /** Two GB packs; `spent` coins of the first spent, then it is charged back: they are owed. */
  async function owingWithAnotherPack(spent: bigint) {
    const app = await setup("GB");
    const p1 = await buyPack(app, "gb-1000");
    const p2 = await buyPack(app, "gb-1000");
    await spendCoins(app, p1.id, spent);
    await simulateProvider(app, p1.id, "dispute");
    return { app, p2 };
  }

  it("a refund repays coin debt first, refunds only the rest, and lifts the restriction", async () => {
    const { app, p2 } = await owingWithAnotherPack(400n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-400n);
    expect((await user(app)).status).toBe("restricted");

    const k = newKey();
    const res = await refundPurchase(app, p2.id, k);
    expect(res.statusCode, res.body).toBe(200);
    // 400 of the 1,000 unused coins repay the debt; 789 × 600 / 1000 = 473.4 → 473.
    expect(res.json()).toMatchObject({ status: "refunded", refundedCoins: "600", refundedMinor: "473" });
    expect(await posted(app, `user:buyer:coins:paid:${p2.id}`)).toBe(0n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    // The chargeback books its loss apart; sales lose only the refund.
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(2n * 789n - 473n);
    expect(await user(app)).toMatchObject({ status: "active", statusReason: null });
    const replay = await refundPurchase(app, p2.id, k);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("refuses a refund whose unused coins are all owed as debt, and changes nothing", async () => {
    const { app, p2 } = await owingWithAnotherPack(1000n);
    const sales = await posted(app, "platform:GBP:revenue:coin_sales");
    const res = await refundPurchase(app, p2.id);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: "coins_non_refundable", detail: expect.stringMatching(/debt/) });
    expect(await posted(app, `user:buyer:coins:paid:${p2.id}`)).toBe(1000n);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-1000n);
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(sales);
    expect((await user(app)).status).toBe("restricted");
  });

  it("a won dispute cancels the debt still owed and lifts the restriction", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    await spendCoins(app, p.id, 400n);
    await simulateProvider(app, p.id, "dispute");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-400n);
    await simulateProvider(app, p.id, "dispute-won");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(600n);
    expect((await user(app)).status).toBe("active");
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("refuses to simulate events outside test mode", async () => {
    t = await openTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/test/purchases/pur_x/dispute",
      headers: t.admin,
    });
    expect(res.statusCode).toBe(404);
  });
});

describe("coin debt decided under the buyer's lock", () => {
  it("two purchases completing at once while coins are owed: the debt is repaid once, both complete", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    await spendCoins(app, p.id, 100n);
    await simulateProvider(app, p.id, "dispute");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-100n);
    const buy = () =>
      app.app.inject({
        method: "POST",
        url: "/v1/purchases",
        headers: { ...app.admin, "idempotency-key": newKey() },
        payload: { userId: "buyer", packId: "us-500", provider: "test" },
      });
    const answers = await Promise.all([buy(), buy()]);
    expect(answers.map((a) => `${a.statusCode} ${a.json().status}`)).toEqual([
      "201 completed",
      "201 completed",
    ]);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    // 1,000 coins: 100 repaid the debt, the other 900 are the buyer's, and the restriction is lifted.
    const wallet = await app.app.inject({ method: "GET", url: "/v1/users/buyer/wallet", headers: app.admin });
    expect(wallet.json().coins).toMatchObject({ paid: "900", debt: "0" });
    expect((await user(app)).status).toBe("active");
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("a won dispute keeps the restriction while another purchase's chargeback leaves coins owed", async () => {
    const app = await setup("US");
    await app.app.inject({
      method: "PUT",
      url: "/v1/users/creator",
      headers: app.admin,
      payload: { country: "US", birthDate: "1990-01-01", displayName: "creator" },
    });
    const first = await buyPack(app, "us-1000");
    const second = await buyPack(app, "us-1000");
    await spendCoins(app, first.id, 300n);
    await spendCoins(app, second.id, 300n);
    await simulateProvider(app, first.id, "dispute");
    await simulateProvider(app, second.id, "dispute");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-600n);
    // The second dispute is won: its 300 coins of debt are cancelled, the first's 300 still owed.
    await simulateProvider(app, second.id, "dispute-won");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-300n);
    expect(await user(app)).toMatchObject({ status: "restricted" });
    const gift = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...app.admin, "idempotency-key": newKey() },
      payload: {
        senderId: "buyer",
        recipientId: "creator",
        giftId: "hand-hearts",
        quantity: 1,
        context: { type: "live", id: "s" },
      },
    });
    expect(gift.json().code).toBe("user_restricted");
    // Once the first is won too, nothing is owed and the restriction goes.
    await simulateProvider(app, first.id, "dispute-won");
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
    expect(await user(app)).toMatchObject({ status: "active" });
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("a won dispute puts a refunded purchase back as refunded, not completed", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    await spendCoins(app, p.id, 400n);
    const refunded = await refundPurchase(app, p.id);
    expect(refunded.json()).toMatchObject({ status: "refunded", refundedCoins: "600" });
    expect((await simulateProvider(app, p.id, "dispute")).json().status).toBe("disputed");
    const won = await simulateProvider(app, p.id, "dispute-won");
    expect(won.json().status).toBe("refunded");
    const read = await app.app.inject({ method: "GET", url: `/v1/purchases/${p.id}`, headers: app.admin });
    expect(read.json()).toMatchObject({ status: "refunded", refundedCoins: "600" });
    // Refunded once: a second refund finds nothing left to give back.
    const again = await refundPurchase(app, p.id);
    expect(again.statusCode).toBe(422);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});
