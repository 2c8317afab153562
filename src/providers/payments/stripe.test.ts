import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { GiftstreamError, InvariantViolation } from "../../errors.js";
import type { CheckoutRequest, PaymentEvent } from "./provider.js";
import {
  checkoutSessionParams,
  disputeOutcome,
  fromStripeAmount,
  StripeDataError,
  StripeProvider,
  toStripeAmount,
} from "./stripe.js";

const webhookSecret = "whsec_unit_test_secret_0123456789abcdef";
// Nothing listens here: the mapping tests below need no API call, and must not make one.
const unreachable = { host: "127.0.0.1", port: 9, protocol: "http" as const };

function provider(overrides: { toleranceSeconds?: number } = {}) {
  return new StripeProvider({
    secretKey: "sk_test_unit",
    webhookSecret,
    apiBase: unreachable,
    networkRetriesMax: 0,
    ...overrides,
  });
}

const now = () => Math.floor(Date.now() / 1000);

/** An Event as Stripe delivers it (https://docs.stripe.com/api/events/object). */
function stripeEvent(type: string, object: object, previous?: object) {
  return {
    id: `evt_${type.replaceAll(".", "_")}`,
    object: "event",
    api_version: Stripe.API_VERSION,
    created: now(),
    data: previous === undefined ? { object } : { object, previous_attributes: previous },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** A Checkout Session (https://docs.stripe.com/api/checkout/sessions/object), as Giftstream creates them. */
function session(overrides: Record<string, unknown> = {}) {
  return {
    id: "cs_test_a1",
    object: "checkout.session",
    amount_subtotal: 499,
    amount_total: 499,
    cancel_url: "https://app.example/cancel",
    client_reference_id: "pur_1",
    created: now(),
    currency: "eur",
    customer: null,
    expires_at: now() + 86_400,
    livemode: false,
    metadata: { purchaseId: "pur_1", userId: "usr_1", packId: "pack_small", coins: "500" },
    mode: "payment",
    payment_intent: "pi_1",
    payment_method_types: ["card"],
    payment_status: "paid",
    status: "complete",
    success_url: "https://app.example/done",
    url: null,
    ...overrides,
  };
}

function charge(overrides: Record<string, unknown> = {}) {
  return {
    id: "ch_1",
    object: "charge",
    amount: 499,
    amount_captured: 499,
    amount_refunded: 0,
    balance_transaction: null,
    captured: true,
    created: now(),
    currency: "eur",
    disputed: false,
    livemode: false,
    metadata: {},
    paid: true,
    payment_intent: "pi_1",
    refunded: false,
    status: "succeeded",
    ...overrides,
  };
}

function dispute(overrides: Record<string, unknown> = {}) {
  return {
    id: "du_1",
    object: "dispute",
    amount: 499,
    balance_transactions: [],
    charge: "ch_1",
    created: now(),
    currency: "eur",
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: "pi_1",
    reason: "fraudulent",
    status: "needs_response",
    ...overrides,
  };
}

function signed(event: object, opts: { secret?: string; timestamp?: number } = {}) {
  const body = JSON.stringify(event, null, 2);
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: opts.secret ?? webhookSecret,
    ...(opts.timestamp === undefined ? {} : { timestamp: opts.timestamp }),
  });
  return { body: Buffer.from(body), header };
}

async function parse(event: object): Promise<PaymentEvent[]> {
  const { body, header } = signed(event);
  return provider().parseWebhook(body, header);
}

async function rejection(promise: Promise<unknown>): Promise<GiftstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GiftstreamError);
  const giftstream = error as GiftstreamError;
  expect(giftstream.code).toBe("invalid_signature");
  expect(giftstream.status).toBe(400);
  expect(giftstream.message).not.toContain(webhookSecret);
  return giftstream;
}

