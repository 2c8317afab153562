import { afterEach, describe, expect, it } from "vitest";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import { testPayoutFile as file, testPayoutLine as line } from "./payout-file-rows.testkit.js";
import { SqlPayoutFileStore } from "./payout-file-store.js";

// PostgreSQL's side, with the rest of this store, is in stores-b.postgres.test.ts.
describe("payout file lines on SQLite", () => {
  let t: TestLedger | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it("refuses a serial its rail already used, storing none of the file; other rails number their own", async () => {
    t = openTestLedger();
    const store = new SqlPayoutFileStore(t.store);
    await store.insert(file("pf_a", "ach", 1000), Buffer.from("a"), [
      line("co_1", "pf_a", "ach", 1, 1),
      line("co_2", "pf_a", "ach", 2, 2),
    ]);
    await store.insert(file("pf_s", "sepa", 1000), Buffer.from("s"), [
      line("co_3", "pf_s", "sepa", 1, 1),
      line("co_4", "pf_s", "sepa", 2, 2),
    ]);
    await expect(
      store.insert(file("pf_b", "ach", 2000), Buffer.from("b"), [
        line("co_5", "pf_b", "ach", 1, 3),
        line("co_6", "pf_b", "ach", 2, 2),
      ]),
    ).rejects.toThrow(/UNIQUE constraint failed: payout_file_lines\.rail, payout_file_lines\.serial/);
    expect(await store.get("pf_b")).toBeUndefined();
    expect(await store.line("co_5")).toBeUndefined();
    expect(await store.lastSerial("ach")).toBe(2);
    expect(await store.lastSerial("sepa")).toBe(2);
  });
});
