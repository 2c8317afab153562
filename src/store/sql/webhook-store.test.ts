import { afterEach, describe, expect, it } from "vitest";
import { outboxEffect, outboxEvent } from "../../economy/events/events.js";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import type { JsonObject } from "../../ledger/types.js";
import { statementsFor } from "./effects.js";
import { SqlWebhookStore } from "./webhook-store.js";

let t: TestLedger | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

async function openWithEndpoint() {
  t = openTestLedger();
  const db = t.store;
  const store = new SqlWebhookStore(db);
  await store.insertEndpoint(
    {
      id: "we_1",
      url: "https://example.com/hook",
      events: ["*"],
      description: null,
      secretPrefix: "whsec_0123",
      createdAt: 1,
      deletedAt: null,
    },
    "whsec_0123456789",
    10,
    { actor: "t", action: "webhook_endpoint.create", target: "we_1", before: null, after: null, at: 1 },
  );
  return { db, store };
}

describe("webhook deliveries on SQLite", () => {
  it("shows the last attempts of a delivery, oldest first; deleting the endpoint cancels only what is pending", async () => {
    const { db, store } = await openWithEndpoint();
    await db.execute(
      statementsFor(
        outboxEffect([
          outboxEvent("gift.sent", "g1", 1000, { id: "gft_1" } as JsonObject),
          outboxEvent("gift.sent", "g2", 1000, { id: "gft_2" } as JsonObject),
        ]),
        "sqlite",
      ),
    );
    const [retried, done] = await store.listDue(1000, 10);
    // Three failed attempts of one, each due again; the other delivered at its first.
    for (const at of [2000, 3000, 4000]) {
      await store.recordAttempts([
        {
          deliveryId: retried!.id,
          attempt: { at, statusCode: 500, error: `HTTP 500 at ${at}`, durationMs: 5 },
          status: "pending",
          nextAttemptAt: at + 500,
          windowFrom: 2000,
          requeues: 0,
        },
      ]);
    }
    await store.recordAttempts([
      {
        deliveryId: done!.id,
        attempt: { at: 2000, statusCode: 204, error: null, durationMs: 3 },
        status: "delivered",
        nextAttemptAt: null,
        windowFrom: 2000,
        requeues: 0,
      },
    ]);
    expect((await store.listAttempts(retried!.id, 2)).map((a) => a.at)).toEqual([3000, 4000]);
    expect((await store.listAttempts(retried!.id, 10)).map((a) => a.at)).toEqual([2000, 3000, 4000]);

    expect(
      await store.deleteEndpoint("we_1", 5000, {
        actor: "t",
        action: "webhook_endpoint.delete",
        target: "we_1",
        before: null,
        after: null,
        at: 5000,
      }),
    ).toBe(true);
    expect(await store.getDelivery("we_1", retried!.id)).toMatchObject({
      status: "cancelled",
      nextAttemptAt: null,
    });
    // The delivery log keeps what happened: a delivered event stays delivered.
    expect(await store.getDelivery("we_1", done!.id)).toMatchObject({
      status: "delivered",
      deliveredAt: 2000,
      lastAttempt: { at: 2000, statusCode: 204 },
    });
  });

  it("never gives a purged delivery's id to a new one", async () => {
    const { db, store } = await openWithEndpoint();
    const fanOut = (n: number, at: number) =>
      db.execute(
        statementsFor(
          outboxEffect(
            Array.from({ length: n }, (_, i) =>
              outboxEvent("gift.sent", `g${at}-${i}`, at, { id: `gft_${at}_${i}` } as JsonObject),
            ),
          ),
          "sqlite",
        ),
      );
    await fanOut(3, 1000);
    const ids = async () =>
      (await db.all("SELECT id FROM webhook_deliveries ORDER BY id")).map((r) => r.id as bigint);
    const issued = await ids();
    expect(issued).toHaveLength(3);
    // Every delivery done and past its retention: the purge leaves only the newest.
    await db.execute([{ sql: "UPDATE webhook_deliveries SET status = 'delivered'", params: [] }]);
    await store.purge(10_000, 100);
    expect(await ids()).toEqual([issued[2]]);
    await fanOut(1, 20_000);
    const next = (await ids()).at(-1)!;
    expect(next > issued[2]!).toBe(true);
  });
});
