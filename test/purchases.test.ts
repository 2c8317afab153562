import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { type StripeEvent, type StripeStandIn, startStripeStandIn } from "./stand-ins/stripe-stand-in.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { logLines } from "./support/log-lines.js";
import { count } from "./support/sql.js";
import { deliverStripeEvent } from "./support/stripe.js";

let t: TestApp | null = null;
let stand: StripeStandIn | null = null;
afterEach(async () => {
  await t?.dispose();
  await stand?.close();
  t = null;
  stand = null;
});

const adult = { country: "US", birthDate: "1990-01-01", displayName: "Viewer" };
let keyCounter = 0;
const newKey = () => `k-${Date.now()}-${keyCounter++}`;

async function putUser(app: TestApp, id: string, body: object = adult) {
  const res = await app.app.inject({
    method: "PUT",
    url: `/v1/users/${id}`,
    headers: app.admin,
    payload: body,
  });
  expect(res.statusCode).toBeLessThan(300);
}

function buy(app: TestApp, body: object, key: string | null = newKey()) {
  return app.app.inject({
    method: "POST",
    url: "/v1/purchases",
    headers: { ...app.admin, ...(key === null ? {} : { "idempotency-key": key }) },
    payload: body,
  });
}

async function coins(app: TestApp, userId: string, purchaseId: string): Promise<bigint> {
  const balances = await app.runtime.ledger.balances([`user:${userId}:coins:paid:${purchaseId}`]);
  return balances.get(`user:${userId}:coins:paid:${purchaseId}`)?.posted ?? 0n;
}

async function everything(app: TestApp) {
  const db = app.runtime.store;
  return { purchases: await count(db, "purchases"), transfers: await count(db, "transfers") };
}

