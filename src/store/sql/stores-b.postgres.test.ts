import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Sealer } from "../../crypto/sealed.js";
import { keyringOf, secretKeyOf } from "../../crypto/secret-key.js";
import { type Cashout, cashoutDocument, type Quote } from "../../economy/cashouts/cashout.js";
import { outboxEffect, outboxEvent } from "../../economy/events/events.js";
import type { KycDocumentInfo } from "../../economy/kyc/document-store.js";
import type { StoredPayoutMethod } from "../../economy/payout-methods/payout-method-store.js";
import type { JsonObject } from "../../ledger/types.js";
import type { WebhookEndpoint } from "../../webhooks/webhook-store.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { expiredQuotesKeptMs, SqlCashoutStore } from "./cashout-store.js";
import { statementsFor } from "./effects.js";
import { SqlKycDocumentStore } from "./kyc-document-store.js";
import { SqlKycStore } from "./kyc-store.js";
import { testPayoutFile, testPayoutLine } from "./payout-file-rows.testkit.js";
import { SqlPayoutFileStore } from "./payout-file-store.js";
import { SqlPayoutMethodStore } from "./payout-method-store.js";
import { SqlPaypalPayoutStore } from "./paypal-store.js";
import { deliveryLeaseMs, SqlWebhookStore } from "./webhook-store.js";

/**
 * The cash-out, identity, payout and webhook stores written against SqlDb, run on PostgreSQL, so
 * that SQL only SQLite understands fails here: every read and write at least once, and the writes
 * that must hold across processes (limits counted then inserted, the claim of due webhook
 * deliveries) raced from two stores on one schema, as two processes would. Their behaviour in
 * depth is tested on SQLite (test/*.test.ts).
 */
const available = await requirePostgres();

let db: PostgresLedgerStore;
/** A second store on the same schema: another process. */
let other: PostgresLedgerStore;
let drop: (() => Promise<void>) | undefined;

async function writeEffect(type: string, data: object): Promise<void> {
  await db.execute(statementsFor({ type, data: data as JsonObject }, "postgres"));
}

