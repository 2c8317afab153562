import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../sqlite/sqlite-store.js";
import { describeReseal } from "./reseal.testkit.js";

// A real SQLite file, and a second store on it: another process writing while the reseal runs.
describeReseal("SQLite", {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-reseal-"));
    const path = join(dir, "giftstream.db");
    const db = new SqliteStore({ path });
    const other = new SqliteStore({ path });
    return {
      db,
      other,
      async close() {
        await other.close();
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async byteColumns(db) {
    const rows = await db.all(
      `SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
       WHERE m.type = 'table' AND upper(p.type) = 'BLOB'`,
    );
    return rows.map((row) => `${row.t}.${row.c}`);
  },
});
