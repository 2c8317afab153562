import { afterEach, describe, expect, it } from "vitest";
import { PaymentRefusedError } from "../src/providers/payments/provider.js";
import type { TestApp } from "./support/app.js";
import {
  buyPack,
  dayMs,
  newKey,
  openBuyerApp,
  posted,
  refundPurchase,
  simulateProvider,
  spendCoins,
} from "./support/buyer.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const setup = async (country = "GB", overrides: object = {}) => {
  t = await openBuyerApp(country, overrides);
  return t;
};

describe("purchase edges", () => {
  it("charges back what a partial refund left: spent coins become debt", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000"); // 789 pence
    await spendCoins(app, p.id, 999n);
    expect((await refundPurchase(app, p.id)).json()).toMatchObject({
      status: "refunded",
      refundedMinor: "1",
    });
    await simulateProvider(app, p.id, "dispute"); // cardholder charges back the remaining 788
    const after = await app.purchases.get(p.id);
    // Expected: disputed, 999 coins of debt, 788 booked as chargeback loss, user restricted.
    expect({
      status: after.status,
      debt: await posted(app, "user:buyer:coins:debt"),
      loss: await posted(app, "platform:GBP:expense:chargebacks"),
      user: (await app.users.get("buyer")).status,
    }).toEqual({ status: "disputed", debt: -999n, loss: -788n, user: "restricted" });
  });

  it("a refund after a partial refund at the provider gives back no more than was left of the payment", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000"); // 789 pence, 1,000 coins
    const purchase = await app.purchases.get(p.id);
    // 700 pence refunded in the provider's dashboard: booked, the coins left as they are.
    const provider = { name: "test" } as Parameters<typeof app.purchases.applyEvents>[0];
    await app.purchases.applyEvents(provider, [
      {
        type: "payment.refunded",
        eventId: "evt_partial",
        paymentRef: purchase.paymentRef!,
        amountRefundedMinor: 700n,
        currency: "GBP",
      },
    ]);
    expect((await app.purchases.get(p.id)).refundedMinor).toBe(700n);
    // Pro rata, the 1,000 unused coins are worth 789; only 89 of the payment is left to give back.
    const res = await refundPurchase(app, p.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: "refunded", refundedCoins: "1000", refundedMinor: "789" });
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(0n);
  });

  it("a purchase key used again past its retention answers only the purchase it made", async () => {
    const app = await setup("GB");
    await app.app.inject({
      method: "PUT",
      url: "/v1/users/other",
      headers: app.admin,
      payload: { country: "GB", birthDate: "1990-01-01", displayName: "Other" },
    });
    const key = newKey();
    const first = await buyPack(app, "gb-1000", {}, key);
    await app.clock.set(app.clock.now() + 3 * dayMs);
    await app.runtime.ledger.purgeIdempotency(app.runtime.config.ledger.idempotencyRetentionMs);
    const buy = (payload: object) =>
      app.app.inject({
        method: "POST",
        url: "/v1/purchases",
        headers: { ...app.admin, "idempotency-key": key },
        payload: { provider: "test", ...payload },
      });
    // An operator's key reused for another buyer, or another pack, never answers this purchase.
    for (const payload of [
      { userId: "other", packId: "gb-1000" },
      { userId: "buyer", packId: "gb-100" },
    ]) {
      const res = await buy(payload);
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json()).toMatchObject({ code: "idempotency_key_reused" });
    }
    expect(await app.purchases.listByUser("other", null, 10)).toEqual([]);
    const same = await buy({ userId: "buyer", packId: "gb-1000" });
    expect(same.statusCode).toBeLessThan(300);
    expect(same.json().id).toBe(first.id);
  });

  it("applies a dispute won after the idempotency retention", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    await spendCoins(app, p.id, 400n);
    await simulateProvider(app, p.id, "dispute");
    // Disputes close weeks later; idempotency records are purged after 48 h by default.
    await app.clock.set(app.clock.now() + 30 * dayMs);
    await app.runtime.ledger.purgeIdempotency(app.runtime.config.ledger.idempotencyRetentionMs);
    const res = await simulateProvider(app, p.id, "dispute-won");
    expect(res.statusCode).toBe(200);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(0n);
  });

  it("after the provider refuses a refund, a retry with the same key does not claim it refunded", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    // biome-ignore lint/suspicious/noExplicitAny: the test replaces the provider's answer.
    (app.purchases as any).o.providers.test.refund = async () => {
      throw new PaymentRefusedError("charge already refunded");
    };
    const k = newKey();
    const first = await refundPurchase(app, p.id, k);
    expect(first.json()).toMatchObject({ code: "provider_error" });
    expect((await app.purchases.get(p.id)).status).toBe("completed");
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
    // The provider would refund now, but this key's refund was undone: the retry must not ask it
    // again (the money would leave while the books say it did not), and says to use a new key.
    let asked = 0;
    // biome-ignore lint/suspicious/noExplicitAny: the test replaces the provider's answer.
    (app.purchases as any).o.providers.test.refund = async () => {
      asked++;
      return { refundRef: "re_late" };
    };
    const retry = await refundPurchase(app, p.id, k);
    expect(retry.json()).toMatchObject({ code: "provider_error" });
    expect(retry.json().detail).toContain("new Idempotency-Key");
    expect(asked).toBe(0);
    expect((await app.purchases.get(p.id)).status).toBe("completed");
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
    // With a new key it is a new refund, which the provider now makes.
    const fresh = await refundPurchase(app, p.id, newKey());
    expect(fresh.statusCode, fresh.body).toBe(200);
    expect(asked).toBe(1);
    // The same key for another purchase is a key reused, not that purchase's refund refused.
    const other = await buyPack(app, "gb-1000");
    const reused = await refundPurchase(app, other.id, k);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect((await app.purchases.get(other.id)).status).toBe("completed");
  });

  it.each([
    ["declined", "decline"],
    ["pending", "pending"],
  ])("refuses to refund a %s purchase, never paid, with coins_non_refundable", async (_name, testOutcome) => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000", { testOutcome });
    const res = await refundPurchase(app, p.id);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ code: "coins_non_refundable" });
    expect((await app.purchases.get(p.id)).refundedMinor).toBe(0n);
  });

  it("a refund refused on its retry after a chargeback stays booked for an operator, coins not put back", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    await spendCoins(app, p.id, 400n);
    const answers: (() => Promise<{ refundRef: string }>)[] = [
      async () => {
        throw new Error("socket hang up");
      },
      async () => {
        throw new PaymentRefusedError("charge_disputed");
      },
    ];
    // biome-ignore lint/suspicious/noExplicitAny: the test replaces the provider's answer.
    (app.purchases as any).o.providers.test.refund = () => answers.shift()!();
    const k = newKey();
    expect((await refundPurchase(app, p.id, k)).json()).toMatchObject({ code: "provider_error" });
    expect((await app.purchases.get(p.id)).status).toBe("refunded");
    await simulateProvider(app, p.id, "dispute");
    const disputed = await app.purchases.get(p.id);
    expect(disputed.status).toBe("disputed");
    const lot = await posted(app, `user:buyer:coins:paid:${p.id}`);
    const retry = await refundPurchase(app, p.id, k);
    expect(retry.statusCode).toBe(502);
    expect(retry.json().detail).toContain("operator");
    expect(await app.purchases.get(p.id)).toMatchObject({ status: "disputed", refundedCoins: 600n });
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(lot);
  });

  it("keeps a refund booked when the provider does not answer, and refunds once on the retry", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    let calls = 0;
    // biome-ignore lint/suspicious/noExplicitAny: the test replaces the provider's answer.
    (app.purchases as any).o.providers.test.refund = async () => {
      calls++;
      if (calls === 1) throw new Error("socket hang up");
      return { refundRef: "re_1" };
    };
    const k = newKey();
    expect((await refundPurchase(app, p.id, k)).json()).toMatchObject({ code: "provider_error" });
    expect((await app.purchases.get(p.id)).status).toBe("refunded");
    const retry = await refundPurchase(app, p.id, k);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ status: "refunded", refundedMinor: "789" });
    expect(calls).toBe(2);
    expect(await posted(app, "platform:GBP:revenue:coin_sales")).toBe(0n);
  });

  it("books a 1-cent dashboard refund as 1 cent back, not as a chargeback", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    const purchase = await app.purchases.get(p.id);
    await app.purchases.applyEvents({ name: "test" } as never, [
      {
        type: "payment.refunded",
        eventId: "evt_r1",
        paymentRef: purchase.paymentRef!,
        amountRefundedMinor: 1n,
        currency: "USD",
      } as never,
    ]);
    expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(0n);
    expect(await posted(app, "platform:USD:revenue:coin_sales")).toBe(989n);
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
  });

  it("applies two concurrent full refund events on a fully spent purchase once", async () => {
    const app = await setup("US");
    const p = await buyPack(app, "us-1000");
    await spendCoins(app, p.id, 1000n);
    const purchase = await app.purchases.get(p.id);
    const ev = (id: string, amt: bigint) =>
      ({
        type: "payment.refunded",
        eventId: id,
        paymentRef: purchase.paymentRef!,
        amountRefundedMinor: amt,
        currency: "USD",
      }) as never;
    await Promise.all([
      app.purchases.applyEvents({ name: "test" } as never, [ev("evt_a", 990n)]),
      app.purchases.applyEvents({ name: "test" } as never, [ev("evt_b", 990n)]),
    ]);
    expect(await posted(app, "user:buyer:coins:debt")).toBe(-1000n);
    expect(await posted(app, "platform:USD:expense:chargebacks")).toBe(-990n);
  });

  it("answers a purchase key replayed after the retention without crediting the pack again", async () => {
    const app = await setup("US");
    const k = newKey();
    const p = await buyPack(app, "us-1000", {}, k);
    await app.clock.set(app.clock.now() + 3 * dayMs);
    await app.runtime.ledger.purgeIdempotency(app.runtime.config.ledger.idempotencyRetentionMs);
    await buyPack(app, "us-1000", {}, k);
    expect(await posted(app, `user:buyer:coins:paid:${p.id}`)).toBe(1000n);
  });
});

describe("refund compensation", () => {
  it("compensates a refused refund whatever the length of the Idempotency-Key", async () => {
    const app = await setup("GB");
    const p = await buyPack(app, "gb-1000");
    // biome-ignore lint/suspicious/noExplicitAny: the test replaces the provider's answer.
    (app.purchases as any).o.providers.test.refund = async () => {
      throw new PaymentRefusedError("refused");
    };
    const header = "h".repeat(255); // the longest legal key
    const res = await refundPurchase(app, p.id, header);
    const after = await app.purchases.get(p.id);
    expect({
      code: res.json().code,
      status: after.status,
      lot: await posted(app, `user:buyer:coins:paid:${p.id}`),
    }).toEqual({ code: "provider_error", status: "completed", lot: 1000n });
  });
});