function cashout(over: Partial<Cashout> & Pick<Cashout, "id">): Cashout {
  return {
    userId: "u1",
    payoutMethodId: "pm_1",
    rail: "sepa",
    status: "requested",
    diamonds: 1000n,
    currency: "EUR",
    grossMinor: 500n,
    commissionMinor: 100n,
    netMinor: 400n,
    exchangeRate: "0.9",
    limitDay: "2024-01-01",
    holdTransferId: 1n,
    limitTransferId: 2n,
    valuation: [{ diamonds: 1000n, valueUsd: "0.005", commissionRate: "0.2" }],
    reason: null,
    railRef: null,
    quoteId: null,
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

/** An audit entry for a store call; which calls wrote one is what the tests check. */
const audited = (action: string, target: string) => ({
  actor: "t",
  action,
  target,
  before: null,
  after: null,
  at: 0,
});

describe.skipIf(!available)("the cash-out, identity, payout and webhook stores on PostgreSQL", () => {
  beforeEach(async () => {
    const created = await createTestSchema();
    drop = created.drop;
    db = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema: created.schema });
    other = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema: created.schema });
  });

  afterEach(async () => {
    await other?.close();
    await db?.close();
    await drop?.();
  });

  it("pages cash-outs, lists the lots left to cash out, and keeps quotes", async () => {
    const store = new SqlCashoutStore(db);
    await writeEffect("cashout.upsert", cashoutDocument(cashout({ id: "co_a", createdAt: 1000 })));
    await writeEffect(
      "cashout.upsert",
      cashoutDocument(cashout({ id: "co_b", createdAt: 2000, updatedAt: 3000, status: "approved" })),
    );
    await writeEffect(
      "cashout.upsert",
      cashoutDocument(
        cashout({ id: "co_c", userId: "u2", createdAt: 2000, updatedAt: 3000, status: "approved" }),
      ),
    );

    expect(await store.get("co_a")).toEqual(cashout({ id: "co_a" }));
    expect(await store.get("nope")).toBeUndefined();
    expect((await store.listByUser("u1", null, 10)).map((c) => c.id)).toEqual(["co_b", "co_a"]);
    expect((await store.listByUser("u1", { createdAt: 2000, id: "co_b" }, 10)).map((c) => c.id)).toEqual([
      "co_a",
    ]);
    expect((await store.listByStatus(null, null, 2)).map((c) => c.id)).toEqual(["co_c", "co_b"]);
    expect((await store.listByStatus(null, { createdAt: 2000, id: "co_b" }, 5)).map((c) => c.id)).toEqual([
      "co_a",
    ]);
    expect((await store.listByStatus("approved", null, 10)).map((c) => c.id)).toEqual(["co_c", "co_b"]);
    expect((await store.due("approved", 0, null, 1)).map((c) => c.id)).toEqual(["co_b"]);
    expect((await store.due("approved", 0, { updatedAt: 3000, id: "co_b" }, 5)).map((c) => c.id)).toEqual([
      "co_c",
    ]);
    expect(await store.due("approved", 3001, null, 5)).toEqual([]);
    // A cash-out updated at the bound itself is within it (the returns watch starts there).
    expect((await store.due("approved", 3000, null, 5)).map((c) => c.id)).toEqual(["co_b", "co_c"]);

    await db.execute([
      {
        sql: `INSERT INTO gifts (id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, source,
                context_id, value_usd, commission_rate, economy_version, status, created_at, matures_at,
                reversed_diamonds, cashed_diamonds)
              VALUES ('g1', 'v', 'u1', 'rose', 1, 10, 20, 'live', 's', '0.005', '0.5', 'ev_1', 'matured', 1, 1, 0, 5),
                     ('g2', 'v', 'u1', 'rose', 1, 10, 20, 'live', 's', '0.005', '0.5', 'ev_1', 'matured', 2, 2, 20, 0),
                     ('g3', 'v', 'u1', 'rose', 1, 10, 20, 'live', 's', '0.006', '0.5', 'ev_1', 'matured', 3, 3, 0, 0),
                     ('g4', 'v', 'u1', 'rose', 1, 10, 20, 'live', 's', '0.005', '0.5', 'ev_1', 'pending', 4, 9, 0, 0)`,
        params: [],
      },
    ]);
    expect(await store.availableLots("u1", 10)).toEqual([
      { giftId: "g1", diamonds: 15n, valueUsd: "0.005", commissionRate: "0.5" },
      { giftId: "g3", diamonds: 20n, valueUsd: "0.006", commissionRate: "0.5" },
    ]);
    expect(await store.availableLots("u1", 1)).toHaveLength(1);

    const quote = (id: string, createdAt: number): Quote => ({
      id,
      userId: "u1",
      payoutMethodId: null,
      diamonds: 100n,
      currency: "EUR",
      grossMinor: 50n,
      commissionMinor: 10n,
      netMinor: 40n,
      exchangeRate: "0.9",
      capped: false,
      createdAt,
      expiresAt: createdAt + 60_000,
    });
    await store.saveQuote(quote("q_1", 1000));
    expect(await store.getQuote("q_1")).toEqual(quote("q_1", 1000));
    // A later quote keeps an expired one for a day past its expiry (a request naming it is told
    // quote_expired), then sweeps it away.
    await store.saveQuote(quote("q_2", 100_000));
    expect(await store.getQuote("q_1")).toEqual(quote("q_1", 1000));
    // Still kept a whole day past its expiry (61,000), up to the last millisecond of that day.
    await store.saveQuote(quote("q_edge", 61_000 + expiredQuotesKeptMs));
    expect(await store.getQuote("q_1")).toEqual(quote("q_1", 1000));
    const later = 61_000 + expiredQuotesKeptMs + 1;
    await store.saveQuote(quote("q_3", later));
    expect(await store.getQuote("q_1")).toBeUndefined();
    expect(await store.getQuote("q_2")).toEqual(quote("q_2", 100_000));
  });

  it("keeps identity documents and reviews submissions, verifying the birth date", async () => {
    const documents = new SqlKycDocumentStore(db);
    const kyc = new SqlKycStore(db);
    await db.execute([
      {
        sql: `INSERT INTO users (id, country, birth_date, display_name, status, created_at, updated_at)
              VALUES ('u1', 'DE', '2000-01-01', 'One', 'active', 1, 1), ('u2', 'DE', '2000-01-01', 'Two', 'active', 1, 1)`,
        params: [],
      },
    ]);

    const content = randomBytes(64);
    await documents.put({
      id: "doc_1",
      userId: "u1",
      contentType: "image/png",
      sizeBytes: 64,
      content,
      uploadedAt: 10,
    });
    const info: KycDocumentInfo = {
      id: "doc_1",
      userId: "u1",
      contentType: "image/png",
      sizeBytes: 64,
      uploadedAt: 10,
    };
    expect(await documents.info("u1")).toEqual(info);
    const read = await documents.get("u1");
    expect(read).toMatchObject(info);
    expect(Buffer.compare(read!.content as Buffer, content)).toBe(0);
    const replaced = randomBytes(16);
    await documents.put({ ...info, id: "doc_2", sizeBytes: 16, content: replaced, uploadedAt: 20 });
    expect(await documents.info("u1")).toMatchObject({ id: "doc_2", sizeBytes: 16, uploadedAt: 20 });
    expect(await documents.get("u2")).toBeUndefined();
    expect(await documents.info("u2")).toBeUndefined();

    const one = Buffer.from("submission one");
    const two = Buffer.from("submission two");
    expect(await kyc.submit("u1", one, 100)).toBe(true);
    expect(await kyc.submit("u2", one, 200)).toBe(true);
    expect(await kyc.get("u1")).toMatchObject({ status: "pending", submittedAt: 100, reviewedAt: null });
    expect(Buffer.compare((await kyc.get("u1"))!.submission as Buffer, one)).toBe(0);
    expect(await kyc.get("u3")).toBeUndefined();

    const queue = await kyc.list("pending", null, 10);
    expect(queue.map((e) => [e.userId, e.documentUploaded])).toEqual([
      ["u1", true],
      ["u2", false],
    ]);
    expect((await kyc.list("pending", { submittedAt: 100, userId: "u1" }, 10)).map((e) => e.userId)).toEqual([
      "u2",
    ]);

    const reviewed = (action: string, target: string, at: number) => ({
      actor: "admin",
      action,
      target,
      before: { status: "pending" },
      after: { review: at },
      at,
    });
    // A review of a submission, or a document, that is not the one stored changes nothing, and
    // is not audited.
    expect(
      await kyc.approve("u1", two, "doc_2", "1990-05-05", "admin", 300, reviewed("kyc.approve", "u1", 300)),
    ).toBe(false);
    expect(
      await kyc.approve("u1", one, "doc_1", "1990-05-05", "admin", 300, reviewed("kyc.approve", "u1", 300)),
    ).toBe(false);
    expect(await kyc.reject("u1", two, "blurry", "admin", 300, reviewed("kyc.reject", "u1", 300))).toBe(
      false,
    );
    expect(
      await kyc.approve("u1", one, "doc_2", "1990-05-05", "admin", 300, reviewed("kyc.approve", "u1", 300)),
    ).toBe(true);
    expect(await kyc.get("u1")).toMatchObject({ status: "verified", reviewedAt: 300, reviewedBy: "admin" });
    const user = await db.get("SELECT birth_date, birth_date_verified, updated_at FROM users WHERE id = ?", [
      "u1",
    ]);
    expect(user).toEqual({ birth_date: "1990-05-05", birth_date_verified: 1n, updated_at: 300n });
    // Verified stays verified: neither a second approval nor a resubmission.
    expect(
      await kyc.approve("u1", one, "doc_2", "1991-01-01", "admin", 400, reviewed("kyc.approve", "u1", 400)),
    ).toBe(false);
    expect(await kyc.submit("u1", two, 400)).toBe(false);
    // Nor a new document: the verified one is final, even for a write that passed an earlier check.
    expect(await documents.put({ ...info, id: "doc_3", content: replaced, uploadedAt: 400 })).toBe(false);
    expect(await documents.info("u1")).toMatchObject({ id: "doc_2" });
    expect((await db.get("SELECT birth_date FROM users WHERE id = ?", ["u1"]))?.birth_date).toBe(
      "1990-05-05",
    );

    expect(await kyc.reject("u2", one, "blurry", "admin", 500, reviewed("kyc.reject", "u2", 500))).toBe(true);
    expect(await kyc.get("u2")).toMatchObject({
      status: "rejected",
      rejectionReason: "blurry",
      reviewedAt: 500,
    });
    expect((await kyc.list("rejected", null, 10)).map((e) => e.userId)).toEqual(["u2"]);
    expect(await kyc.submit("u2", two, 600)).toBe(true);
    // Only the two reviews that took place are in the audit log, each written with its review.
    const audit = await db.all("SELECT action, target, at FROM audit_log ORDER BY id");
    expect(audit).toEqual([
      { action: "kyc.approve", target: "u1", at: 300n },
      { action: "kyc.reject", target: "u2", at: 500n },
    ]);
    expect(await kyc.get("u2")).toMatchObject({ status: "pending", rejectionReason: null, reviewedAt: null });
  });

  it("links payout methods up to the limit, also when two processes link at once", async () => {
    const store = new SqlPayoutMethodStore(db);
    const elsewhere = new SqlPayoutMethodStore(other);
    const method = (id: string, userId: string, createdAt: number): StoredPayoutMethod => ({
      id,
      userId,
      type: "sepa",
      sealed: randomBytes(32),
      masked: "DE** 1234",
      createdAt,
      deletedAt: null,
    });
    const first = method("pm_1", "u1", 10);
    expect(await store.insert(first, 3)).toBe(true);
    const read = await store.get("pm_1");
    expect(read).toMatchObject({
      id: "pm_1",
      userId: "u1",
      type: "sepa",
      masked: "DE** 1234",
      deletedAt: null,
    });
    expect(Buffer.compare(read!.sealed as Buffer, first.sealed as Buffer)).toBe(0);
    expect(await store.get("nope")).toBeUndefined();

    // Sixteen links race from two processes for the two places left.
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 === 0 ? store : elsewhere).insert(method(`pm_r${i}`, "u1", 20 + i), 3),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(2);
    expect(await store.listActive("u1")).toHaveLength(3);

    expect(await store.markDeleted("u2", "pm_1", 100)).toBe(false);
    expect(await store.markDeleted("u1", "pm_1", 100)).toBe(true);
    expect(await store.markDeleted("u1", "pm_1", 101)).toBe(false);
    expect(await store.get("pm_1")).toMatchObject({ deletedAt: 100 });
    expect((await store.listActive("u1")).map((m) => m.id)).not.toContain("pm_1");
    expect(await store.insert(method("pm_2", "u1", 200), 3)).toBe(true);
    expect(await store.insert(method("pm_3", "u1", 300), 3)).toBe(false);
    expect(await store.insert(method("pm_4", "u2", 300), 3)).toBe(true);
  });

  it("writes bank files and their lines, and moves lines on", async () => {
    const store = new SqlPayoutFileStore(db);
    const file = testPayoutFile;
    const line = testPayoutLine;
    const sealed = randomBytes(40);
    await store.insert(file("pf_a", "ach", 1000), sealed, [
      line("co_1", "pf_a", "ach", 1, 1),
      line("co_2", "pf_a", "ach", 2, 2),
    ]);
    await store.insert(file("pf_b", "ach", 2000), randomBytes(8), [
      line("co_3", "pf_b", "ach", 1, 3),
      line("co_4", "pf_b", "ach", 2, 4),
    ]);
    await store.insert(file("pf_c", "sepa", 2000), randomBytes(8), [
      line("co_5", "pf_c", "sepa", 1, 1),
      line("co_6", "pf_c", "sepa", 2, 2),
    ]);

    expect(await store.get("pf_a")).toEqual(file("pf_a", "ach", 1000));
    expect(await store.get("nope")).toBeUndefined();
    expect(Buffer.compare((await store.sealedContent("pf_a"))!, sealed)).toBe(0);
    expect(await store.sealedContent("nope")).toBeUndefined();
    expect((await store.list(null, null, 10)).map((f) => f.id)).toEqual(["pf_c", "pf_b", "pf_a"]);
    expect((await store.list(null, { createdAt: 2000, id: "pf_c" }, 1)).map((f) => f.id)).toEqual(["pf_b"]);
    expect((await store.list("ach", null, 10)).map((f) => f.id)).toEqual(["pf_b", "pf_a"]);
    expect(await store.lines("pf_a", 0, 10)).toEqual([
      line("co_1", "pf_a", "ach", 1, 1),
      line("co_2", "pf_a", "ach", 2, 2),
    ]);
    expect((await store.lines("pf_a", 1, 10)).map((l) => l.cashoutId)).toEqual(["co_2"]);
    expect(await store.line("co_3")).toEqual(line("co_3", "pf_b", "ach", 1, 3));
    expect(await store.line("nope")).toBeUndefined();
    const found = await store.linesOf(["co_1", "co_6", "nope"]);
    expect([...found.keys()].sort()).toEqual(["co_1", "co_6"]);
    expect((await store.linesSince("ach", 1500)).map((l) => l.cashoutId)).toEqual(["co_3", "co_4"]);
    // A file made at the start of the window is in it.
    expect((await store.linesSince("ach", 2000)).map((l) => l.cashoutId)).toEqual(["co_3", "co_4"]);
    expect(await store.linesSince("ach", 2001)).toEqual([]);
    expect(await store.countCreated("ach", 0, 2000)).toBe(1);
    expect(await store.countCreated("ach", 0, 2001)).toBe(2);
    expect(await store.lastSerial("ach")).toBe(4);
    expect(await store.lastSerial("nacha-none")).toBe(0);
    // A serial its rail already used (as a second process writing a file at once would take it)
    // fails the whole file: none of it is stored. Another rail's serials are its own (pf_c).
    await expect(
      store.insert(file("pf_d", "ach", 3000), randomBytes(8), [
        line("co_7", "pf_d", "ach", 1, 5),
        line("co_8", "pf_d", "ach", 2, 4),
      ]),
    ).rejects.toThrow(/payout_file_lines_serial/);
    expect(await store.get("pf_d")).toBeUndefined();
    expect(await store.line("co_7")).toBeUndefined();
    expect(await store.lastSerial("ach")).toBe(4);

    const paid = { status: "paid" as const, reason: null, paidAt: 3000, returnedAt: null, updatedAt: 3000 };
    expect(await store.updateLine("co_1", "pending", paid)).toBe(true);
    expect(await store.updateLine("co_1", "pending", paid)).toBe(false);
    const returned = {
      status: "returned" as const,
      reason: "R01",
      paidAt: 3000,
      returnedAt: 4000,
      updatedAt: 4000,
    };
    expect(await store.updateLine("co_1", "paid", returned)).toBe(true);
    expect(await store.line("co_1")).toMatchObject({
      status: "returned",
      reason: "R01",
      paidAt: 3000,
      returnedAt: 4000,
    });
    expect(await store.updateLine("co_2", "pending", paid)).toBe(true);
    expect(await store.lineCounts("pf_a")).toEqual({ pending: 0, paid: 1, returned: 1 });
    expect(await store.lineCounts("pf_b")).toEqual({ pending: 2, paid: 0, returned: 0 });
  });

  it("keeps PayPal batches, sealed, and their items", async () => {
    const sealer = new Sealer(keyringOf([secretKeyOf(randomBytes(32))]));
    const store = new SqlPaypalPayoutStore(db, sealer);
    const batch = {
      senderBatchId: "sb_1",
      payoutBatchId: null,
      request: JSON.stringify({ items: [{ receiver: "a@example.com" }] }),
      itemCount: 2,
      createdAt: 1000,
      refused: null,
    };
    await store.saveBatch(batch, ["co_1", "co_2"]);
    // The request is sealed at rest.
    const stored = await db.get("SELECT request FROM paypal_batches WHERE sender_batch_id = ?", ["sb_1"]);
    expect((stored!.request as Buffer).includes("a@example.com")).toBe(false);
    expect(await store.itemOf("co_1")).toEqual({ batch, payoutItemId: null });
    expect(await store.itemOf("nope")).toBeUndefined();
    // A cash-out already in a batch fails the whole write.
    await expect(store.saveBatch({ ...batch, senderBatchId: "sb_2" }, ["co_3", "co_2"])).rejects.toThrow();
    expect(await store.itemOf("co_3")).toBeUndefined();

    await store.setItemIds("sb_1", []);
    await store.setItemIds("sb_1", [{ cashoutId: "co_1", payoutItemId: "it_1" }]);
    await store.setItemIds("sb_1", [{ cashoutId: "co_1", payoutItemId: "it_other" }]);
    expect((await store.itemOf("co_1"))?.payoutItemId).toBe("it_1");
    await store.setPayoutBatchId("sb_1", "pb_1");
    await store.setPayoutBatchId("sb_1", "pb_other");
    await store.markRefused("sb_1", "too late");
    expect((await store.itemOf("co_2"))?.batch).toEqual({ ...batch, payoutBatchId: "pb_1" });

    await store.saveBatch({ ...batch, senderBatchId: "sb_3", createdAt: 2000 }, ["co_4"]);
    await store.markRefused("sb_3", "INSUFFICIENT_FUNDS");
    expect((await store.batchesSince(1500, 10)).map((b) => [b.senderBatchId, b.refused])).toEqual([
      ["sb_3", "INSUFFICIENT_FUNDS"],
    ]);
    expect((await store.batchesSince(0, 1)).map((b) => b.senderBatchId)).toEqual(["sb_1"]);
  });

  it("keeps webhook endpoints within the limit, also when two processes create at once", async () => {
    const store = new SqlWebhookStore(db);
    const elsewhere = new SqlWebhookStore(other);
    const endpoint = (id: string, createdAt: number): WebhookEndpoint => ({
      id,
      url: `https://example.com/${id}`,
      events: ["gift.sent", "cashout.paid"],
      description: null,
      secretPrefix: "whsec_0123",
      createdAt,
      deletedAt: null,
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? store : elsewhere).insertEndpoint(
          endpoint(`we_${i}`, i),
          "whsec_0123456789",
          3,
          audited("create", `we_${i}`),
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(3);
    const live = await store.listEndpoints();
    expect(live).toHaveLength(3);
    // Only the endpoints inserted have subscriptions.
    const subscribed = await db.all(
      "SELECT DISTINCT endpoint_id FROM webhook_subscriptions ORDER BY endpoint_id",
    );
    expect(subscribed.map((r) => r.endpoint_id)).toEqual(live.map((e) => e.id).sort());
    const id = live[0]!.id;
    expect(await store.getEndpoint(id)).toEqual(live[0]);
    expect(await store.deleteEndpoint(id, 100, audited("delete", String(id)))).toBe(true);
    expect(await store.deleteEndpoint(id, 101, audited("delete", String(id)))).toBe(false);
    expect(await store.getEndpoint(id)).toBeUndefined();
    expect(
      await store.insertEndpoint(endpoint("we_new", 200), "whsec_0123456789", 3, audited("create", "we_new")),
    ).toBe(true);
    expect(
      await store.insertEndpoint(
        endpoint("we_over", 201),
        "whsec_0123456789",
        3,
        audited("create", "we_over"),
      ),
    ).toBe(false);
    // Only what took place is audited, each entry in its change's transaction: four endpoints
    // created, one deleted (not the second delete, nor the inserts over the limit).
    const entries = await db.all("SELECT action, target FROM audit_log ORDER BY id");
    expect(entries.filter((e) => e.action === "create")).toHaveLength(4);
    expect(entries.filter((e) => e.action === "delete")).toEqual([{ action: "delete", target: id }]);
  });

  it("delivers webhooks: claims due deliveries once across processes, logs attempts, requeues, purges", async () => {
    const store = new SqlWebhookStore(db);
    const elsewhere = new SqlWebhookStore(other);
    const hook: WebhookEndpoint = {
      id: "we_1",
      url: "https://example.com/hook",
      events: ["*"],
      description: "all",
      secretPrefix: "whsec_0123",
      createdAt: 1,
      deletedAt: null,
    };
    expect(await store.insertEndpoint(hook, "whsec_0123456789", 10, audited("create", "we_1"))).toBe(true);

    // 60 gifts, each its own resource, plus a second event of the first gift's resource.
    const events = Array.from({ length: 60 }, (_, i) =>
      outboxEvent("gift.sent", `g${i}`, 1000 + i, { id: `gft_${i}` } as JsonObject),
    );
    events.push(outboxEvent("cashout.requested", "earlier", 1500, { id: "co_1" } as JsonObject));
    events.push(outboxEvent("cashout.paid", "later", 2000, { id: "co_1" } as JsonObject));
    await db.execute(statementsFor(outboxEffect(events), "postgres"));

    const now = 10_000;
    // Two processes claim, round after round, at once: no delivery is claimed twice.
    const claimed: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([store.listDue(now, 7), elsewhere.listDue(now, 7)]);
      claimed.push(...a.map((d) => d.id), ...b.map((d) => d.id));
      if (a.length === 0 && b.length === 0) break;
    }
    expect(new Set(claimed).size).toBe(claimed.length);
    // Of the two events of co_1, the later one waits while the earlier one is pending.
    expect(claimed).toHaveLength(61);
    expect(await store.listDue(now, 100)).toEqual([]);

    // A lease that ends makes an unrecorded delivery due again.
    const again = await store.listDue(now + deliveryLeaseMs, 100);
    expect(again).toHaveLength(61);
    expect(again[0]).toMatchObject({
      endpointId: "we_1",
      url: "https://example.com/hook",
      secret: "whsec_0123456789",
      eventType: "gift.sent",
      windowAttempts: 0,
      windowFrom: null,
      attemptCount: 0,
      requeues: 0,
    });
    expect(JSON.parse(again[0]!.body)).toMatchObject({ id: again[0]!.eventId, type: "gift.sent" });

    const earlier = again.find((d) => d.eventType === "cashout.requested")!;
    const at = now + deliveryLeaseMs;
    await store.recordAttempts([
      ...again
        .filter((d) => d !== earlier)
        .map((d) => ({
          deliveryId: d.id,
          attempt: { at, statusCode: 200, error: null, durationMs: 5 },
          status: "delivered" as const,
          nextAttemptAt: null,
          windowFrom: at,
          requeues: d.requeues,
        })),
      {
        deliveryId: earlier.id,
        attempt: { at, statusCode: 500, error: "HTTP 500", durationMs: 7 },
        status: "failed",
        nextAttemptAt: null,
        windowFrom: at,
        requeues: earlier.requeues,
      },
    ]);
    // The earlier event of co_1 is finished (failed): the later one is due now.
    const later = await elsewhere.listDue(at, 100);
    expect(later.map((d) => d.eventType)).toEqual(["cashout.paid"]);

    expect(await store.getDelivery("we_1", earlier.id)).toMatchObject({
      id: earlier.id,
      endpointId: "we_1",
      eventType: "cashout.requested",
      status: "failed",
      attemptCount: 1,
      nextAttemptAt: null,
      lastAttempt: { at, statusCode: 500, error: "HTTP 500", durationMs: 7 },
    });
    expect(await store.getDelivery("we_other", earlier.id)).toBeUndefined();
    expect(await store.listAttempts(earlier.id, 10)).toEqual([
      { at, statusCode: 500, error: "HTTP 500", durationMs: 7 },
    ]);
    expect(await store.eventBody(earlier.id)).toBe(
      (await db.get("SELECT payload FROM webhook_events WHERE id = ?", [earlier.eventId]))!.payload,
    );
    expect(await store.eventBody(0n)).toBeUndefined();
    const page = await store.listDeliveries("we_1", null, 5);
    expect(page).toHaveLength(5);
    expect(page[0]!.id > page[4]!.id).toBe(true);
    expect((await store.listDeliveries("we_1", page[4]!.id, 100)).length).toBe(57);

    expect(await store.requeue("we_1", earlier.id, at + 1, audited("redeliver", "whd_1"))).toBe(true);
    expect(await store.requeue("we_other", earlier.id, at + 1, audited("redeliver", "whd_2"))).toBe(false);
    // Only the requeue that took place is audited.
    expect(await db.all("SELECT target FROM audit_log WHERE action = 'redeliver'")).toEqual([
      { target: "whd_1" },
    ]);
    const requeued = await store.listDue(at + 1, 100);
    expect(requeued.map((d) => d.id)).toEqual([earlier.id]);
    expect(requeued[0]).toMatchObject({ windowAttempts: 0, windowFrom: null, attemptCount: 1 });

    // Finished deliveries, their attempts, then their events go; the pending ones stay.
    const purged = await store.purge(at + 10 * deliveryLeaseMs, 1000);
    expect(purged).toBe(60 * 3);
    const left = await db.all("SELECT status FROM webhook_deliveries ORDER BY id");
    expect(left.map((r) => r.status)).toEqual(["pending", "pending"]);

    // Deleting the endpoint cancels what is pending; a delivery left pending to a deleted
    // endpoint (a fan-out that raced the deletion) is never claimed, and purge cancels it.
    await db.execute([
      {
        sql: "INSERT INTO webhook_endpoints (id, url, events, secret, created_at, deleted_at) VALUES ('we_gone', 'https://example.com/gone', '[]', 's', 1, 5)",
        params: [],
      },
      {
        sql: `INSERT INTO webhook_deliveries (endpoint_id, event_seq, resource, status, next_attempt_at, created_at)
              SELECT 'we_gone', seq, resource, 'pending', 0, created_at FROM webhook_events WHERE id = ?`,
        params: [earlier.eventId],
      },
    ]);
    expect(await store.deleteEndpoint("we_1", at + 2, audited("delete", "we_1"))).toBe(true);
    expect(await store.listDue(at + 100 * deliveryLeaseMs, 100)).toEqual([]);
    expect(await store.purge(0, 10)).toBe(1);
    expect((await db.all("SELECT status FROM webhook_deliveries ORDER BY id")).map((r) => r.status)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
  });
});
