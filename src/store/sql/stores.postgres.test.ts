import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ApiKey } from "../../access/api-keys.js";
import type { EconomyDocument } from "../../economy/config/document.js";
import { type Purchase, purchaseDocument } from "../../economy/purchases/purchase.js";
import type { User } from "../../economy/users/user.js";
import type { JsonObject, StoreEffect } from "../../ledger/types.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { SqlAccessStore } from "./access-store.js";
import { SqlActivityStore } from "./activity-store.js";
import { SqlEconomyStore } from "./economy-store.js";
import { statementsFor } from "./effects.js";
import {
  expectLeaderboardsAsReference,
  type GiftRow,
  insertGifts,
  plainGift,
  randomGifts,
  referenceStreaks,
  sortedStreaks,
} from "./gift-rows.testkit.js";
import { SqlLiveStore } from "./live-store.js";
import { SqlPurchaseStore } from "./purchase-store.js";
import { SqlReportStore } from "./report-store.js";
import type { Statement } from "./sql-db.js";
import { SqlUserStore } from "./user-store.js";

/**
 * Each store written against SqlDb, run once on PostgreSQL, so that SQL only SQLite understands
 * fails here: every read and write, the aggregates (numeric sums) and the live feed's window query.
 * Their behaviour in depth is tested on SQLite (live-store.test.ts, test/*.test.ts).
 */
const available = await requirePostgres();

let db: PostgresLedgerStore;
let drop: (() => Promise<void>) | undefined;

