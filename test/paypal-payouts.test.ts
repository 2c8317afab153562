import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { openPayoutRails } from "../src/cli/cashouts.js";
import { senderBatchIdOf } from "../src/providers/payouts/paypal/paypal-items.js";
import { paypalPageSizeMax } from "../src/providers/payouts/paypal/paypal-rail.js";
import type { PayoutOrder } from "../src/providers/payouts/rail.js";
import type { PaypalEvent } from "./stand-ins/paypal-stand-in.js";
import { linkPaypal, newKey, setClock, wallet } from "./support/creator.js";
import {
  cashOut,
  cashoutOf,
  deliverPaypal,
  expectBalanced,
  openPayoutsApp,
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

const postsOf = (app: PayoutsApp) =>
  app.paypal.requests.filter((r) => r.method === "POST" && r.path === "/v1/payments/payouts");

describe("the PayPal Payouts rail (local stand-in of PayPal's API)", () => {
  it("pays a job pass's cash-outs in one batch, keyed by their ids, and settles them by polling", async () => {
    const { t, paypal } = await ready(3);
    const method = await linkPaypal(t, "ada@example.com");
    const ids = [await cashOut(t, method), await cashOut(t, method), await cashOut(t, method)];

    await t.cashouts.process();
    for (const id of ids) expect(await statusOf(t, id)).toBe("processing");
    expect(paypal.batches.size).toBe(1);
    const [batch] = [...paypal.batches.values()];
    expect(batch!.sender_batch_header.sender_batch_id).toBe(senderBatchIdOf(ids));
    for (const id of ids) {
      expect(paypal.itemsOf(id).map((i) => [i.payout_item.amount, i.payout_item.receiver])).toEqual([
        [{ currency: "USD", value: "100.00" }, "ada@example.com"],
      ]);
    }
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "0", onHold: "60000" });

    // Still pending at PayPal: polling changes nothing.
    await t.cashouts.process();
    for (const id of ids) expect(await statusOf(t, id)).toBe("processing");

    paypal.process();
    await t.cashouts.process();
    for (const id of ids) {
      const cashout = await cashoutOf(t, id);
      expect(cashout.status).toBe("paid");
      expect(cashout.railRef).toBe(paypal.itemsOf(id)[0]!.transaction_id);
    }
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "0", onHold: "0" });
    // One OAuth2 token served every call: it is cached until it expires.
    expect(paypal.tokensIssued()).toBe(1);
    await expectBalanced(p!);
    expect(await reconciliation(t)).toMatchObject({ ok: true, cashoutsChecked: 3, railRecordsChecked: 3 });
  });

  it("refuses to resolve a cash-out whose batch PayPal never answered, which the job posts again", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const [first, second] = [await cashOut(t, method), await cashOut(t, method)];
    // The batch of both is recorded; its post never reaches PayPal.
    paypal.faultNext("POST", "/v1/payments/payouts", {
      kind: "fail",
      status: 503,
      body: { name: "INTERNAL_SERVICE_ERROR", message: "An internal service error occurred.", links: [] },
    });
    await t.cashouts.process();
    expect(paypal.batches.size).toBe(0);
    expect(await statusOf(t, first)).toBe("processing");
    // A day on, an operator finds nothing at PayPal. Resolved failed, the first would have its
    // diamonds back and then be paid anyway when the next pass posts the batch again.
    await setClock(t, new Date(t.clock.now() + 25 * 3_600_000).toISOString());
    const resolve = await t.inject(
      "POST",
      `/v1/admin/cashouts/${first}/resolve`,
      { outcome: "failed", reason: "nothing at PayPal" },
      { "idempotency-key": newKey() },
    );
    expect(resolve.statusCode, resolve.body).toBe(409);
    expect(resolve.json().code).toBe("cashout_state_conflict");
    expect(await statusOf(t, first)).toBe("processing");
    // PayPal back: the batch is posted again, and each is paid once.
    await t.cashouts.process();
    paypal.process();
    await t.cashouts.process();
    expect([await statusOf(t, first), await statusOf(t, second)]).toEqual(["paid", "paid"]);
    expect(paypal.itemsOf(first)).toHaveLength(1);
    await expectBalanced(p!);
  });

  it("asks for a new token when PayPal no longer accepts the cached one", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t));
    await t.cashouts.process();
    paypal.expireTokens();
    paypal.process();
    await t.cashouts.process();
    expect(await statusOf(t, id)).toBe("paid");
    expect(paypal.tokensIssued()).toBe(2);
  });

  it("fails an item PayPal fails or blocks, and gives the diamonds back", async () => {
    const { t, paypal } = await ready(2);
    const failing = await cashOut(t, await linkPaypal(t, "fail@example.com"));
    const blocked = await cashOut(t, await linkPaypal(t, "blocked@example.com"));
    await t.cashouts.process();
    paypal.process();
    await t.cashouts.process();
    expect(await cashoutOf(t, failing)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("RECEIVER_ACCOUNT_LOCKED"),
    });
    expect(await statusOf(t, blocked)).toBe("failed");
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "40000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("fails the whole batch when PayPal refuses it as invalid, paying nothing", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t));
    paypal.faultNext("POST", "/v1/payments/payouts", {
      kind: "fail",
      status: 400,
      body: {
        name: "VALIDATION_ERROR",
        message: "Invalid request - see details.",
        debug_id: "b3f2a1c0d9e8f",
        details: [{ field: "items[0].receiver", location: "body", issue: "RECEIVER_INVALID" }],
        links: [],
      },
    });
    await t.cashouts.process();
    expect(await cashoutOf(t, id)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("VALIDATION_ERROR"),
    });
    expect(paypal.batches.size).toBe(0);
    expect((await wallet(t)).diamonds.withdrawable).toBe("20000");
    // Nothing is posted again for it.
    await t.cashouts.process();
    expect(postsOf(p!)).toHaveLength(1);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("after a timeout, posts the same batch again, and PayPal's duplicate check makes it pay once", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const ids = [await cashOut(t, method), await cashOut(t, method)];
    // PayPal creates the batch, but its answer comes after the rail has stopped waiting.
    paypal.faultNext("POST", "/v1/payments/payouts", { kind: "delay", ms: 1500 });
    await t.cashouts.process();
    for (const id of ids) expect(await statusOf(t, id)).toBe("processing");
    expect(paypal.batches.size).toBe(1);

    await t.cashouts.process();
    const posts = postsOf(p!);
    expect(posts.map((r) => r.status)).toEqual([201, 400]);
    expect(posts[0]!.body).toEqual(posts[1]!.body);
    for (const id of ids) expect(await statusOf(t, id)).toBe("processing");

    paypal.process();
    await t.cashouts.process();
    for (const id of ids) {
      expect(await statusOf(t, id)).toBe("paid");
      expect(paypal.itemsOf(id)).toHaveLength(1);
    }
    expect(paypal.batches.size).toBe(1);
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("retries a batch whose post never reached PayPal, or whose connection dropped, and pays it once", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const first = await cashOut(t, method);
    paypal.faultNext("POST", "/v1/payments/payouts", {
      kind: "fail",
      status: 503,
      body: { name: "INTERNAL_SERVICE_ERROR", message: "An internal service error occurred.", links: [] },
    });
    await t.cashouts.process();
    expect(await statusOf(t, first)).toBe("processing");
    expect(paypal.batches.size).toBe(0);
    await t.cashouts.process();
    expect(paypal.batches.size).toBe(1);

    const second = await cashOut(t, method);
    paypal.faultNext("POST", "/v1/payments/payouts", { kind: "drop" });
    await t.cashouts.process();
    await t.cashouts.process();
    expect(paypal.batches.size).toBe(2);
    paypal.process();
    await t.cashouts.process();
    for (const id of [first, second]) {
      expect(await statusOf(t, id)).toBe("paid");
      expect(paypal.itemsOf(id)).toHaveLength(1);
    }
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("applies a webhook event once, however often it is delivered, and an old one changes nothing", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t));
    await t.cashouts.process();
    const [succeeded] = paypal.process();
    expect(succeeded!.event_type).toBe("PAYMENT.PAYOUTS-ITEM.SUCCEEDED");

    const first = await deliverPaypal(t, paypal, succeeded!);
    expect(first.statusCode, first.body).toBe(200);
    expect(await statusOf(t, id)).toBe("paid");
    const transfers = await transferCount(t);
    for (let i = 0; i < 3; i++) expect((await deliverPaypal(t, paypal, succeeded!)).statusCode).toBe(200);
    expect(await transferCount(t)).toBe(transfers);

    const refunded = paypal.setItemStatus(id, "REFUNDED")!;
    expect((await deliverPaypal(t, paypal, refunded)).statusCode).toBe(200);
    expect(await statusOf(t, id)).toBe("returned");
    const afterReturn = await transferCount(t);
    // The success delivered again, late: a returned cash-out stays returned.
    expect((await deliverPaypal(t, paypal, succeeded!)).statusCode).toBe(200);
    expect((await deliverPaypal(t, paypal, refunded)).statusCode).toBe(200);
    expect(await statusOf(t, id)).toBe("returned");
    expect(await transferCount(t)).toBe(afterReturn);
    await expectBalanced(p!);
  });

  it("refuses a delivery PayPal did not sign with 400, and changes nothing", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t));
    await t.cashouts.process();
    const [succeeded] = paypal.process();
    const transfers = await transferCount(t);
    const refused = [
      await deliverPaypal(t, paypal, succeeded!, { tamper: true }),
      await deliverPaypal(t, paypal, succeeded!, { webhookId: "WH0THERWEBHOOK" }),
    ];
    const { body, headers } = paypal.signedDelivery(succeeded!);
    const { "paypal-transmission-sig": _, ...unsigned } = headers;
    refused.push(
      await t.app.inject({ method: "POST", url: "/v1/webhooks/paypal", headers: unsigned, payload: body }),
    );
    refused.push(
      await t.app.inject({
        method: "POST",
        url: "/v1/webhooks/paypal",
        headers: { ...headers, "paypal-transmission-sig": "bm90IGEgc2lnbmF0dXJl" },
        payload: body,
      }),
    );
    refused.push(
      await t.app.inject({ method: "POST", url: "/v1/webhooks/paypal", headers, payload: "not json" }),
    );
    // Only PayPal's explicit SUCCESS verifies: an answer without it (no verification_status) is
    // not one, even though it is no FAILURE either.
    paypal.faultNext("POST", "/v1/notifications/verify-webhook-signature", {
      kind: "fail",
      status: 200,
      body: {},
    });
    refused.push(await deliverPaypal(t, paypal, succeeded!));
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: "invalid_signature" });
    }
    expect(await statusOf(t, id)).toBe("processing");
    expect(await transferCount(t)).toBe(transfers);
  });

  it("returns an unclaimed payout PayPal sends back after 30 days, with the diamonds", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t, "unclaimed@example.com"));
    await t.cashouts.process();
    const [unclaimed] = paypal.process();
    expect(unclaimed!.resource.transaction_status).toBe("UNCLAIMED");
    expect((await deliverPaypal(t, paypal, unclaimed!)).statusCode).toBe(200);
    // The money has left the platform's PayPal balance: paid, until it comes back.
    expect(await statusOf(t, id)).toBe("paid");
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "0", onHold: "0" });

    const returned = paypal.setItemStatus(id, "RETURNED")!;
    expect(returned.event_type).toBe("PAYMENT.PAYOUTS-ITEM.RETURNED");
    expect((await deliverPaypal(t, paypal, returned)).statusCode).toBe(200);
    expect(await cashoutOf(t, id)).toMatchObject({
      status: "returned",
      reason: expect.stringContaining("RETURNED"),
    });
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "20000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("finds a return after paying by polling when no webhook comes, and fails a return before paying", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const paid = await cashOut(t, method);
    const early = await cashOut(t, method);
    await t.cashouts.process();
    paypal.setItemStatus(paid, "SUCCESS");
    await t.cashouts.process();
    expect(await statusOf(t, paid)).toBe("paid");
    // Reversed after paying: the job watches paid cash-outs for cashouts.returnsWatchDays.
    paypal.setItemStatus(paid, "REVERSED");
    // Returned while we still saw it pending: it never was paid in our books.
    paypal.setItemStatus(early, "RETURNED");
    await t.cashouts.process();
    expect(await statusOf(t, paid)).toBe("returned");
    expect(await statusOf(t, early)).toBe("failed");
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "40000", onHold: "0" });
    await expectBalanced(p!);
    expect((await reconciliation(t)).ok).toBe(true);
  });

  it("keeps a cash-out processing when PayPal's item pays another currency or amount than it", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const [euros, more] = [await cashOut(t, method), await cashOut(t, method)];
    await t.cashouts.process();
    // What PayPal holds is not what the cash-outs asked for (the same figure in another currency,
    // and ten times the amount): neither may settle on it.
    paypal.itemsOf(euros)[0]!.payout_item.amount.currency = "EUR";
    paypal.itemsOf(more)[0]!.payout_item.amount.value = "1000.00";
    paypal.process();
    await t.cashouts.process();
    expect([await statusOf(t, euros), await statusOf(t, more)]).toEqual(["processing", "processing"]);
    expect((await wallet(t)).diamonds).toMatchObject({ withdrawable: "0", onHold: "40000" });
    await expectBalanced(p!);
  });

  it("acknowledges a payout batch event, which is not an item's, and changes nothing", async () => {
    const { t, paypal } = await ready();
    const id = await cashOut(t, await linkPaypal(t));
    await t.cashouts.process();
    paypal.process();
    const [batch] = [...paypal.batches.values()];
    // PAYMENT.PAYOUTSBATCH.SUCCESS: its resource is the batch (a batch_header), not a payout item.
    const batchEvent = {
      id: "WH-BATCH-0001",
      event_version: "1.0",
      create_time: new Date(t.clock.now()).toISOString(),
      resource_type: "payouts",
      event_type: "PAYMENT.PAYOUTSBATCH.SUCCESS",
      summary: "Payouts batch completed successfully.",
      resource: {
        batch_header: {
          payout_batch_id: batch!.payout_batch_id,
          batch_status: "SUCCESS",
          sender_batch_header: batch!.sender_batch_header,
          amount: { currency: "USD", value: "100.00" },
        },
        links: [],
      },
      links: [],
    } as unknown as PaypalEvent;
    const transfers = await transferCount(t);
    const res = await deliverPaypal(t, paypal, batchEvent);
    expect(res.statusCode, res.body).toBe(200);
    expect(await statusOf(t, id)).toBe("processing");
    expect(await transferCount(t)).toBe(transfers);
  });

  it("reads every page of a batch larger than one page of PayPal's answer", async () => {
    p = await openPayoutsApp();
    const { t, paypal } = p;
    const rail = openPayoutRails({
      runtime: t.runtime,
      clock: t.clock.now,
      logger: pino({ level: "silent" }),
    }).get("paypal")!;
    const orders: PayoutOrder[] = Array.from({ length: paypalPageSizeMax + 1 }, (_, i) => ({
      cashoutId: `co_page_${String(i).padStart(4, "0")}`,
      userId: "creator",
      currency: "USD",
      netMinor: 100n + BigInt(i),
      destination: { type: "paypal", email: `r${i}@example.com` },
    }));
    const posted = await rail.submitBatch!(orders);
    expect(paypal.batches.size).toBe(1);
    expect([...posted.values()].every((s) => s.status === "processing")).toBe(true);
    paypal.process();
    const read = await rail.submitBatch!(orders);
    expect(read.size).toBe(orders.length);
    expect([...read.values()].filter((s) => s.status === "paid")).toHaveLength(orders.length);
    const records = await rail.records!(0);
    expect(records).toHaveLength(orders.length);
    expect(records.reduce((sum, r) => sum + r.netMinor, 0n)).toBe(
      orders.reduce((sum, o) => sum + o.netMinor, 0n),
    );
  });

  it("giftstream reconcile payouts exits 0 when PayPal agrees, and 1 naming each difference", async () => {
    const { t, paypal } = await ready(2);
    const method = await linkPaypal(t);
    const a = await cashOut(t, method);
    const b = await cashOut(t, method);
    await t.cashouts.process();
    paypal.process();
    await t.cashouts.process();
    const configPath = join(t.dir, "giftstream.json");
    writeFileSync(
      configPath,
      JSON.stringify({
        payouts: {
          paypal: { clientId: paypal.clientId, clientSecret: paypal.clientSecret, apiUrl: paypal.url },
        },
      }),
    );
    // Asynchronously: the PayPal stand-in it calls runs in this very process.
    const run = async (): Promise<{ status: number; stdout: string; stderr: string }> => {
      const cli = join(import.meta.dirname, "..", "src", "cli", "main.ts");
      const args = ["--import", "tsx", cli, "reconcile", "payouts", "--since", "2027-05-01T00:00:00Z"];
      const env = {
        ...process.env,
        GIFTSTREAM_DATA_DIR: t.dir,
        GIFTSTREAM_CONFIG: configPath,
        LOG_LEVEL: "warn",
      };
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
          env,
          timeout: 60_000,
        });
        return { status: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    };
    const ok = await run();
    expect(ok.stdout, ok.stderr).toContain("reconcile payouts: ok");
    expect(ok.status).toBe(0);

    // PayPal reverses one behind our back: the books say paid, PayPal says returned.
    paypal.setItemStatus(b, "REVERSED");
    const off = await run();
    expect(off.status, off.stderr).toBe(1);
    expect(off.stdout).toContain(`DIFFERENCE status_mismatch rail=paypal cashout=${b}`);
    expect(off.stdout).not.toContain(`cashout=${a}`);
    expect(off.stdout).toContain("reconcile payouts: FAILED");
    expect((await reconciliation(t)).differences).toMatchObject([{ kind: "status_mismatch", cashoutId: b }]);
  });
});
