import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import { reconcile } from "../../ledger/reconcile.js";

/**
 * The writer-thread pipeline's failure path: a batch whose commit fails takes down the batches
 * prepared on top of it, nothing of them lands, and the store rebuilds its view and carries on.
 * The failure is provoked for real: another connection takes the next transfer id behind the
 * store's back, so the writer's INSERT hits the primary key.
 */
let t: TestLedger | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const pay = (from: string, to: string, amount: bigint) => ({
  transfers: [{ debitAccountId: from, creditAccountId: to, amount, kind: "pay" }],
});

describe("SQLite writer pipeline", () => {
  it("fails a batch whose commit fails, and every batch built on it, then recovers", async () => {
    t = openTestLedger({ batchTransfersMax: 1, pipelineBatchesMax: 4 });
    await t.ledger.createAccounts([
      { id: "bank", unit: "COIN" },
      { id: "alice", unit: "COIN", flags: { debitsMustNotExceedCredits: true } },
    ]);
    await t.ledger.submit(pay("bank", "alice", 100n));

    // Squat the next transfer id (2) from another connection.
    const other = new Database(t.path);
    other
      .prepare(
        "INSERT INTO transfers (id, type, debit_account_id, credit_account_id, amount, kind, created_at) VALUES (2, 0, 'x', 'y', 1, 'squat', 0)",
      )
      .run();
    other.close();

    // One transfer per batch, several batches in flight: the first fails on commit, and the ones
    // prepared on top of it must fail with it even though each was valid on its own.
    const outcomes = await Promise.allSettled([
      t.ledger.submit(pay("alice", "bank", 10n)),
      t.ledger.submit(pay("alice", "bank", 20n)),
      t.ledger.submit(pay("alice", "bank", 30n)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).not.toBeInstanceOf(GiftstreamError);

    // Nothing of the failed batches landed; the store starts again from the file.
    expect((await t.ledger.balance("alice")).posted).toBe(100n);
    const after = await t.ledger.submit(pay("alice", "bank", 5n));
    expect(after.transfers[0]!.id).toBe(3n);
    expect((await t.ledger.balance("alice")).posted).toBe(95n);
    const history = await t.ledger.history("alice");
    expect(history.transfers.map((x) => x.id)).toEqual([3n, 1n]);

    // The squatted row is not the ledger's; take it out and the books are whole.
    const fix = new Database(t.path);
    fix.prepare("DELETE FROM transfers WHERE kind = 'squat'").run();
    fix.close();
    const report = await reconcile(t.store);
    expect(report.problems).toEqual([]);
  });

  it("replaces a writer thread that died, and writes go on from what the file holds", async () => {
    t = openTestLedger();
    await t.ledger.createAccounts([
      { id: "bank", unit: "COIN" },
      { id: "alice", unit: "COIN", flags: { debitsMustNotExceedCredits: true } },
    ]);
    await t.ledger.submit(pay("bank", "alice", 100n));
    // Kill the thread as out-of-memory or a throw in its error path would.
    // biome-ignore lint/suspicious/noExplicitAny: the test reaches the store's thread to kill it.
    const writer = (t.store as any).writer as { worker: { terminate(): Promise<number> }; dead: boolean };
    await writer.worker.terminate();
    expect(writer.dead).toBe(true);
    expect(t.store.writable).toBe(false);

    // Both write paths bring a new writer up: the ledger's batches and the control writes.
    const after = await t.ledger.submit(pay("alice", "bank", 30n));
    expect(after.transfers[0]!.id).toBe(2n);
    expect(t.store.writable).toBe(true);
    expect((await t.ledger.balance("alice")).posted).toBe(70n);
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    await ((t.store as any).writer as typeof writer).worker.terminate();
    expect(
      await t.store.execute([{ sql: "UPDATE accounts SET flags = flags WHERE id = ?", params: ["bank"] }]),
    ).toBe(1);
    await t.ledger.submit(pay("alice", "bank", 20n));
    expect((await t.ledger.balance("alice")).posted).toBe(50n);
    expect((await reconcile(t.store)).problems).toEqual([]);
  });

  it("answers a caller only after its batch is durable, in submission order", async () => {
    t = openTestLedger({ batchTransfersMax: 2, pipelineBatchesMax: 3 });
    await t.ledger.createAccounts([
      { id: "bank", unit: "COIN" },
      { id: "alice", unit: "COIN" },
    ]);
    const order: bigint[] = [];
    await Promise.all(
      Array.from({ length: 20 }, () =>
        t!.ledger.submit(pay("bank", "alice", 1n)).then(async (result) => {
          const id = result.transfers[0]!.id;
          order.push(id);
          // Durable means readable from another connection at the moment the caller hears back.
          const probe = new Database(t!.path, { readonly: true });
          const row = probe.prepare("SELECT id FROM transfers WHERE id = ?").get(id);
          probe.close();
          expect(row).toBeDefined();
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
  });
});
