import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../src/ledger/ledger.js";
import {
  openTestLedger,
  TestClock,
  type TestLedger,
  testLedgerDefaults,
} from "../src/ledger/ledger.testkit.js";
import { reconcile } from "../src/ledger/reconcile.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";

let t: TestLedger | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});
const pay = (from: string, to: string, amount: bigint) => ({
  transfers: [{ debitAccountId: from, creditAccountId: to, amount, kind: "pay" }],
});
const dupKey = {
  sql: "INSERT INTO api_keys (id, name, scopes, hash, prefix, created_at) VALUES ('k1', 'n', '[]', 'h1', 'p', 0)",
  params: [],
};

describe("SQLite writer: control-plane writes and ledger batches stay apart", () => {
  it("a failed control-plane write does not fail the next, unrelated ledger batch", async () => {
    t = openTestLedger();
    await t.ledger.createAccounts([
      { id: "bank", unit: "COIN" },
      { id: "alice", unit: "COIN" },
    ]);
    await t.store.execute([dupKey]);
    await expect(t.store.execute([dupKey])).rejects.toThrow(/UNIQUE/);
    // Nothing wrong with this request:
    await expect(t.ledger.submit(pay("bank", "alice", 1n))).resolves.toBeDefined();
  });

  it("control-plane writes succeed after a failed ledger batch, before any ledger write recovers", async () => {
    t = openTestLedger();
    await t.ledger.createAccounts([
      { id: "bank", unit: "COIN" },
      { id: "alice", unit: "COIN" },
    ]);
    // A batch that fails at the writer: an effect with no such table row constraint... use a squatted id.
    const Database = (await import("better-sqlite3")).default;
    const other = new Database(t.path);
    other
      .prepare(
        "INSERT INTO transfers (id, type, debit_account_id, credit_account_id, amount, kind, created_at) VALUES (1, 0, 'x', 'y', 1, 'squat', 0)",
      )
      .run();
    other.close();
    await expect(t.ledger.submit(pay("bank", "alice", 1n))).rejects.toThrow();
    await expect(
      t.store.execute([
        { sql: "INSERT INTO audit_log (actor, action, target, at) VALUES ('a','b','c',0)", params: [] },
      ]),
    ).resolves.toBe(1);
  });

  it("keeps balances exact under pipelined load with a tiny account cache", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gs-rev-"));
    const store = new SqliteStore({ path: join(dir, "l.db"), accountCacheMax: 3 });
    const clock = new TestClock();
    const ledger = new Ledger({
      ...testLedgerDefaults,
      batchTransfersMax: 3,
      pipelineBatchesMax: 4,
      store,
      clock: clock.now,
    });
    const ids = Array.from({ length: 12 }, (_, i) => `a${i}`);
    await ledger.createAccounts([{ id: "bank", unit: "COIN" }, ...ids.map((id) => ({ id, unit: "COIN" }))]);
    const expected = new Map(ids.map((id) => [id, 0n]));
    const jobs: Promise<unknown>[] = [];
    for (let r = 0; r < 40; r++) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[(i * 7 + r) % ids.length]!;
        expected.set(id, expected.get(id)! + BigInt(r + 1));
        jobs.push(ledger.submit(pay("bank", id, BigInt(r + 1))));
      }
      if (r % 5 === 0) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    const got = await ledger.balances(ids);
    for (const id of ids) expect(got.get(id)!.posted).toBe(expected.get(id));
    expect((await reconcile(store)).problems).toEqual([]);
    await ledger.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
