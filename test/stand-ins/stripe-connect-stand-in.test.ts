import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { type StripeStandIn, startStripeStandIn } from "./stripe-stand-in.js";

/** The Stripe stand-in's Connect part, driven through the official SDK as the rail drives it. */
let stand: StripeStandIn | null = null;
afterEach(async () => {
  await stand?.close();
  stand = null;
});

async function open(opts: Parameters<typeof startStripeStandIn>[0] = {}) {
  stand = await startStripeStandIn(opts);
  const api = new Stripe(stand.secretKey, {
    host: stand.host,
    port: stand.port,
    protocol: "http",
    maxNetworkRetries: 0,
  });
  return { stand, api };
}

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error("expected a rejection");
};

describe("transfers on the Stripe stand-in", () => {
  it("creates a transfer to a connected account, replays it for the same key, and refuses the key reused", async () => {
    const { stand, api } = await open();
    const destination = stand.createConnectedAccount();
    const params = {
      amount: 1234,
      currency: "usd",
      destination,
      transfer_group: "co_1",
      metadata: { cashoutId: "co_1" },
    };
    const first = await api.transfers.create(params, { idempotencyKey: "k-1" });
    expect(first).toMatchObject({
      object: "transfer",
      amount: 1234,
      currency: "usd",
      destination,
      reversed: false,
    });
    const again = await api.transfers.create(params, { idempotencyKey: "k-1" });
    expect(again.id).toBe(first.id);
    expect(stand.transfers.size).toBe(1);
    const reused = await rejection(api.transfers.create({ ...params, amount: 1 }, { idempotencyKey: "k-1" }));
    expect(reused).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(stand.transferEvents.map((e) => [e.type, e.request.idempotency_key])).toEqual([
      ["transfer.created", "k-1"],
    ]);
  });

  it("refuses what Stripe refuses, and replays a refusal made once the endpoint had started", async () => {
    const { stand, api } = await open({ balances: { usd: 100n } });
    const missing = await rejection(
      api.transfers.create({ currency: "usd", destination: "acct_x" } as never),
    );
    expect(missing).toMatchObject({ code: "parameter_missing", param: "amount" });
    const unknown = await rejection(
      api.transfers.create({ amount: 1, currency: "usd", destination: "acct_nobody" }),
    );
    expect(unknown).toMatchObject({
      type: "StripeInvalidRequestError",
      code: "resource_missing",
      param: "destination",
    });
    const inactive = stand.createConnectedAccount({ transfers: "inactive" });
    const refused = await rejection(
      api.transfers.create({ amount: 1, currency: "usd", destination: inactive }, { idempotencyKey: "k-2" }),
    );
    expect(refused).toMatchObject({ code: "insufficient_capabilities_for_transfer" });
    stand.accounts.get(inactive)!.transfers = "active";
    // Saved under its key: the same request answers the same refusal, as Stripe does.
    const replayed = await rejection(
      api.transfers.create({ amount: 1, currency: "usd", destination: inactive }, { idempotencyKey: "k-2" }),
    );
    expect(replayed).toMatchObject({ code: "insufficient_capabilities_for_transfer" });
    const poor = await rejection(
      api.transfers.create({ amount: 101, currency: "usd", destination: inactive }),
    );
    expect(poor).toMatchObject({ code: "balance_insufficient" });
    expect(stand.transfers.size).toBe(0);
  });

  it("refuses a request with a queued refusal before doing anything, so the same key then works", async () => {
    const { stand, api } = await open();
    const destination = stand.createConnectedAccount();
    stand.faultNext("POST", "/v1/transfers", {
      kind: "refuse",
      status: 403,
      error: {
        type: "invalid_request_error",
        message: "The provided key does not have the required permissions.",
      },
    });
    const params = { amount: 1, currency: "usd", destination };
    const forbidden = await rejection(api.transfers.create(params, { idempotencyKey: "k-3" }));
    expect(forbidden).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(forbidden.message).toContain("required permissions");
    expect(stand.transfers.size).toBe(0);
    expect((await api.transfers.create(params, { idempotencyKey: "k-3" })).object).toBe("transfer");
    expect(stand.transfers.size).toBe(1);
  });

  it("lists transfers newest first, by group and creation time, page after page", async () => {
    let nowMs = Date.parse("2031-01-01T00:00:00Z");
    const { stand, api } = await open({ clock: () => nowMs });
    const destination = stand.createConnectedAccount();
    for (let i = 0; i < 5; i++) {
      nowMs += 1000;
      await api.transfers.create({
        amount: 10 + i,
        currency: "usd",
        destination,
        transfer_group: `g${i % 2}`,
      });
    }
    const all: number[] = [];
    for await (const t of api.transfers.list({ limit: 2 })) all.push(t.amount);
    expect(all).toEqual([14, 13, 12, 11, 10]);
    expect((await api.transfers.list({ transfer_group: "g1" })).data.map((t) => t.amount)).toEqual([13, 11]);
    const since = Math.floor(Date.parse("2031-01-01T00:00:03Z") / 1000);
    expect((await api.transfers.list({ created: { gte: since } })).data.map((t) => t.amount)).toEqual([
      14, 13, 12,
    ]);
  });

  it("reverses a transfer, in part or in full, through the API or a helper", async () => {
    const { stand, api } = await open();
    const transfer = await api.transfers.create({
      amount: 1000,
      currency: "usd",
      destination: stand.createConnectedAccount(),
    });
    await api.transfers.createReversal(transfer.id, { amount: 400 });
    expect(await api.transfers.retrieve(transfer.id)).toMatchObject({
      amount_reversed: 400,
      reversed: false,
    });
    const [event] = stand.reverseTransfer(transfer.id);
    expect(event).toMatchObject({
      type: "transfer.reversed",
      data: {
        object: { amount_reversed: 1000, reversed: true },
        previous_attributes: { amount_reversed: 400 },
      },
    });
    expect(() => stand.reverseTransfer(transfer.id)).toThrow();
  });

  it("signs a connected account's events with the Connect endpoint's secret", async () => {
    const { stand } = await open();
    const account = stand.createConnectedAccount();
    const [failed] = stand.connectedPayoutFailed(account);
    expect(failed).toMatchObject({ type: "payout.failed", account, data: { object: { status: "failed" } } });
    const { body, header } = stand.signedDelivery(failed!, { secret: stand.connectWebhookSecret });
    const event = await Stripe.webhooks.constructEventAsync(body, header, stand.connectWebhookSecret);
    expect(event.account).toBe(account);
  });
});