describe("toStripeAmount / fromStripeAmount", () => {
  it("passes exact values both ways", () => {
    expect(toStripeAmount(0n, "USD")).toBe(0);
    expect(toStripeAmount(1999n, "USD")).toBe(1999);
    expect(toStripeAmount(BigInt(Number.MAX_SAFE_INTEGER), "USD")).toBe(Number.MAX_SAFE_INTEGER);
    expect(fromStripeAmount(1999, "USD", "x")).toBe(1999n);
    expect(fromStripeAmount(Number.MAX_SAFE_INTEGER, "USD", "x")).toBe(9007199254740991n);
  });

  it("refuses to send what a number cannot hold exactly, or a negative amount", () => {
    expect(() => toStripeAmount(BigInt(Number.MAX_SAFE_INTEGER) + 1n, "USD")).toThrow(InvariantViolation);
    expect(() => toStripeAmount(2n ** 64n, "USD")).toThrow(InvariantViolation);
    expect(() => toStripeAmount(-1n, "USD")).toThrow(InvariantViolation);
  });

  it("sends ISK, which Stripe keeps two-decimal though ISO gives it none, as 100 units a króna", () => {
    // 1,500 króna: 1,500 ISO minor units, 150,000 Stripe units, either case of the code.
    expect(toStripeAmount(1500n, "ISK")).toBe(150_000);
    expect(toStripeAmount(1500n, "isk")).toBe(150_000);
    expect(fromStripeAmount(150_000, "isk", "x")).toBe(1500n);
    // Yen are zero-decimal in both.
    expect(toStripeAmount(1500n, "JPY")).toBe(1500);
    expect(fromStripeAmount(1500, "jpy", "x")).toBe(1500n);
    // A fraction of a króna is not something Giftstream can hold: refused, never rounded.
    expect(() => fromStripeAmount(150_050, "isk", "x")).toThrow(StripeDataError);
    expect(() => toStripeAmount(BigInt(Number.MAX_SAFE_INTEGER), "ISK")).toThrow(InvariantViolation);
  });

  it("refuses to read floats, negatives, unsafe integers, strings and null", () => {
    for (const bad of [
      19.99,
      -1,
      2 ** 53,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      "499",
      null,
      undefined,
    ]) {
      expect(() => fromStripeAmount(bad, "USD", "amount")).toThrow(StripeDataError);
    }
  });
});

describe("checkoutSessionParams", () => {
  const request: CheckoutRequest = {
    purchaseId: "pur_1",
    userId: "usr_1",
    packId: "pack_small",
    coins: 500n,
    amountMinor: 499n,
    currency: "EUR",
    idempotencyKey: "purchase:pur_1",
    successUrl: "https://app.example/done",
    cancelUrl: "https://app.example/cancel",
  };

  it("asks for one payment line item, with the purchase id on the session and its PaymentIntent", () => {
    expect(checkoutSessionParams(request)).toEqual({
      mode: "payment",
      line_items: [
        {
          quantity: 1,
          price_data: { currency: "eur", unit_amount: 499, product_data: { name: "500 coins" } },
        },
      ],
      client_reference_id: "pur_1",
      metadata: { purchaseId: "pur_1", userId: "usr_1", packId: "pack_small", coins: "500" },
      payment_intent_data: { metadata: { purchaseId: "pur_1" } },
      success_url: "https://app.example/done",
      cancel_url: "https://app.example/cancel",
    });
  });

  it("keeps a coin count beyond 2^53 exact (it travels as a string)", () => {
    const params = checkoutSessionParams({ ...request, coins: 2n ** 60n });
    expect(params.metadata?.coins).toBe("1152921504606846976");
    expect(params.line_items?.[0]?.price_data?.product_data?.name).toBe("1152921504606846976 coins");
  });

  it("stops on an amount Stripe cannot be sent, a zero purchase or a lower-case currency", () => {
    expect(() => checkoutSessionParams({ ...request, amountMinor: 2n ** 53n })).toThrow(InvariantViolation);
    expect(() => checkoutSessionParams({ ...request, amountMinor: 0n })).toThrow(InvariantViolation);
    expect(() => checkoutSessionParams({ ...request, coins: 0n })).toThrow(InvariantViolation);
    expect(() => checkoutSessionParams({ ...request, currency: "eur" })).toThrow(InvariantViolation);
  });
});

