import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../../store/postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../../store/postgres/postgres-ledger-store.js";
import { SqliteStore } from "../../store/sqlite/sqlite-store.js";
import { type CatalogTable, readCatalog } from "./catalog.js";
import { orderTables, portableRowsWhere, portableTable, tableDifferences } from "./store-differences.js";

const table = (name: string, columns: [string, "int" | "text" | "bytes", boolean?][]): CatalogTable => ({
  name,
  columns: columns.map(([n, type, identity]) => ({ name: n, type, identity: identity ?? false })),
  key: [columns[0]![0]],
});

describe("the differences between the stores", () => {
  it("carries SQLite's implicit rowid where PostgreSQL has the column, and open holds without a status", () => {
    const gifts = table("gifts", [["id", "text"]]);
    expect(portableTable(gifts, "sqlite").columns.map((c) => c.name)).toEqual(["id", "rowid"]);
    expect(portableTable(table("users", [["id", "text"]]), "sqlite").columns.map((c) => c.name)).toEqual([
      "id",
    ]);
    const holds = table("holds", [
      ["transfer_id", "int"],
      ["status", "int"],
    ]);
    expect(portableTable(holds, "postgres").columns.map((c) => c.name)).toEqual(["transfer_id"]);
    expect(portableRowsWhere("holds", "postgres")).toBe('"status" = 0');
    expect(portableRowsWhere("holds", "sqlite")).toBeNull();
    expect(() => portableTable(table("holds", [["transfer_id", "int"]]), "postgres")).toThrow(/no status/);
  });

  it("says every way two sets of tables differ", () => {
    const dump = [
      { name: "a", columns: [{ name: "x", type: "int" as const }] },
      { name: "b", columns: [{ name: "y", type: "text" as const }] },
    ];
    const target = [
      {
        name: "a",
        columns: [
          { name: "x", type: "text" as const },
          { name: "z", type: "int" as const },
        ],
      },
      { name: "c", columns: [] },
    ];
    expect(tableDifferences(dump, target)).toEqual([
      "column a.x is int in the dump but text in the target",
      "column a.z is in the target but not in the dump",
      "table b is in the dump but not in the target database",
      "table c is in the target database but not in the dump",
    ]);
  });

  it("puts the ledger first", () => {
    const names = ["users", "holds", "activity", "accounts", "idempotency", "transfers"].map((name) => ({
      name,
    }));
    expect(orderTables(names).map((t) => t.name)).toEqual([
      "accounts",
      "transfers",
      "holds",
      "idempotency",
      "activity",
      "users",
    ]);
  });
});

const postgres = await requirePostgres();
const dir = mkdtempSync(join(tmpdir(), "giftstream-catalog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!postgres)("the migrated schemas, read from both databases", () => {
  it("are the same once the differences are mapped: a dump from either loads into the other", async () => {
    const sqlite = new SqliteStore({ path: join(dir, "catalog.db") });
    const { schema, drop } = await createTestSchema();
    const pg = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema });
    try {
      const fromSqlite = await readCatalog(sqlite);
      const fromPostgres = await readCatalog(pg);
      expect(
        tableDifferences(
          fromSqlite.map((t) => portableTable(t, "sqlite")),
          fromPostgres.map((t) => portableTable(t, "postgres")),
        ),
      ).toEqual([]);
      // The same keys page both: a dump's rows come out in the same order from either.
      const keys = (catalog: CatalogTable[]) => Object.fromEntries(catalog.map((t) => [t.name, t.key]));
      expect(keys(fromPostgres)).toEqual(keys(fromSqlite));
      // Identity columns on PostgreSQL are SQLite's INTEGER PRIMARY KEYs and the three rowids.
      const identities = fromPostgres.flatMap((t) =>
        t.columns.filter((c) => c.identity).map((c) => `${t.name}.${c.name}`),
      );
      expect(identities.sort()).toEqual(
        [
          "activity.id",
          "audit_log.id",
          "gifts.rowid",
          "payout_methods.rowid",
          "purchases.rowid",
          "webhook_attempts.id",
          "webhook_deliveries.id",
          "webhook_events.seq",
        ].sort(),
      );
    } finally {
      await sqlite.close();
      await pg.close();
      await drop();
    }
  });
});
