import { afterEach, describe, expect, it } from "vitest";
import { type PaypalStandIn, startPaypalStandIn } from "./paypal-stand-in.js";

/** The stand-in speaks PayPal's published API: these pin what the rail relies on. */
let paypal: PaypalStandIn | null = null;
afterEach(async () => {
  await paypal?.close();
  paypal = null;
});

async function open(opts: Parameters<typeof startPaypalStandIn>[0] = {}) {
  paypal = await startPaypalStandIn(opts);
  return paypal;
}

async function token(stand: PaypalStandIn, secret = stand.clientSecret) {
  return fetch(`${stand.url}/v1/oauth2/token`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${Buffer.from(`${stand.clientId}:${secret}`).toString("base64")}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
  });
}

async function call(stand: PaypalStandIn, method: string, path: string, body?: unknown) {
  const { access_token } = (await (await token(stand)).json()) as { access_token: string };
  const res = await fetch(`${stand.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${access_token}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown> & { details?: unknown[] },
  };
}

const batch = (senderBatchId: string, items: number, extra: Record<string, unknown> = {}) => ({
  sender_batch_header: { sender_batch_id: senderBatchId, recipient_type: "EMAIL" },
  items: Array.from({ length: items }, (_, i) => ({
    amount: { value: "10.00", currency: "USD" },
    receiver: `r${i}@example.com`,
    sender_item_id: `co_${i}`,
    ...extra,
  })),
});

describe("the PayPal stand-in", () => {
  it("issues OAuth2 tokens for the right client only", async () => {
    const stand = await open({ tokenTtlSeconds: 600 });
    const ok = await token(stand);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      token_type: "Bearer",
      expires_in: 600,
      access_token: expect.any(String),
    });
    const wrong = await token(stand, "nope");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: "invalid_client",
      error_description: "Client Authentication failed",
    });
    const anonymous = await fetch(`${stand.url}/v1/payments/payouts/X`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: "invalid_token" });
  });

  it("creates a batch (201), refuses its sender_batch_id again with a link to it, and pages its items", async () => {
    const stand = await open();
    const created = await call(stand, "POST", "/v1/payments/payouts", batch("b-1", 3));
    expect(created.status).toBe(201);
    const header = created.json.batch_header as { payout_batch_id: string; batch_status: string };
    expect(header.batch_status).toBe("PENDING");
    const again = await call(stand, "POST", "/v1/payments/payouts", batch("b-1", 3));
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({
      name: "USER_BUSINESS_ERROR",
      details: [
        {
          field: "SENDER_BATCH_ID",
          issue: "Batch with given sender_batch_id already exists",
          link: [
            {
              href: `${stand.url}/v1/payments/payouts/${header.payout_batch_id}`,
              rel: "self",
              method: "GET",
            },
          ],
        },
      ],
    });
    expect(stand.batches.size).toBe(1);

    const page = await call(
      stand,
      "GET",
      `/v1/payments/payouts/${header.payout_batch_id}?page_size=2&page=2&total_required=true`,
    );
    expect(page.status).toBe(200);
    expect(page.json).toMatchObject({ total_items: 3, total_pages: 2 });
    expect(
      (page.json.items as { payout_item: { sender_item_id: string } }[]).map(
        (i) => i.payout_item.sender_item_id,
      ),
    ).toEqual(["co_2"]);
    expect(page.json.batch_header).toMatchObject({ amount: { currency: "USD", value: "30.00" } });
    expect((await call(stand, "GET", "/v1/payments/payouts/NOSUCHBATCH")).status).toBe(404);
  });

  it("refuses invalid batches with PayPal's VALIDATION_ERROR naming the field", async () => {
    const stand = await open();
    const cases: [unknown, string][] = [
      [{ items: batch("x", 1).items }, "sender_batch_header"],
      [{ sender_batch_header: { sender_batch_id: "x" }, items: [] }, "items"],
      [batch("x", 1, { amount: { value: "10.001", currency: "USD" } }), "items[0].amount.value"],
      [batch("x", 1, { receiver: "not-an-email" }), "items[0].receiver"],
      [
        { ...batch("x", 2), items: batch("x", 2).items.map((i) => ({ ...i, sender_item_id: "same" })) },
        "items[1].sender_item_id",
      ],
    ];
    for (const [body, field] of cases) {
      const res = await call(stand, "POST", "/v1/payments/payouts", body);
      expect(res.status, field).toBe(400);
      expect(res.json).toMatchObject({ name: "VALIDATION_ERROR", details: [{ field }] });
    }
    expect((await call(stand, "POST", "/v1/payments/payouts", "{oops")).json).toMatchObject({
      name: "MALFORMED_REQUEST_JSON",
    });
    expect(stand.batches.size).toBe(0);
  });

  it("refuses a batch above the balance with 422 INSUFFICIENT_FUNDS, and gives failed items' money back", async () => {
    const stand = await open({ balances: { USD: 1500n } });
    expect((await call(stand, "POST", "/v1/payments/payouts", batch("big", 2))).json).toMatchObject({
      name: "INSUFFICIENT_FUNDS",
    });
    const res = await call(
      stand,
      "POST",
      "/v1/payments/payouts",
      batch("small", 1, { receiver: "fail@example.com" }),
    );
    expect(res.status).toBe(201);
    expect(stand.balances.get("USD")).toBe(500n);
    const [failed] = stand.process();
    expect(failed).toMatchObject({
      event_type: "PAYMENT.PAYOUTS-ITEM.FAILED",
      resource: { transaction_status: "FAILED" },
    });
    expect(stand.balances.get("USD")).toBe(1500n);
  });

  it("cancels only an unclaimed item", async () => {
    const stand = await open();
    await call(stand, "POST", "/v1/payments/payouts", batch("c", 1, { receiver: "unclaimed@example.com" }));
    const itemId = [...stand.items.keys()][0]!;
    expect((await call(stand, "POST", `/v1/payments/payouts-item/${itemId}/cancel`)).status).toBe(400);
    stand.process();
    const cancelled = await call(stand, "POST", `/v1/payments/payouts-item/${itemId}/cancel`);
    expect(cancelled).toMatchObject({ status: 200, json: { transaction_status: "RETURNED" } });
  });

  it("verifies the signature of its own deliveries only", async () => {
    const stand = await open();
    await call(stand, "POST", "/v1/payments/payouts", batch("w", 1));
    const [event] = stand.process();
    const verify = async (
      delivery: ReturnType<PaypalStandIn["signedDelivery"]>,
      webhookId = stand.webhookId,
    ) => {
      const h = delivery.headers;
      const body = `{"auth_algo":"${h["paypal-auth-algo"]}","cert_url":"${h["paypal-cert-url"]}","transmission_id":"${h["paypal-transmission-id"]}","transmission_sig":"${h["paypal-transmission-sig"]}","transmission_time":"${h["paypal-transmission-time"]}","webhook_id":"${webhookId}","webhook_event":${delivery.body}}`;
      return (await call(stand, "POST", "/v1/notifications/verify-webhook-signature", body)).json;
    };
    expect(await verify(stand.signedDelivery(event!))).toEqual({ verification_status: "SUCCESS" });
    expect(await verify(stand.signedDelivery(event!, { tamper: true }))).toEqual({
      verification_status: "FAILURE",
    });
    expect(await verify(stand.signedDelivery(event!, { webhookId: "OTHER" }))).toEqual({
      verification_status: "FAILURE",
    });
    expect(await verify(stand.signedDelivery(event!), "OTHER")).toEqual({ verification_status: "FAILURE" });
    const missing = await call(stand, "POST", "/v1/notifications/verify-webhook-signature", {
      webhook_id: stand.webhookId,
    });
    expect(missing).toMatchObject({ status: 400, json: { name: "VALIDATION_ERROR" } });
  });

  it("answers unknown paths with 404", async () => {
    const stand = await open();
    expect(await call(stand, "GET", "/v1/payments/nothing")).toMatchObject({
      status: 404,
      json: { name: "RESOURCE_NOT_FOUND" },
    });
  });
});