describe("StripeProvider construction", () => {
  it("refuses a tolerance of 0, which would make the SDK skip the age check", () => {
    expect(() => provider({ toleranceSeconds: 0 })).toThrow(InvariantViolation);
    expect(() => provider({ toleranceSeconds: -5 })).toThrow(InvariantViolation);
  });

  it("refuses empty secrets", () => {
    expect(() => new StripeProvider({ secretKey: "", webhookSecret })).toThrow(InvariantViolation);
    expect(() => new StripeProvider({ secretKey: "sk_test_x", webhookSecret: "" })).toThrow(
      InvariantViolation,
    );
  });

  it("is named stripe", () => {
    expect(provider().name).toBe("stripe");
  });
});

describe("parseWebhook: signature", () => {
  const event = stripeEvent("checkout.session.completed", session());

  it("accepts a signature made with the webhook secret", async () => {
    const { body, header } = signed(event);
    await expect(provider().parseWebhook(body, header)).resolves.toHaveLength(1);
  });

  it("accepts a signature just inside the tolerance", async () => {
    const { body, header } = signed(event, { timestamp: now() - 290 });
    await expect(provider().parseWebhook(body, header)).resolves.toHaveLength(1);
  });

  it("refuses a signature made with another secret", async () => {
    const { body, header } = signed(event, { secret: "whsec_someone_else" });
    const error = await rejection(provider().parseWebhook(body, header));
    expect(error.message).toMatch(/No signatures found matching/);
  });

  it("refuses a tampered body", async () => {
    const { body, header } = signed(event);
    const tampered = Buffer.from(
      body.toString("utf8").replace('"amount_total": 499', '"amount_total": 49900'),
    );
    expect(tampered.equals(body)).toBe(false);
    await rejection(provider().parseWebhook(tampered, header));
  });

  it("refuses the same JSON re-serialised: the signature is over the raw bytes", async () => {
    const { body, header } = signed(event);
    const compact = Buffer.from(JSON.stringify(JSON.parse(body.toString("utf8"))));
    await rejection(provider().parseWebhook(compact, header));
  });

  it("refuses a signature older than the tolerance (a replay)", async () => {
    const { body, header } = signed(event, { timestamp: now() - 301 });
    const error = await rejection(provider().parseWebhook(body, header));
    expect(error.message).toMatch(/tolerance/);
  });

  it("applies a configured tolerance", async () => {
    const { body, header } = signed(event, { timestamp: now() - 120 });
    await rejection(provider({ toleranceSeconds: 60 }).parseWebhook(body, header));
    await expect(provider({ toleranceSeconds: 600 }).parseWebhook(body, header)).resolves.toHaveLength(1);
  });

  it("refuses a missing or empty header", async () => {
    const { body } = signed(event);
    const error = await rejection(provider().parseWebhook(body, undefined));
    expect(error.message).toMatch(/missing/);
    await rejection(provider().parseWebhook(body, ""));
    await rejection(provider().parseWebhook(body, "   "));
  });

  it("refuses a malformed header, or one with only another scheme's signature", async () => {
    const { body, header } = signed(event);
    await rejection(provider().parseWebhook(body, "garbage"));
    await rejection(provider().parseWebhook(body, header.replace("v1=", "v0=")));
    await rejection(provider().parseWebhook(body, `t=${now()}`));
  });

  it("refuses an empty body", async () => {
    const { header } = signed(event);
    await rejection(provider().parseWebhook(Buffer.alloc(0), header));
  });
});

