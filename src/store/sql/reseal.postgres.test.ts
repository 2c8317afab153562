import { describe } from "vitest";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { describeReseal } from "./reseal.testkit.js";

const available = await requirePostgres();

// A fresh schema per test, and two stores on it: two processes, as servers and reseal would be.
describe.skipIf(!available)("PostgreSQL", () => {
  describeReseal("PostgreSQL", {
    async open() {
      const { schema, drop } = await createTestSchema();
      const db = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema, connectionsMax: 2 });
      const other = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema, connectionsMax: 2 });
      return {
        db,
        other,
        async close() {
          await other.close();
          await db.close();
          await drop();
        },
      };
    },
    async byteColumns(db) {
      const rows = await db.all(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns
         WHERE table_schema = current_schema() AND data_type = 'bytea'`,
      );
      return rows.map((row) => `${row.t}.${row.c}`);
    },
  });
});
