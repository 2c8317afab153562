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

describe("webhook deliveries on SQLite", () => {
  it("never gives a purged delivery's id to a new one", async () => {
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
