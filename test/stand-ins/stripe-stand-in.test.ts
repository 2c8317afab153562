import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GiftstreamError } from "../../src/errors.js";
import type { CheckoutRequest, PaymentEvent } from "../../src/providers/payments/provider.js";
import { StripeProvider } from "../../src/providers/payments/stripe.js";
import {
  parseStripeForm,
  type StripeEvent,
  type StripeStandIn,
  startStripeStandIn,
} from "./stripe-stand-in.js";

let standIn: StripeStandIn;
let provider: StripeProvider;
let sdk: Stripe;
let purchases = 0;

beforeAll(async () => {
  standIn = await startStripeStandIn();
  provider = new StripeProvider({
    secretKey: standIn.secretKey,
    webhookSecret: standIn.webhookSecret,
    apiBase: { host: standIn.host, port: standIn.port, protocol: standIn.protocol },
    timeoutMs: 5_000,
    networkRetriesMax: 0,
  });
  sdk = sdkWith(standIn.secretKey);
});

afterAll(async () => {
  await standIn.close();
});

function sdkWith(key: string): Stripe {
  return new Stripe(key, {
    host: standIn.host,
    port: standIn.port,
    protocol: standIn.protocol,
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

function purchase(overrides: Partial<CheckoutRequest> = {}): CheckoutRequest {
  purchases += 1;
  const purchaseId = `pur_${purchases}`;
  return {
    purchaseId,
    userId: "usr_1",
    packId: "pack_small",
    coins: 500n,
    amountMinor: 499n,
    currency: "EUR",
    idempotencyKey: `purchase:${purchaseId}`,
    successUrl: "https://app.example/done",
    cancelUrl: "https://app.example/cancel",
    ...overrides,
  };
}

/** Delivers each event to the provider as Stripe would, and collects what it maps them to. */
async function deliver(events: StripeEvent[]): Promise<Array<[string, PaymentEvent[]]>> {
  const out: Array<[string, PaymentEvent[]]> = [];
  for (const event of events) {
    const { body, header } = standIn.signedDelivery(event);
    out.push([event.type, await provider.parseWebhook(Buffer.from(body), header)]);
  }
  return out;
}

/** The one mapped event of the delivery that is not `ignored`. */
async function deliverOne(events: StripeEvent[]): Promise<PaymentEvent> {
  const mapped = (await deliver(events)).flatMap(([, m]) => m).filter((e) => e.type !== "ignored");
  expect(mapped).toHaveLength(1);
  return mapped[0]!;
}

async function paidPurchase(opts: { feeMinor?: bigint } = {}) {
  const request = purchase();
  const { providerRef } = await provider.createCheckout(request);
  const events = standIn.pay(providerRef, opts);
  const paymentRef = standIn.sessions.get(providerRef)!.payment_intent!;
  return { request, sessionId: providerRef, paymentRef, events };
}

async function raw(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${standIn.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${standIn.secretKey}`, ...(init.headers as Record<string, string>) },
  });
}

async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  return error as Stripe.errors.StripeError;
}

describe("form parsing", () => {
  it("reads the SDK's bracket encoding into nested objects and arrays", () => {
    const params = parseStripeForm(
      "mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=eur&line_items[1][quantity]=2&metadata[a]=x%20y&tags[]=p&tags[]=q",
    );
    expect(JSON.parse(JSON.stringify(params))).toEqual({
      mode: "payment",
      line_items: [{ quantity: "1", price_data: { currency: "eur" } }, { quantity: "2" }],
      metadata: { a: "x y" },
      tags: ["p", "q"],
    });
  });

  it("refuses a repeated key, a scalar that is also an object, gaps in indices and prototype keys", () => {
    for (const bad of [
      "a=1&a=2",
      "a=1&a[b]=2",
      "a[0]=x&a[2]=y",
      "__proto__[x]=1",
      "a[constructor]=1",
      "a]b=1",
    ]) {
      expect(() => parseStripeForm(bad), bad).toThrow();
    }
  });
});

describe("POST /v1/checkout/sessions through the SDK", () => {
  it("creates the session StripeProvider asks for", async () => {
    const request = purchase();
    const result = await provider.createCheckout(request);
    expect(result.providerRef).toMatch(/^cs_test_/);
    expect(result.redirectUrl).toBe(`${standIn.url}/c/pay/${result.providerRef}`);
    const session = standIn.sessions.get(result.providerRef)!;
    expect(session).toMatchObject({
      object: "checkout.session",
      mode: "payment",
      amount_total: 499,
      currency: "eur",
      client_reference_id: request.purchaseId,
      metadata: { purchaseId: request.purchaseId, userId: "usr_1", packId: "pack_small", coins: "500" },
      payment_status: "unpaid",
      status: "open",
      payment_intent: null,
      success_url: "https://app.example/done",
      cancel_url: "https://app.example/cancel",
    });
    const sent = standIn.requests.findLast((r) => r.path === "/v1/checkout/sessions")!;
    expect(sent.idempotencyKey).toBe(request.idempotencyKey);
    expect(JSON.parse(JSON.stringify(sent.params))).toMatchObject({
      line_items: [
        {
          quantity: "1",
          price_data: { currency: "eur", unit_amount: "499", product_data: { name: "500 coins" } },
        },
      ],
      payment_intent_data: { metadata: { purchaseId: request.purchaseId } },
    });
    // The hosted page the buyer is sent to.
    const page = await fetch(result.redirectUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(result.providerRef);
  });

  it("replays the first session for the same idempotency key and parameters", async () => {
    const request = purchase();
    const first = await provider.createCheckout(request);
    const sessionsBefore = standIn.sessions.size;
    const again = await provider.createCheckout(request);
    expect(again).toEqual(first);
    expect(standIn.sessions.size).toBe(sessionsBefore);
  });

  it("marks a replay with Idempotent-Replayed, and compares parameters whatever their order", async () => {
    const body = (order: "ab" | "ba") => {
      const a = "line_items[0][quantity]=1&line_items[0][price_data][currency]=usd";
      const b = "line_items[0][price_data][unit_amount]=100&line_items[0][price_data][product_data][name]=x";
      return `mode=payment&${order === "ab" ? `${a}&${b}` : `${b}&${a}`}`;
    };
    const post = (order: "ab" | "ba") =>
      raw("/v1/checkout/sessions", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "idempotency-key": "raw-replay-1" },
        body: body(order),
      });
    const first = await post("ab");
    const second = await post("ba");
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("original-request")).toBe(first.headers.get("request-id"));
    expect(await second.json()).toEqual(await first.json());
  });

  it("answers 400 idempotency_error for the same key with other parameters", async () => {
    const request = purchase();
    await provider.createCheckout(request);
    const error = await stripeError(provider.createCheckout({ ...request, amountMinor: 999n }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toContain(request.idempotencyKey);
  });

  it("does not save a validation failure under its key: the corrected retry succeeds", async () => {
    const key = "fix-and-retry-1";
    const bad = await stripeError(sdk.checkout.sessions.create({} as never, { idempotencyKey: key }));
    expect(bad).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const good = await sdk.checkout.sessions.create(
      {
        mode: "payment",
        line_items: [
          { quantity: 1, price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } } },
        ],
      },
      { idempotencyKey: key },
    );
    expect(good.object).toBe("checkout.session");
  });

  it("throws StripeAuthenticationError for a wrong API key, with the key masked", async () => {
    const error = await stripeError(
      sdkWith("sk_test_wrong_key_1234").checkout.sessions.create({ mode: "payment" }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    expect(error.message).toMatch(/^Invalid API Key provided: sk_test_\*+1234$/);
    const viaProvider = new StripeProvider({
      secretKey: "sk_test_nope",
      webhookSecret: standIn.webhookSecret,
      apiBase: { host: standIn.host, port: standIn.port, protocol: "http" },
      networkRetriesMax: 0,
    });
    expect(await stripeError(viaProvider.createCheckout(purchase()))).toBeInstanceOf(
      Stripe.errors.StripeAuthenticationError,
    );
  });

  it("answers 401 with Stripe's error body when no key is sent", async () => {
    const response = await fetch(`${standIn.url}/v1/checkout/sessions`, { method: "POST" });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/^You did not provide an API key/);
  });

  it("answers 400 parameter_missing for a missing mode, naming the param", async () => {
    const error = await stripeError(sdk.checkout.sessions.create({} as never));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("parameter_missing");
    expect(error.param).toBe("mode");
    expect(error.message).toBe("Missing required param: mode.");
  });

  it("validates line items as Stripe does", async () => {
    const create = (lineItems: unknown) =>
      stripeError(sdk.checkout.sessions.create({ mode: "payment", line_items: lineItems as never }));
    let error = await stripeError(sdk.checkout.sessions.create({ mode: "payment" }));
    expect([error.code, error.param]).toEqual(["parameter_missing", "line_items"]);
    error = await create([{ quantity: 1, price_data: { currency: "usd", product_data: { name: "x" } } }]);
    expect([error.code, error.param]).toEqual([
      "parameter_missing",
      "line_items[0][price_data][unit_amount]",
    ]);
    error = await create([
      { quantity: 1, price_data: { currency: "usd", unit_amount: "1.5", product_data: { name: "x" } } },
    ]);
    expect([error.code, error.param]).toEqual([
      "parameter_invalid_integer",
      "line_items[0][price_data][unit_amount]",
    ]);
    error = await create([
      { price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } } },
    ]);
    expect([error.code, error.param]).toEqual(["parameter_missing", "line_items[0][quantity]"]);
    error = await create([{ quantity: 1, price: "price_123" }]);
    expect([error.code, error.param]).toEqual(["resource_missing", "line_items[0][price]"]);
    error = await create([
      { quantity: 1, price_data: { currency: "usd", unit_amount: 1, product_data: { description: "d" } } },
    ]);
    expect(error.param).toBe("line_items[0][price_data][product_data][name]");
  });

  it("answers parameter_unknown for a parameter it does not know", async () => {
    const unknown = await stripeError(
      sdk.checkout.sessions.create({ mode: "payment", customer_creation: "always" } as never),
    );
    expect([unknown.code, unknown.param]).toEqual(["parameter_unknown", "customer_creation"]);
  });

  it("refuses metadata beyond Stripe's limits", async () => {
    const lineItems = [
      { quantity: 1, price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } } },
    ];
    const longKey = await stripeError(
      sdk.checkout.sessions.create({
        mode: "payment",
        line_items: lineItems,
        metadata: { ["k".repeat(41)]: "v" },
      }),
    );
    expect(longKey.param).toBe(`metadata[${"k".repeat(41)}]`);
    const longValue = await stripeError(
      sdk.checkout.sessions.create({
        mode: "payment",
        line_items: lineItems,
        metadata: { k: "v".repeat(501) },
      }),
    );
    expect(longValue.param).toBe("metadata[k]");
  });
});

describe("GET endpoints through the SDK", () => {
  it("retrieves the session, PaymentIntent, charge and balance transaction of a paid purchase", async () => {
    const { sessionId, paymentRef } = await paidPurchase({ feeMinor: 37n });
    const session = await sdk.checkout.sessions.retrieve(sessionId);
    expect(session).toMatchObject({
      id: sessionId,
      status: "complete",
      payment_status: "paid",
      payment_intent: paymentRef,
    });
    const intent = await sdk.paymentIntents.retrieve(paymentRef);
    expect(intent).toMatchObject({
      object: "payment_intent",
      status: "succeeded",
      amount: 499,
      amount_received: 499,
    });
    expect(intent.metadata.purchaseId).toBe(session.client_reference_id);
    const charge = await sdk.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({
      object: "charge",
      status: "succeeded",
      paid: true,
      payment_intent: paymentRef,
    });
    const balance = await sdk.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(balance).toMatchObject({
      object: "balance_transaction",
      amount: 499,
      fee: 37,
      net: 462,
      source: charge.id,
    });
  });

  it("answers 404 resource_missing for an unknown id, and 404 for an unknown route", async () => {
    const error = await stripeError(sdk.charges.retrieve("ch_missing"));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect([error.statusCode, error.code, error.message]).toEqual([
      404,
      "resource_missing",
      "No such charge: 'ch_missing'",
    ]);
    const response = await raw("/v1/nothing-here");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /^Unrecognized request URL \(GET: \/v1\/nothing-here\)/,
    );
  });
});

describe("lifecycle events round-trip through StripeProvider.parseWebhook", () => {
  it("a card payment: charge.succeeded (settled at once) gives the fee; the session gives payment.succeeded", async () => {
    const { request, sessionId, paymentRef, events } = await paidPurchase({ feeMinor: 37n });
    const mapped = await deliver(events);
    expect(mapped.map(([type]) => type)).toEqual([
      "charge.succeeded",
      "payment_intent.succeeded",
      "checkout.session.completed",
    ]);
    expect(mapped[0]![1]).toEqual([
      { type: "fee.reported", eventId: events[0]!.id, paymentRef, feeMinor: 37n, currency: "EUR" },
    ]);
    expect(mapped[1]![1]).toMatchObject([{ type: "ignored", providerType: "payment_intent.succeeded" }]);
    expect(mapped[2]![1]).toEqual([
      {
        type: "payment.succeeded",
        eventId: events[2]!.id,
        purchaseId: request.purchaseId,
        providerRef: sessionId,
        paymentRef,
        amountMinor: 499n,
        currency: "EUR",
      },
    ]);
  });

  it("settled later: charge.succeeded gives nothing, then charge.updated gives the fee (via the API)", async () => {
    const { paymentRef, events } = await paidPurchase();
    const mapped = await deliver(events);
    expect(mapped[0]).toEqual(["charge.succeeded", []]);
    expect(await deliverOne(standIn.settleBalance(paymentRef, 52n))).toMatchObject({
      type: "fee.reported",
      paymentRef,
      feeMinor: 52n,
      currency: "EUR",
    });
  });

  it("an amount other than the purchase's is reported as charged, for the domain to refuse", async () => {
    const request = purchase();
    const { providerRef } = await provider.createCheckout(request);
    const mapped = await deliverOne(standIn.pay(providerRef, { amountOverrideMinor: 1n }));
    expect(mapped).toMatchObject({
      type: "payment.succeeded",
      purchaseId: request.purchaseId,
      amountMinor: 1n,
    });
  });

  it("a delayed payment: pending, then succeeded", async () => {
    const request = purchase();
    const { providerRef } = await provider.createCheckout(request);
    expect(await deliverOne(standIn.pay(providerRef, { async: true }))).toEqual(
      expect.objectContaining({ type: "payment.pending", purchaseId: request.purchaseId, providerRef }),
    );
    const succeeded = await deliver(standIn.succeedAsync(providerRef, { feeMinor: 80n }));
    expect(succeeded.map(([type, m]) => [type, m.map((e) => e.type)])).toEqual([
      ["charge.succeeded", ["fee.reported"]],
      ["payment_intent.succeeded", ["ignored"]],
      ["checkout.session.async_payment_succeeded", ["payment.succeeded"]],
    ]);
  });

  it("a delayed payment that fails, and a session that expires: payment.failed", async () => {
    const failing = purchase();
    const { providerRef } = await provider.createCheckout(failing);
    await deliver(standIn.pay(providerRef, { async: true }));
    expect(await deliverOne(standIn.failAsync(providerRef))).toEqual(
      expect.objectContaining({ type: "payment.failed", purchaseId: failing.purchaseId, providerRef }),
    );
    const abandoned = purchase();
    const expiring = await provider.createCheckout(abandoned);
    expect(await deliverOne(standIn.expire(expiring.providerRef))).toEqual(
      expect.objectContaining({ type: "payment.failed", purchaseId: abandoned.purchaseId }),
    );
  });

  it("refunds report the total refunded so far", async () => {
    const { paymentRef } = await paidPurchase();
    expect(await deliverOne(standIn.refund(paymentRef, 100n))).toMatchObject({
      type: "payment.refunded",
      paymentRef,
      amountRefundedMinor: 100n,
      currency: "EUR",
    });
    expect(await deliverOne(standIn.refund(paymentRef, 399n))).toMatchObject({ amountRefundedMinor: 499n });
    expect(() => standIn.refund(paymentRef, 1n)).toThrow(/cannot refund/);
  });

  it("a chargeback: dispute.created, then dispute.closed won or lost", async () => {
    for (const status of ["won", "lost"] as const) {
      const { paymentRef } = await paidPurchase();
      const created = await deliverOne(standIn.dispute(paymentRef));
      expect(created).toMatchObject({
        type: "dispute.created",
        paymentRef,
        amountMinor: 499n,
        currency: "EUR",
      });
      const disputeId = (created as { disputeId: string }).disputeId;
      expect(await deliverOne(standIn.closeDispute(disputeId, status))).toEqual(
        expect.objectContaining({ type: "dispute.closed", paymentRef, disputeId, outcome: status }),
      );
      expect((await sdk.disputes.retrieve(disputeId)).status).toBe(status);
    }
  });

  it("a dispute that names only its charge (older API versions) is traced to the PaymentIntent via the API", async () => {
    const { paymentRef } = await paidPurchase();
    const [created] = standIn.dispute(paymentRef);
    const legacy = structuredClone(created!);
    (legacy.data.object as { payment_intent: string | null }).payment_intent = null;
    expect(await deliverOne([legacy])).toMatchObject({ type: "dispute.created", paymentRef });
  });

  it("an inquiry that closes without a chargeback (warning_closed) is won", async () => {
    const { paymentRef } = await paidPurchase();
    const created = await deliverOne(standIn.dispute(paymentRef, { inquiry: true }));
    const disputeId = (created as { disputeId: string }).disputeId;
    expect(await deliverOne(standIn.closeDispute(disputeId, "warning_closed"))).toMatchObject({
      type: "dispute.closed",
      outcome: "won",
    });
  });

  it("a delivery signed long ago, or with another secret, is refused", async () => {
    const { events } = await paidPurchase();
    const event = events.at(-1)!;
    const stale = standIn.signedDelivery(event, { timestampSeconds: Math.floor(Date.now() / 1000) - 3600 });
    await expect(provider.parseWebhook(Buffer.from(stale.body), stale.header)).rejects.toBeInstanceOf(
      GiftstreamError,
    );
    const forged = standIn.signedDelivery(event, { secret: "whsec_forged" });
    await expect(provider.parseWebhook(Buffer.from(forged.body), forged.header)).rejects.toMatchObject({
      code: "invalid_signature",
    });
  });

  it("builds events in Stripe's Event shape, each a snapshot", async () => {
    const { sessionId, events } = await paidPurchase();
    const completed = events.at(-1)!;
    expect(completed).toMatchObject({
      object: "event",
      api_version: Stripe.API_VERSION,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: "checkout.session.completed",
      data: { object: { id: sessionId, object: "checkout.session", payment_status: "paid" } },
    });
    expect(completed.id).toMatch(/^evt_/);
    standIn.sessions.get(sessionId)!.metadata.later = "changed";
    expect((completed.data.object as { metadata: Record<string, string> }).metadata.later).toBeUndefined();
  });
});