describe("parseWebhook: mapping", () => {
  it("checkout.session.completed, paid → payment.succeeded with bigint amount, upper-case currency, PaymentIntent", async () => {
    const event = stripeEvent("checkout.session.completed", session());
    expect(await parse(event)).toEqual([
      {
        type: "payment.succeeded",
        eventId: event.id,
        purchaseId: "pur_1",
        providerRef: "cs_test_a1",
        paymentRef: "pi_1",
        amountMinor: 499n,
        currency: "EUR",
      },
    ]);
  });

  it("finds the purchase in metadata when client_reference_id is absent", async () => {
    const [mapped] = await parse(
      stripeEvent("checkout.session.completed", session({ client_reference_id: null })),
    );
    expect(mapped).toMatchObject({ type: "payment.succeeded", purchaseId: "pur_1" });
  });

  it("takes an expanded PaymentIntent by its id", async () => {
    const expanded = session({ payment_intent: { id: "pi_1", object: "payment_intent" } });
    const [mapped] = await parse(stripeEvent("checkout.session.completed", expanded));
    expect(mapped).toMatchObject({ paymentRef: "pi_1" });
  });

  it("refuses a session whose reference and metadata name different purchases", async () => {
    const event = stripeEvent("checkout.session.completed", session({ client_reference_id: "pur_other" }));
    await expect(parse(event)).rejects.toThrow(StripeDataError);
  });

  it("refuses a paid session with a fractional or missing amount, or without a PaymentIntent", async () => {
    await expect(
      parse(stripeEvent("checkout.session.completed", session({ amount_total: 4.99 }))),
    ).rejects.toThrow(StripeDataError);
    await expect(
      parse(stripeEvent("checkout.session.completed", session({ amount_total: null }))),
    ).rejects.toThrow(StripeDataError);
    await expect(
      parse(stripeEvent("checkout.session.completed", session({ payment_intent: null }))),
    ).rejects.toThrow(StripeDataError);
    await expect(
      parse(stripeEvent("checkout.session.completed", session({ currency: null }))),
    ).rejects.toThrow(StripeDataError);
  });

  it("reads an amount above 2^32 exactly", async () => {
    const [mapped] = await parse(
      stripeEvent("checkout.session.completed", session({ amount_total: 987654321012 })),
    );
    expect(mapped).toMatchObject({ amountMinor: 987654321012n });
  });

  it("checkout.session.completed, unpaid → payment.pending", async () => {
    const event = stripeEvent("checkout.session.completed", session({ payment_status: "unpaid" }));
    expect(await parse(event)).toEqual([
      { type: "payment.pending", eventId: event.id, purchaseId: "pur_1", providerRef: "cs_test_a1" },
    ]);
  });

  it("checkout.session.completed, no_payment_required → ignored", async () => {
    const event = stripeEvent(
      "checkout.session.completed",
      session({ payment_status: "no_payment_required" }),
    );
    expect(await parse(event)).toEqual([
      { type: "ignored", eventId: event.id, providerType: "checkout.session.completed" },
    ]);
  });

  it("ignores sessions that are not Giftstream's: no purchase id, or not payment mode", async () => {
    const foreign = session({ client_reference_id: null, metadata: {} });
    expect(await parse(stripeEvent("checkout.session.completed", foreign))).toMatchObject([
      { type: "ignored" },
    ]);
    const subscription = session({ mode: "subscription" });
    expect(await parse(stripeEvent("checkout.session.completed", subscription))).toMatchObject([
      { type: "ignored" },
    ]);
  });

  it("checkout.session.async_payment_succeeded → payment.succeeded", async () => {
    const event = stripeEvent("checkout.session.async_payment_succeeded", session());
    expect(await parse(event)).toMatchObject([
      {
        type: "payment.succeeded",
        eventId: event.id,
        purchaseId: "pur_1",
        amountMinor: 499n,
        paymentRef: "pi_1",
      },
    ]);
  });

  it("checkout.session.async_payment_failed and checkout.session.expired → payment.failed", async () => {
    const failed = stripeEvent(
      "checkout.session.async_payment_failed",
      session({ payment_status: "unpaid" }),
    );
    expect(await parse(failed)).toEqual([
      { type: "payment.failed", eventId: failed.id, purchaseId: "pur_1", providerRef: "cs_test_a1" },
    ]);
    const expired = stripeEvent(
      "checkout.session.expired",
      session({ status: "expired", payment_status: "unpaid", payment_intent: null }),
    );
    expect(await parse(expired)).toEqual([
      { type: "payment.failed", eventId: expired.id, purchaseId: "pur_1", providerRef: "cs_test_a1" },
    ]);
  });

  it("charge.refunded → payment.refunded with the total refunded so far", async () => {
    const event = stripeEvent("charge.refunded", charge({ amount_refunded: 200 }), {
      amount_refunded: 100,
      refunded: false,
    });
    expect(await parse(event)).toEqual([
      {
        type: "payment.refunded",
        eventId: event.id,
        paymentRef: "pi_1",
        amountRefundedMinor: 200n,
        currency: "EUR",
      },
    ]);
  });

  it("ignores a refund of a charge without a PaymentIntent (not a Checkout payment)", async () => {
    const event = stripeEvent("charge.refunded", charge({ payment_intent: null, amount_refunded: 499 }));
    expect(await parse(event)).toEqual([
      { type: "ignored", eventId: event.id, providerType: "charge.refunded" },
    ]);
  });

  it("charge.dispute.created → dispute.created with the disputed amount", async () => {
    const event = stripeEvent("charge.dispute.created", dispute({ amount: 450 }));
    expect(await parse(event)).toEqual([
      {
        type: "dispute.created",
        eventId: event.id,
        paymentRef: "pi_1",
        disputeId: "du_1",
        amountMinor: 450n,
        currency: "EUR",
      },
    ]);
  });

  it("charge.dispute.closed → dispute.closed: won and warning_closed are won; lost and the rest are lost", async () => {
    const cases: Array<[string, "won" | "lost"]> = [
      ["won", "won"],
      ["warning_closed", "won"],
      ["lost", "lost"],
      ["prevented", "lost"],
    ];
    for (const [status, outcome] of cases) {
      const event = stripeEvent("charge.dispute.closed", dispute({ status }));
      expect(await parse(event), status).toEqual([
        { type: "dispute.closed", eventId: event.id, paymentRef: "pi_1", disputeId: "du_1", outcome },
      ]);
    }
    expect(disputeOutcome({ status: "under_review" })).toBe("lost");
  });

  it("charge.succeeded not yet settled (no balance transaction) → nothing", async () => {
    expect(await parse(stripeEvent("charge.succeeded", charge()))).toEqual([]);
  });

  it("charge.succeeded with an expanded balance transaction → fee.reported, without an API call", async () => {
    const balance = {
      id: "txn_1",
      object: "balance_transaction",
      amount: 499,
      currency: "eur",
      fee: 37,
      net: 462,
      type: "charge",
    };
    const event = stripeEvent("charge.succeeded", charge({ balance_transaction: balance }));
    expect(await parse(event)).toEqual([
      { type: "fee.reported", eventId: event.id, paymentRef: "pi_1", feeMinor: 37n, currency: "EUR" },
    ]);
  });

  it("charge.updated that does not set the balance transaction → ignored, without an API call", async () => {
    const event = stripeEvent("charge.updated", charge({ balance_transaction: "txn_1" }), {
      description: null,
    });
    expect(await parse(event)).toEqual([
      { type: "ignored", eventId: event.id, providerType: "charge.updated" },
    ]);
  });

  it("anything else → ignored, with Stripe's type", async () => {
    for (const type of ["payment_intent.succeeded", "charge.dispute.funds_withdrawn", "customer.created"]) {
      const event = stripeEvent(type, { id: "x_1", object: "whatever" });
      expect(await parse(event)).toEqual([{ type: "ignored", eventId: event.id, providerType: type }]);
    }
  });
});
