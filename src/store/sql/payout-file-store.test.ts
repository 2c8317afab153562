import { afterEach, describe, expect, it } from "vitest";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import type { PayoutFile, PayoutFileLine } from "../../providers/payouts/files/payout-file.js";
import { SqlPayoutFileStore } from "./payout-file-store.js";

// PostgreSQL's side, with the rest of this store, is in stores-b.postgres.test.ts.
describe("payout file lines on SQLite", () => {
  let t: TestLedger | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  const file = (id: string, rail: string): PayoutFile => ({
    id,
    rail,
    format: "nacha",
    filename: `${id}.ach`,
    contentType: "text/plain",
    currency: "USD",
    lineCount: 1,
    totalMinor: 150n,
    sha256: "00".repeat(32),
    createdAt: 1000,
  });
  const line = (cashoutId: string, fileId: string, rail: string, serial: number): PayoutFileLine => ({
    cashoutId,
    fileId,
    rail,
    position: 1,
    serial,
    reference: `ref_${fileId}_${serial}`,
    userId: "u1",
    currency: "USD",
    netMinor: 150n,
    status: "pending",
    reason: null,
    paidAt: null,
    returnedAt: null,
    updatedAt: 1000,
  });

  it("refuses a serial its rail already used, storing none of the file; other rails number their own", async () => {
    t = openTestLedger();
    const store = new SqlPayoutFileStore(t.store);
    await store.insert(file("pf_a", "ach"), Buffer.from("a"), [line("co_1", "pf_a", "ach", 1)]);
    await store.insert(file("pf_s", "sepa"), Buffer.from("s"), [line("co_2", "pf_s", "sepa", 1)]);
    await expect(
      store.insert(file("pf_b", "ach"), Buffer.from("b"), [line("co_3", "pf_b", "ach", 1)]),
    ).rejects.toThrow(/UNIQUE constraint failed: payout_file_lines\.rail, payout_file_lines\.serial/);
    expect(await store.get("pf_b")).toBeUndefined();
    expect(await store.line("co_3")).toBeUndefined();
    expect(await store.lastSerial("ach")).toBe(1);
    expect(await store.lastSerial("sepa")).toBe(1);
  });
});
