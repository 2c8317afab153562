import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HistoryEntry, HistorySource } from "../../economy/history/activity.js";
import { historyCursorOf, historyPositionOf } from "../../economy/history/cursor.js";
import type { JsonObject } from "../../ledger/types.js";
import { openTestPostgresStore, requirePostgres } from "../postgres/postgres.testkit.js";
import { SqliteStore } from "../sqlite/sqlite-store.js";
import { SqlActivityStore } from "./activity-store.js";
import { statementsFor } from "./effects.js";
import { insertGifts } from "./gift-rows.testkit.js";
import type { SqlDb, Statement } from "./sql-db.js";

/**
 * A user's history merges three sources (activity rows, gifts sent, gifts received) into one
 * newest-first order. Random histories with many entries in one millisecond, read back in pages
 * of random sizes, must give exactly the reference order: every entry once, nothing of another
 * user's, and no gift recorded before gift history moved to the gift rows (its entries are
 * activity rows already).
 */
const available = await requirePostgres();

interface Item {
  /** Whose: the user under test, or someone else. */
  mine: boolean;
  kind: "activity" | "sent" | "received" | "old_gift";
  at: number;
  giftId: string;
}

const items = fc.uniqueArray(
  fc.record({
    mine: fc.boolean(),
    kind: fc.constantFrom("activity", "sent", "received", "old_gift"),
    // Few milliseconds, so that many entries share one.
    at: fc.integer({ min: 0, max: 6 }),
    giftId: fc.stringMatching(/^gft_[A-Za-z0-9_-]{1,6}$/),
  }) as fc.Arbitrary<Item>,
  { selector: (item) => item.giftId, maxLength: 40 },
);

let run = 0;

async function expectHistoryAsReference(db: SqlDb): Promise<void> {
  const history = new SqlActivityStore(db);
  await fc.assert(
    fc.asyncProperty(
      items,
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }),
      async (generated, sizes) => {
        let list = generated;
        const user = `u${++run}`;
        const other = `o${run}`;
        // Gift ids are unique across runs on one database.
        list = list.map((item) => ({ ...item, giftId: `${item.giftId}-r${run}` }));
        const statements: Statement[] = [];
        const expected: { at: number; source: number; key: string | bigint; kind: string; ref: string }[] =
          [];
        for (const item of list) {
          const owner = item.mine ? user : other;
          if (item.kind === "activity") {
            const data = activityOf(owner, item);
            statements.push(...statementsFor({ type: "activity.record", data }, db.dialect));
            continue;
          }
          if (item.kind === "old_gift") continue;
          const [sender, recipient] = item.kind === "sent" ? [owner, `c${run}`] : [`v${run}`, owner];
          statements.push(
            ...statementsFor({ type: "gift.record", data: giftOf(item, sender, recipient) }, db.dialect),
          );
          if (item.mine) {
            const source = item.kind === "sent" ? HistorySource.giftSent : HistorySource.giftReceived;
            expected.push({
              at: item.at,
              source,
              key: item.giftId,
              kind: `gift_${item.kind}`,
              ref: item.giftId,
            });
          }
        }
        await db.execute(statements);
        // Gifts of before the change, with no context type: their entries are activity rows.
        await insertGifts(
          db,
          list
            .filter((item) => item.kind === "old_gift")
            .map((item) => ({
              id: item.giftId,
              sender: item.mine ? user : other,
              recipient: item.mine ? `c${run}` : user,
              gift: "rose",
              quantity: 1,
              coins: 1,
              source: "live",
              context: "s1",
              at: item.at,
            })),
        );
        // Activity ids are drawn at insert: read them back for the reference order.
        const ids = await db.all("SELECT id, data FROM activity WHERE user_id = ? ORDER BY id", [user]);
        for (const row of ids) {
          const data = JSON.parse(row.data as string) as { at: number; ref: string };
          expected.push({
            at: data.at,
            source: HistorySource.activity,
            key: BigInt(row.id as bigint),
            kind: "bonus",
            ref: data.ref,
          });
        }
        expected.sort(
          (a, b) => b.at - a.at || b.source - a.source || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0),
        );

        const read: HistoryEntry[] = [];
        let before = null;
        for (let page = 0; page < 100; page++) {
          const limit = sizes[page % sizes.length]!;
          const rows = await history.list(user, before, limit);
          expect(rows.length).toBeLessThanOrEqual(limit);
          read.push(...rows);
          if (rows.length < limit) break;
          // Through the cursor text, as a client would send it back.
          before = historyPositionOf(historyCursorOf(rows.at(-1)!.position));
        }
        expect(read.map((e) => [e.at, e.kind, e.ref])).toEqual(expected.map((e) => [e.at, e.kind, e.ref]));
        for (const entry of read) {
          expect(entry.userId).toBe(user);
          if (entry.kind === "gift_sent") {
            expect(entry).toMatchObject({ id: entry.ref, counterparty: `c${run}`, amounts: { coins: "30" } });
            expect(entry.context).toEqual({ type: "video", id: "vid 1" });
          }
          if (entry.kind === "gift_received") {
            expect(entry).toMatchObject({
              id: entry.ref,
              counterparty: `v${run}`,
              amounts: { diamonds: "15" },
            });
            expect(entry.economyVersion).toBe("ev_1");
          }
        }
      },
    ),
    { numRuns: 60 },
  );
}

function activityOf(userId: string, item: Item): JsonObject {
  return {
    userId,
    kind: "bonus",
    at: item.at,
    amounts: { coins: "5" },
    counterparty: null,
    context: null,
    economyVersion: null,
    ref: `a-${item.giftId}`,
  };
}

function giftOf(item: Item, senderId: string, recipientId: string): JsonObject {
  return {
    id: item.giftId,
    senderId,
    recipientId,
    giftId: "rose",
    quantity: 3,
    coins: "30",
    diamonds: "15",
    source: "paid",
    contextType: "video",
    contextId: "vid 1",
    valueUsd: "0.005",
    commissionRate: "0.5",
    economyVersion: "ev_1",
    createdAt: item.at,
    maturesAt: item.at + 1000,
  };
}

describe("SqlActivityStore on SQLite", () => {
  let dir: string;
  let store: SqliteStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-history-"));
    store = new SqliteStore({ path: join(dir, "history.db") });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("merges activity rows and gift rows into one newest-first order, page by page", async () => {
    await expectHistoryAsReference(store);
  });
});

describe.skipIf(!available)("SqlActivityStore on PostgreSQL", () => {
  let opened: Awaited<ReturnType<typeof openTestPostgresStore>>;
  beforeAll(async () => {
    opened = await openTestPostgresStore();
  });
  afterAll(async () => {
    await opened.dispose();
  });

  it("merges activity rows and gift rows into one newest-first order, page by page", async () => {
    await expectHistoryAsReference(opened.store);
  });
});
