import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