function purchase(over: Partial<Purchase> & Pick<Purchase, "id">): Purchase {
  return {
    userId: "u1",
    packId: "pack_100",
    coins: 100n,
    priceMinor: 99n,
    currency: "USD",
    provider: "test",
    status: "completed",
    providerRef: `cs_${over.id}`,
    paymentRef: `pi_${over.id}`,
    checkoutUrl: null,
    economyVersion: "ev_1",
    channel: "web",
    country: "US",
    refundedCoins: 0n,
    refundedMinor: 0n,
    chargedBackMinor: 0n,
    disputeId: null,
    chargebackKey: null,
    chargebacks: 0,
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

function effect(type: string, data: object): StoreEffect {
  return { type, data: data as JsonObject };
}

describe.skipIf(!available)("the SQL stores on PostgreSQL", () => {
  beforeEach(async () => {
    const created = await createTestSchema();
    drop = created.drop;
    db = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema: created.schema });
  });

  afterEach(async () => {
    await db?.close();
    await drop?.();
  });

  it("keeps operator keys and the audit log", async () => {
    const access = new SqlAccessStore(db);
    const key = (id: string, scopes: ApiKey["scopes"], createdAt: number): ApiKey => ({
      id,
      name: `Key ${id}`,
      scopes,
      prefix: `gs_${id}`,
      createdAt,
      revokedAt: null,
    });
    const created = (k: ApiKey) => ({
      actor: "x",
      action: "api_key.create",
      target: k.id,
      before: null,
      after: k,
      at: k.createdAt,
    });
    const insert = (k: ApiKey) => access.insertKey(k, `hash_${k.id}`, created(k));
    const revoked = (at: number) => (before: ApiKey, after: ApiKey) => ({
      actor: "x",
      action: "api_key.revoke",
      target: before.id,
      before,
      after,
      at,
    });
    await insert(key("a", ["admin"], 1000));
    await insert(key("b", ["server"], 2000));
    expect(await access.findKeyByHash("hash_a")).toEqual(key("a", ["admin"], 1000));
    expect(await access.findKeyByHash("nope")).toBeUndefined();
    expect(await access.getKey("b")).toEqual(key("b", ["server"], 2000));
    expect((await access.listKeys()).map((k) => k.id)).toEqual(["a", "b"]);
    expect(await access.countActiveKeys()).toBe(2);

    expect(await access.revokeKey("a", 3000, revoked(3000))).toBe("last_admin");
    await insert(key("c", ["admin", "server"], 2500));
    expect(await access.revokeKey("a", 3000, revoked(3000))).toBe("revoked");
    expect(await access.revokeKey("a", 3001, revoked(3001))).toBe("not_found");
    expect(await access.revokeKey("missing", 3001, revoked(3001))).toBe("not_found");
    expect(await access.getKey("a")).toMatchObject({ revokedAt: 3000 });
    expect(await access.countActiveKeys()).toBe(2);
    expect(await access.revokeKey("c", 3002, revoked(3002))).toBe("last_admin");
    expect(await access.revokeKey("b", 3002, revoked(3002))).toBe("revoked");
    // Each key's creation, and only the revocations that took place, in the audit log, with the
    // key before and after (the typed PostgreSQL statement writes them as the plain insert does).
    const entries = await access.listAudit(null, 10);
    expect(entries.map((e) => `${e.action} ${e.target} ${e.at}`)).toEqual([
      "api_key.revoke b 3002",
      "api_key.revoke a 3000",
      "api_key.create c 2500",
      "api_key.create b 2000",
      "api_key.create a 1000",
    ]);
    expect(entries[1]).toMatchObject({
      before: { id: "a", revokedAt: null },
      after: { id: "a", revokedAt: 3000 },
    });

    for (let i = 1; i <= 3; i++) {
      await access.appendAudit({
        actor: "a",
        action: `act.${i}`,
        target: `t${i}`,
        before: i === 1 ? undefined : { n: i - 1 },
        after: { n: i },
        at: 4000 + i,
      });
    }
    const newest = await access.listAudit(null, 2);
    expect(newest.map((e) => e.action)).toEqual(["act.3", "act.2"]);
    expect(newest[0]).toMatchObject({
      actor: "a",
      target: "t3",
      before: { n: 2 },
      after: { n: 3 },
      at: 4003,
    });
    expect(typeof newest[0]!.id).toBe("bigint");
    const older = await access.listAudit(newest[1]!.id, 10);
    expect(older).toHaveLength(6);
    expect(older.slice(0, 1)).toEqual([
      {
        id: older[0]!.id,
        actor: "a",
        action: "act.1",
        target: "t1",
        before: null,
        after: { n: 1 },
        at: 4001,
      },
    ]);
  });

  it("keeps users, their status with its effects, their activity and the economy versions", async () => {
    const users = new SqlUserStore(db);
    const user: User = {
      id: "u1",
      country: "US",
      birthDate: "1990-01-01",
      birthDateVerified: false,
      displayName: "You One",
      status: "active",
      statusReason: null,
      createdAt: 1000,
      updatedAt: 1000,
    };
    await users.putUser(user);
    expect(await users.getUser("u1")).toEqual(user);
    expect(await users.getUser("u2")).toBeUndefined();

    // A verified birth date is kept when the app puts the user again.
    await db.execute([{ sql: "UPDATE users SET birth_date_verified = 1 WHERE id = ?", params: ["u1"] }]);
    await users.putUser({ ...user, birthDate: "2001-01-01", displayName: "Renamed", updatedAt: 2000 });
    expect(await users.getUser("u1")).toEqual({
      ...user,
      birthDateVerified: true,
      displayName: "Renamed",
      updatedAt: 2000,
    });

    const activity = (at: number) => ({
      userId: "u1",
      kind: "coins.bought",
      at,
      amounts: { coins: "100" },
      counterparty: null,
      context: null,
    });
    await users.setStatus("u1", "restricted", "fraud review", 3000, [
      effect("activity.record", activity(3000)),
      effect("activity.record", activity(3001)),
    ]);
    expect(await users.getUser("u1")).toMatchObject({
      status: "restricted",
      statusReason: "fraud review",
      updatedAt: 3000,
    });
    await users.setStatus("u1", "active", null, 4000);
    expect(await users.getUser("u1")).toMatchObject({ status: "active", statusReason: null });

    const history = new SqlActivityStore(db);
    const page = await history.list("u1", null, 1);
    expect(page).toEqual([{ ...activity(3001), id: page[0]!.id, position: page[0]!.position }]);
    const rest = await history.list("u1", page[0]!.position, 10);
    expect(rest.map((a) => a.at)).toEqual([3000]);
    expect(await history.list("u2", null, 10)).toEqual([]);

    const economy = new SqlEconomyStore(db);
    const document = (name: string) => ({ name }) as unknown as EconomyDocument;
    const scheduled = (id: string) => ({
      actor: "a",
      action: "economy.schedule",
      target: id,
      before: null,
      after: null,
      at: 0,
    });
    await economy.insertVersion(
      { id: "ev_2", effectiveAt: 5000, document: document("two"), createdAt: 2 },
      scheduled("ev_2"),
    );
    await economy.insertVersion(
      { id: "ev_1", effectiveAt: 1000, document: document("one"), createdAt: 1 },
      scheduled("ev_1"),
    );
    expect(await economy.listVersions()).toEqual([
      { id: "ev_1", effectiveAt: 1000, document: { name: "one" }, createdAt: 1 },
      { id: "ev_2", effectiveAt: 5000, document: { name: "two" }, createdAt: 2 },
    ]);
  });

  it("reads purchases and provider events, and reports sales and outstanding coins", async () => {
    const purchases = [
      purchase({ id: "pur_a", createdAt: 1000, refundedMinor: 40n, refundedCoins: 40n }),
      purchase({ id: "pur_b", createdAt: 2000, status: "refunded", refundedMinor: 99n, refundedCoins: 100n }),
      purchase({ id: "pur_c", createdAt: 2000, currency: "EUR", priceMinor: 90n, coins: 120n }),
      purchase({ id: "pur_d", createdAt: 3000, status: "pending", paymentRef: null }),
      purchase({ id: "pur_e", userId: "u2", createdAt: 9000 }),
      // Refunded in part, then disputed in part: 39 of its money kept, for none of its coins.
      purchase({
        id: "pur_f",
        userId: "u3",
        createdAt: 4000,
        status: "disputed",
        refundedMinor: 40n,
        refundedCoins: 40n,
        chargedBackMinor: 20n,
      }),
    ];
    await db.execute(
      purchases.flatMap((p) => statementsFor(effect("purchase.upsert", purchaseDocument(p)), db.dialect)),
    );
    await db.execute(
      statementsFor(
        effect("provider_event.record", { provider: "test", eventId: "evt_1", type: "paid", at: 1 }),
        db.dialect,
      ),
    );

    const store = new SqlPurchaseStore(db);
    expect(await store.getPurchase("pur_a")).toEqual(purchases[0]);
    expect(await store.getPurchase("nope")).toBeUndefined();
    expect(await store.findByPaymentRef("test", "pi_pur_c")).toEqual(purchases[2]);
    expect(await store.findByPaymentRef("stripe", "pi_pur_c")).toBeUndefined();
    expect((await store.listByUser("u1", null, 10)).map((p) => p.id)).toEqual([
      "pur_d",
      "pur_c",
      "pur_b",
      "pur_a",
    ]);
    expect((await store.listByUser("u1", { createdAt: 2000, id: "pur_c" }, 2)).map((p) => p.id)).toEqual([
      "pur_b",
      "pur_a",
    ]);
    expect(await store.hasEvent("test", "evt_1")).toBe(true);
    expect(await store.hasEvent("test", "evt_2")).toBe(false);

    const report = new SqlReportStore(db);
    // netCoins: what the money kept still stands for, less refunded coins; netMinor: that money,
    // none of a disputed purchase's.
    const sale = (
      currency: string,
      coins: bigint,
      revenueMinor: bigint,
      refundedMinor: bigint,
      netCoins: bigint,
      netMinor: bigint,
      chargedBackMinor = 0n,
    ) => ({
      currency,
      economyVersion: "ev_1",
      coins,
      revenueMinor,
      refundedMinor,
      chargedBackMinor,
      netCoins,
      netMinor,
    });
    expect(await report.sales(0, 5000)).toEqual([
      sale("EUR", 120n, 90n, 0n, 120n, 90n),
      sale("USD", 300n, 297n, 179n, 60n, 59n, 20n),
    ]);
    expect(await report.sales(1500, 2500)).toEqual([
      sale("EUR", 120n, 90n, 0n, 120n, 90n),
      sale("USD", 100n, 99n, 99n, 0n, 0n),
    ]);
    expect(await report.sales(10_000, 20_000)).toEqual([]);

    expect(await report.bonusCoinsOutstanding()).toBe(0n);
    expect(await report.coinsOutstanding()).toEqual([]);
    const account = (id: string, debits: bigint, credits: bigint): Statement => ({
      sql: `INSERT INTO accounts (id, unit, flags, debits_posted, credits_posted, debits_pending, credits_pending, created_at)
            VALUES (?, 'coin', 0, ?, ?, 0, 0, 0)`,
      params: [id, debits, credits],
    });
    await db.execute([
      account("user:u1:coins:paid:pur_a", 10n, 100n),
      account("user:u1:coins:paid:pur_c", 0n, 120n),
      account("user:u2:coins:paid:pur_e", 100n, 100n),
      account("user:u1:coins:bonus", 5n, 30n),
      account("user:u2:coins:bonus", 0n, 2n ** 62n),
      account("user:u1:coins:earned", 0n, 7n),
    ]);
    expect(await report.coinsOutstanding()).toEqual([
      { currency: "EUR", coins: 120n },
      { currency: "USD", coins: 90n },
    ]);
    // Past 2^63 as a sum: exact, as PostgreSQL's numeric is.
    await db.execute([account("user:u3:coins:bonus", 0n, 2n ** 62n)]);
    expect(await report.bonusCoinsOutstanding()).toBe(25n + 2n ** 63n);
  });

  it("reports gifts in a window and the diamonds outstanding", async () => {
    const rows = randomGifts(200, 4);
    await insertGifts(db, rows);
    // One lot matured early and partly reversed.
    await db.execute([
      {
        sql: "UPDATE gifts SET status = 'matured', reversed_diamonds = 1 WHERE id = ?",
        params: [rows[199]!.id],
      },
    ]);
    const report = new SqlReportStore(db);
    const [from, to] = [rows[50]!.at, rows[150]!.at];
    const inWindow = rows.filter((r) => r.at >= from && r.at < to);
    const bySource = <T extends { source: string }>(a: T, b: T) => a.source.localeCompare(b.source);
    const sum = (list: GiftRow[], f: (r: GiftRow) => number) => BigInt(list.reduce((n, r) => n + f(r), 0));
    expect((await report.giftsIn(from, to)).sort(bySource)).toEqual(
      (["live", "video"] as const).map((source) => {
        const of = inWindow.filter((r) => r.source === source);
        return {
          source,
          coins: sum(of, (r) => r.coins),
          diamonds: sum(of, (r) => r.coins * 2),
          valueUsd: "0.005",
          commissionRate: "0.5",
        };
      }),
    );

    const now = rows[100]!.at;
    const held = await report.diamondsOutstanding(now);
    const expected = (["live", "video"] as const).flatMap((source) =>
      [false, true].map((withdrawable) => {
        const of = rows.filter((r, i) => r.source === source && (r.at <= now || i === 199) === withdrawable);
        const reversed = of.some((r) => r === rows[199]) ? 1n : 0n;
        return {
          source,
          withdrawable,
          diamonds: sum(of, (r) => r.coins * 2) - reversed,
          valueUsd: "0.005",
          commissionRate: "0.5",
        };
      }),
    );
    const order = (a: (typeof held)[number], b: (typeof held)[number]) =>
      a.source === b.source ? Number(a.withdrawable) - Number(b.withdrawable) : bySource(a, b);
    expect(held.sort(order)).toEqual(expected.filter((e) => e.diamonds > 0n).sort(order));
  });

  it("ranks leaderboards by coins then user id", async () => {
    await expectLeaderboardsAsReference(db, 300);
  });

  it("reads the live feed in rowid order and folds streaks in SQL as the TypeScript rule does", async () => {
    const live = new SqlLiveStore(db);
    expect(await live.headSeq()).toBe(0n);
    const rows = randomGifts(300, 2);
    await insertGifts(db, rows.slice(0, 150));
    await insertGifts(db, rows.slice(150));
    expect(await live.headSeq()).toBe(300n);
    const withSeq = rows.map((r, i) => ({ ...r, seq: BigInt(i + 1) }));
    const liveRows = withSeq.filter((r) => r.source === "live");

    const after = await live.liveAfter(100n, 1000);
    expect(after.map((g) => g.seq)).toEqual(liveRows.filter((r) => r.seq > 100n).map((r) => r.seq));
    const first = liveRows.find((r) => r.seq > 100n)!;
    expect(after[0]).toEqual({
      seq: first.seq,
      id: first.id,
      streamId: first.context,
      senderId: first.sender,
      recipientId: first.recipient,
      giftId: first.gift,
      quantity: first.quantity,
      coins: BigInt(first.coins),
      diamonds: BigInt(first.coins * 2),
      createdAt: first.at,
    });
    expect((await live.liveAfter(0n, 7)).length).toBe(7);
    expect((await live.streamLatest("s1", 200n, 5)).map((g) => g.seq)).toEqual(
      liveRows
        .filter((r) => r.context === "s1" && r.seq <= 200n)
        .slice(-5)
        .map((r) => r.seq),
    );

    for (const windowMs of [0, 3000, 60_000]) {
      for (const before of [1n, 250n, 301n]) {
        const got = await live.periodStreaks("s2", { fromMs: 0, toMs: 10 ** 13 }, before, windowMs);
        const reference = referenceStreaks(
          liveRows.filter((r) => r.context === "s2" && r.seq < before),
          windowMs,
        );
        expect(sortedStreaks(got), `window ${windowMs}, before ${before}`).toEqual(sortedStreaks(reference));
      }
    }
  });

  it("finds a stream's newest gifts near the head and far behind it, across gaps in rowid", async () => {
    const row = plainGift;
    await insertGifts(
      db,
      Array.from({ length: 10 }, (_, i) => row(i, "quiet")),
    );
    // A gap, as rolled-back inserts leave on PostgreSQL, wider than the stretch read near the head.
    await db.all("SELECT setval(pg_get_serial_sequence('gifts', 'rowid'), 30000)");
    await insertGifts(
      db,
      Array.from({ length: 100 }, (_, i) => row(100 + i, i % 2 === 0 ? "busy" : "other")),
    );
    const live = new SqlLiveStore(db);
    const head = await live.headSeq();
    expect(head).toBe(30_100n);
    expect((await live.streamLatest("busy", head, 3)).map((g) => g.id)).toEqual([
      "gft_194",
      "gft_196",
      "gft_198",
    ]);
    expect((await live.streamLatest("quiet", head, 3)).map((g) => g.id)).toEqual(["gft_7", "gft_8", "gft_9"]);
    expect((await live.streamLatest("quiet", head, 100)).length).toBe(10);
    expect((await live.streamLatest("quiet", 5n, 100)).map((g) => g.seq)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect((await live.liveAfter(10n, 1)).map((g) => g.seq)).toEqual([30_001n]);
  });
});
