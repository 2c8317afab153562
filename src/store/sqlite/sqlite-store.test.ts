import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeStoreConformance } from "../../ledger/store-conformance.testkit.js";
import { SqliteStore } from "./sqlite-store.js";

describeStoreConformance("sqlite", () => {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-store-"));
  const path = join(dir, "store.db");
  return {
    open: async () => new SqliteStore({ path }),
    reopen: async () => new SqliteStore({ path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("SqliteStore connection settings", () => {
  it("opens the file in WAL mode with synchronous=FULL and the WAL bounds it documents", async () => {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-store-"));
    const store = new SqliteStore({ path: join(dir, "store.db") });
    try {
      const db = store.database;
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(2n); // FULL
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(10_000n);
      expect(db.pragma("journal_size_limit", { simple: true })).toBe(67_108_864n);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