describe("purchases with the test provider", () => {
  it("sells the 1,000-coin US pack for $9.90, credits the coins once, and replays the first answer", async () => {
    t = await openTestApp({ testMode: true });
    await putUser(t, "v1");
    const key = newKey();
    const first = await buy(t, { userId: "v1", packId: "us-1000", provider: "test" }, key);
    expect(first.statusCode).toBe(201);
    const purchase = first.json() as {
      id: string;
      status: string;
      coins: string;
      priceMinor: string;
      currency: string;
    };
    expect(purchase).toMatchObject({
      status: "completed",
      coins: "1000",
      priceMinor: "990",
      currency: "USD",
    });
    expect(await coins(t, "v1", purchase.id)).toBe(1000n);
    const usd = await t.runtime.ledger.balances([
      "platform:USD:receivable:test",
      "platform:USD:revenue:coin_sales",
    ]);
    expect(usd.get("platform:USD:revenue:coin_sales")!.posted).toBe(990n);
    expect(usd.get("platform:USD:receivable:test")!.posted).toBe(-990n);

    const replay = await buy(t, { userId: "v1", packId: "us-1000", provider: "test" }, key);
    expect(replay.statusCode).toBe(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json()).toEqual(first.json());
    expect(await coins(t, "v1", purchase.id)).toBe(1000n);

    const reused = await buy(t, { userId: "v1", packId: "us-100", provider: "test" }, key);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: "idempotency_key_reused" });

    const read = await t.app.inject({ method: "GET", url: `/v1/purchases/${purchase.id}`, headers: t.admin });
    expect(read.json()).toEqual(first.json());
    const list = await t.app.inject({ method: "GET", url: "/v1/users/v1/purchases", headers: t.admin });
    expect((list.json() as { data: { id: string }[] }).data.map((p) => p.id)).toEqual([purchase.id]);
    expect((await reconcile(t.runtime.store)).problems).toEqual([]);
  });

  it("pages a user's purchases newest first", async () => {
    t = await openTestApp({ testMode: true });
    await putUser(t, "v2");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await buy(t, { userId: "v2", packId: "us-30", provider: "test" })).json().id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.app.inject({
        method: "GET",
        url: `/v1/users/v2/purchases?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        headers: t.admin,
      });
      const page = res.json() as { data: { id: string }[]; nextCursor: string | null };
      seen.push(...page.data.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(5);
  });

  it("records a declined or pending test payment without crediting anything", async () => {
    t = await openTestApp({ testMode: true });
    await putUser(t, "v3");
    const declined = await buy(t, {
      userId: "v3",
      packId: "us-100",
      provider: "test",
      testOutcome: "decline",
    });
    expect(declined.json()).toMatchObject({ status: "declined" });
    const pending = await buy(t, {
      userId: "v3",
      packId: "us-100",
      provider: "test",
      testOutcome: "pending",
    });
    expect(pending.json()).toMatchObject({ status: "pending" });
    expect(await coins(t, "v3", declined.json().id)).toBe(0n);
    expect(await coins(t, "v3", pending.json().id)).toBe(0n);
  });

  it("keeps the price a purchase was sold at after a new price list takes effect", async () => {
    t = await openTestApp({ testMode: true });
    await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: "2031-01-01T00:00:00Z" },
    });
    await putUser(t, "v4");
    const old = (await buy(t, { userId: "v4", packId: "us-1000", provider: "test" })).json() as {
      id: string;
    };
    const list = (
      await t.app.inject({ method: "GET", url: "/v1/coin-packs?country=US", headers: t.admin })
    ).json() as {
      packs: { id: string; coins: string; priceMinor: string }[];
    };
    await t.app.inject({
      method: "POST",
      url: "/v1/admin/economy/versions",
      headers: t.admin,
      payload: {
        effectiveAt: "2031-02-01T00:00:00Z",
        override: {
          regions: {
            US: { packs: list.packs.map((p) => (p.id === "us-1000" ? { ...p, priceMinor: "1090" } : p)) },
          },
        },
      },
    });
    await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: "2031-02-02T00:00:00Z" },
    });
    const newer = (await buy(t, { userId: "v4", packId: "us-1000", provider: "test" })).json() as {
      priceMinor: string;
    };
    expect(newer.priceMinor).toBe("1090");
    const kept = (
      await t.app.inject({ method: "GET", url: `/v1/purchases/${old.id}`, headers: t.admin })
    ).json();
    expect(kept.priceMinor).toBe("990");
    const revenue = await t.runtime.ledger.balance("platform:USD:revenue:coin_sales");
    expect(revenue.posted).toBe(990n + 1090n);
  });
});

describe("purchases refused", () => {
  it.each([
    [
      "no Idempotency-Key",
      { userId: "ok", packId: "us-100", provider: "test" },
      null,
      400,
      "invalid_request",
    ],
    [
      "another country's pack",
      { userId: "gb", packId: "us-100", provider: "test" },
      "x",
      422,
      "pack_not_available_here",
    ],
    [
      "an unknown pack",
      { userId: "ok", packId: "us-7", provider: "test" },
      "x",
      422,
      "pack_not_available_here",
    ],
    ["an underage buyer", { userId: "kid", packId: "us-100", provider: "test" }, "x", 422, "underage"],
    [
      "a restricted buyer",
      { userId: "bad", packId: "us-100", provider: "test" },
      "x",
      422,
      "user_restricted",
    ],
    ["an unknown user", { userId: "ghost", packId: "us-100", provider: "test" }, "x", 404, "not_found"],
    [
      "stripe not configured",
      { userId: "ok", packId: "us-100", provider: "stripe" },
      "x",
      422,
      "provider_not_available",
    ],
    [
      "an unknown provider",
      { userId: "ok", packId: "us-100", provider: "paypal" },
      "x",
      400,
      "invalid_request",
    ],
    [
      "an unknown field",
      { userId: "ok", packId: "us-100", provider: "test", coins: "5000" },
      "x",
      400,
      "invalid_request",
    ],
    ["a number for a pack", { userId: "ok", packId: 100, provider: "test" }, "x", 400, "invalid_request"],
    [
      "a float in a field",
      { userId: "ok", packId: "us-100", provider: "test", channel: 1.5 },
      "x",
      400,
      "invalid_request",
    ],
    [
      "testOutcome for stripe",
      { userId: "ok", packId: "us-100", provider: "stripe", testOutcome: "decline" },
      "x",
      422,
      "provider_not_available",
    ],
  ])("refuses %s and changes nothing", async (_name, body, key, status, code) => {
    t = await openTestApp({ testMode: true });
    await putUser(t, "ok");
    await putUser(t, "gb", { ...adult, country: "GB" });
    const birth = new Date(t.clock.now() - 17 * 365 * 86_400_000).toISOString().slice(0, 10);
    await putUser(t, "kid", { ...adult, birthDate: birth });
    await putUser(t, "bad");
    await t.app.inject({ method: "POST", url: "/v1/admin/users/bad/restrict", headers: t.admin });
    const before = await everything(t);
    const res = await buy(t, body, key === null ? null : newKey());
    expect(res.statusCode).toBe(status);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({ code });
    expect(await everything(t)).toEqual(before);
  });

  it("refuses testOutcome outside test mode, and the test provider itself", async () => {
    t = await openTestApp();
    await putUser(t, "ok");
    const outcome = await buy(t, {
      userId: "ok",
      packId: "us-100",
      provider: "test",
      testOutcome: "succeed",
    });
    expect(outcome.json()).toMatchObject({ code: "invalid_request" });
    const provider = await buy(t, { userId: "ok", packId: "us-100", provider: "test" });
    expect(provider.json()).toMatchObject({ code: "provider_not_available" });
  });

  it("refuses an oversized body with 413", async () => {
    t = await openTestApp({ testMode: true });
    const res = await buy(t, { userId: "ok", packId: "x".repeat(2_000_000), provider: "test" });
    expect(res.statusCode).toBe(413);
  });
});

/** A server on the Stripe stand-in, and a pending Stripe purchase of the US 1,000-coin pack by s1. */
async function openWithStripe(logger = pino({ level: "silent" })) {
  stand = await startStripeStandIn();
  t = await openTestApp(
    {
      payments: {
        stripe: { secretKey: stand.secretKey, webhookSecret: stand.webhookSecret, apiUrl: stand.url },
      },
    },
    logger,
  );
  await putUser(t, "s1");
  const created = await buy(t, { userId: "s1", packId: "us-1000", provider: "stripe" });
  expect(created.statusCode).toBe(201);
  const purchase = created.json() as { id: string; status: string; checkoutUrl: string };
  expect(purchase.status).toBe("pending");
  expect(purchase.checkoutUrl).toMatch(/^http/);
  const sessionId = [...stand.sessions.values()].find((s) => s.client_reference_id === purchase.id)!.id;
  return { app: t, stripe: stand, purchase, sessionId };
}

function deliver(event: StripeEvent, opts: Parameters<StripeStandIn["signedDelivery"]>[1] = {}) {
  return deliverStripeEvent(t!, stand!, event, opts);
}

describe("purchases through Stripe (local stand-in of Stripe's API)", () => {
  it("credits coins once on a verified paid checkout, however often the event is delivered", async () => {
    const { purchase, sessionId } = await openWithStripe();
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
    const events = stand!.pay(sessionId);
    for (const event of events) expect((await deliver(event)).statusCode).toBe(200);
    expect(await coins(t!, "s1", purchase.id)).toBe(1000n);
    for (const event of events) expect((await deliver(event)).statusCode).toBe(200);
    expect(await coins(t!, "s1", purchase.id)).toBe(1000n);
    const read = await t!.app.inject({
      method: "GET",
      url: `/v1/purchases/${purchase.id}`,
      headers: t!.admin,
    });
    expect(read.json()).toMatchObject({ status: "completed" });
    expect((await reconcile(t!.runtime.store)).problems).toEqual([]);
  });

  it("refuses a bad or stale signature with 400 and credits nothing", async () => {
    const { purchase, sessionId } = await openWithStripe();
    const [completed] = stand!.pay(sessionId).filter((e) => e.type === "checkout.session.completed");
    const forged = await deliver(completed!, { secret: "whsec_wrong_secret_value" });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: "invalid_signature" });
    const stale = await deliver(completed!, { timestampSeconds: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.statusCode).toBe(400);
    const unsigned = await t!.app.inject({
      method: "POST",
      url: "/v1/webhooks/stripe",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify(completed),
    });
    expect(unsigned.statusCode).toBe(400);
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
  });

  it("credits nothing while the payment is unpaid, then credits on async_payment_succeeded", async () => {
    const { purchase, sessionId } = await openWithStripe();
    for (const event of stand!.pay(sessionId, { async: true })) await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
    for (const event of stand!.succeedAsync(sessionId)) await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(1000n);
  });

  it("credits nothing for a payment of the wrong amount, and logs an alert", async () => {
    const { lines, logger } = logLines();
    const { purchase, sessionId } = await openWithStripe(logger);
    for (const event of stand!.pay(sessionId, { amountOverrideMinor: 99n })) await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
    expect(lines.some((l) => l.includes('"alert":"payment_amount_mismatch"'))).toBe(true);
  });

  it("credits nothing for the right amount in another currency, and logs an alert", async () => {
    const { lines, logger } = logLines();
    const { purchase, sessionId } = await openWithStripe(logger);
    // The pack's price in its minor units, paid in euros: the same number, not the same money.
    const inEuros = stand!.pay(sessionId).map((e) => {
      const object = e.data.object as { currency?: string };
      return object.currency === undefined ? e : { ...e, data: { object: { ...object, currency: "eur" } } };
    }) as ReturnType<NonNullable<typeof stand>["pay"]>;
    expect(inEuros.some((e) => (e.data.object as { currency?: string }).currency === "eur")).toBe(true);
    for (const event of inEuros) await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
    expect(lines.some((l) => l.includes('"alert":"payment_amount_mismatch"'))).toBe(true);
  });

  it("credits nothing for a payment from a checkout the purchase did not open", async () => {
    const { lines, logger } = logLines();
    const { purchase, sessionId } = await openWithStripe(logger);
    const events = stand!.pay(sessionId);
    // The same payment, as if a Payment Link had carried the purchase's id: another session.
    const elsewhere = events.map((e) =>
      e.type === "checkout.session.completed"
        ? { ...e, id: `${e.id}_other`, data: { object: { ...(e.data.object as object), id: "cs_not_ours" } } }
        : e,
    ) as typeof events;
    for (const event of elsewhere.filter((e) => e.type === "checkout.session.completed"))
      await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(0n);
    expect(lines.some((l) => l.includes('"alert":"payment_of_another_checkout"'))).toBe(true);
    // Its own checkout's payment still credits the coins.
    for (const event of events) await deliver(event);
    expect(await coins(t!, "s1", purchase.id)).toBe(1000n);
  });
});

describe("Stripe refunds, disputes and fees by webhook (local stand-in)", () => {
  it("books the fee once, applies a dispute as a chargeback, and reverses it when won", async () => {
    const { app, stripe, purchase: created, sessionId } = await openWithStripe();
    const send = async (events: ReturnType<StripeStandIn["pay"]>, early: string[] = []) => {
      for (const event of events) {
        const res = await deliverStripeEvent(app, stripe, event);
        // An event that arrives before what it refers to is refused so that Stripe delivers it again.
        expect(res.statusCode).toBe(early.includes(event.type) ? 404 : 200);
      }
    };
    const paid = stripe.pay(sessionId, { feeMinor: 59n });
    await send(paid, ["charge.succeeded"]);
    expect(await coins(app, "s1", created.id)).toBe(1000n);
    await send(paid);
    await send(paid);
    expect((await app.runtime.ledger.balance("platform:USD:expense:fees:stripe")).posted).toBe(-59n);

    const paymentIntent = [...stripe.paymentIntents.keys()][0]!;
    const disputed = stripe.dispute(paymentIntent);
    await send(disputed);
    expect(await coins(app, "s1", created.id)).toBe(0n);
    expect((await app.runtime.ledger.balance("platform:USD:expense:chargebacks")).posted).toBe(-990n);
    const disputeId = [...stripe.disputes.keys()][0]!;
    await send(stripe.closeDispute(disputeId, "won"));
    expect(await coins(app, "s1", created.id)).toBe(1000n);
    expect((await app.runtime.ledger.balance("platform:USD:expense:chargebacks")).posted).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("books a dispute of part of a payment for the part taken; its coins go in full; won puts both back", async () => {
    const { app, stripe, purchase: created, sessionId } = await openWithStripe();
    const deliverAll = async (events: StripeEvent[]) => {
      for (const event of events) await deliver(event);
    };
    await deliverAll(stripe.pay(sessionId));
    expect(await coins(app, "s1", created.id)).toBe(1000n);
    const receivable = async () =>
      (await app.runtime.ledger.balance("platform:USD:receivable:stripe")).posted;
    const owed = await receivable();

    const paymentIntent = [...stripe.paymentIntents.keys()][0]!;
    await deliverAll(stripe.dispute(paymentIntent, { amountMinor: 300n }));
    expect(await coins(app, "s1", created.id)).toBe(0n);
    // $3.00 of the $9.90 was taken back: that much is the loss, and the rest is still owed.
    expect((await app.runtime.ledger.balance("platform:USD:expense:chargebacks")).posted).toBe(-300n);
    expect(await receivable()).toBe(owed + 300n);
    await deliverAll(stripe.closeDispute([...stripe.disputes.keys()][0]!, "won"));
    expect(await coins(app, "s1", created.id)).toBe(1000n);
    expect((await app.runtime.ledger.balance("platform:USD:expense:chargebacks")).posted).toBe(0n);
    expect(await receivable()).toBe(owed);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});
