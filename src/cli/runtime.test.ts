import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { createTestSchema, requirePostgres, schemaUrl } from "../store/postgres/postgres.testkit.js";
import { answerSliceRequests, halveAboveRequests, openStore } from "./runtime.js";

const available = await requirePostgres();

describe("answerSliceRequests", () => {
  it("lets the store choose when the configuration says 0: slices of 16 on PostgreSQL, whole batches on SQLite", () => {
    expect(answerSliceRequests(0, "postgres")).toBe(16);
    expect(answerSliceRequests(0, "sqlite")).toBeUndefined();
  });

  it("takes a configured slice on either store", () => {
    expect(answerSliceRequests(3, "postgres")).toBe(3);
    expect(answerSliceRequests(100_000, "sqlite")).toBe(100_000);
  });
});

describe("halveAboveRequests", () => {
  it("halves large batches on SQLite, whose writer thread commits one while the next is prepared, and never on PostgreSQL", () => {
    expect(halveAboveRequests("sqlite")).toBe(64);
    expect(halveAboveRequests("postgres")).toBeUndefined();
  });
});

describe("openStore on PostgreSQL", () => {
  it.skipIf(!available)(
    "gives every connection the configured statement and idle-transaction limits",
    async () => {
      const { schema, drop } = await createTestSchema();
      const config = loadConfig({
        env: {},
        overrides: {
          databaseUrl: schemaUrl(schema),
          postgres: { statementTimeoutMs: 2500, idleInTransactionTimeoutMs: 4000 },
        },
      });
      const store = await openStore(config);
      try {
        const rows = await store.all(
          "SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS it",
        );
        expect(rows).toEqual([{ st: "2500ms", it: "4s" }]);
      } finally {
        await store.close();
        await drop();
      }
    },
  );
});
