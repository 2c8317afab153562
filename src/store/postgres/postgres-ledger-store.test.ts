import { describe } from "vitest";
import { describeStoreConformance } from "../../ledger/store-conformance.testkit.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "./postgres.testkit.js";
import { PostgresLedgerStore } from "./postgres-ledger-store.js";

const available = await requirePostgres();

describe.skipIf(!available)("PostgreSQL ledger store", () => {
  describeStoreConformance("postgres", () => {
    let drop: (() => Promise<void>) | undefined;
    let schema = "";
    return {
      open: async () => {
        const created = await createTestSchema();
        schema = created.schema;
        drop = created.drop;
        return PostgresLedgerStore.open({ url: testDatabaseUrl, schema });
      },
      reopen: async () => PostgresLedgerStore.open({ url: testDatabaseUrl, schema }),
      cleanup: async () => drop?.(),
    };
  });
});
