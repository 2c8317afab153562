import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import { quoted, readCatalog } from "./catalog.js";
import { ledgerDigest } from "./ledger-digest.js";
import { portableTable } from "./store-differences.js";

/**
 * The digest is what proves an import copied the ledger: equal digests must mean equal accounts,
 * equal transfers (every column) and equal open holds. So a change to any one value of any column
 * of those tables, as the schema declares them, changes it.
 */
let t: TestLedger;

beforeAll(async () => {
  t = openTestLedger();
  const { ledger, clock } = t;
  await ledger.createAccounts([
    { id: "a", unit: "COIN" },
    { id: "b", unit: "COIN" },
  ]);
  await ledger.submit({
    transfers: [
      { debitAccountId: "a", creditAccountId: "b", amount: 5n, kind: "k", metadata: { note: "x" } },
    ],
  });
  // One hold closed by a post (a transfer with a pending id), one left open with an expiry.
  const held = await ledger.submit({
    transfers: [{ type: "pending", debitAccountId: "a", creditAccountId: "b", amount: 4n, kind: "h" }],
  });
  await ledger.submit({
    transfers: [{ type: "post_pending", pendingId: held.transfers[0]!.id, kind: "p" }],
  });
  await ledger.submit({
    transfers: [
      {
        type: "pending",
        debitAccountId: "b",
        creditAccountId: "a",
        amount: 2n,
        kind: "h",
        expiresAt: clock.now() + 60_000,
      },
    ],
  });
});

afterAll(async () => {
  await t.dispose();
});

describe("the ledger digest", () => {
  it("changes with any value of any column of accounts, transfers and open holds", async () => {
    const before = await ledgerDigest(t.store);
    // Reads and writes on the main connection, in a transaction rolled back after each change.
    const db = t.store.database;
    const catalog = await readCatalog(t.store);
    const checked: string[] = [];
    for (const name of ["accounts", "transfers", "holds"]) {
      const table = portableTable(catalog.find((c) => c.name === name)!, "sqlite");
      const key = quoted(table.key[0]!);
      for (const column of table.columns) {
        const c = quoted(column.name);
        const changed = column.type === "int" ? `${c} + 1000003` : `${c} || '~'`;
        db.exec("BEGIN");
        try {
          const { changes } = db
            .prepare(
              `UPDATE ${quoted(name)} SET ${c} = ${changed}
               WHERE ${key} = (SELECT ${key} FROM ${quoted(name)} WHERE ${c} IS NOT NULL ORDER BY ${key} LIMIT 1)`,
            )
            .run();
          // Each column holds a value somewhere, or this would prove nothing of it.
          expect(changes, `${name}.${column.name}`).toBe(1);
          expect(await ledgerDigest(t.store), `${name}.${column.name}`).not.toBe(before);
        } finally {
          db.exec("ROLLBACK");
        }
        checked.push(`${name}.${column.name}`);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(["transfers.metadata", "holds.expires_at"]));
    expect(await ledgerDigest(t.store)).toBe(before);
  });
});
