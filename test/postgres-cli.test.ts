import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../src/ledger/index.js";
import { TestClock, testLedgerDefaults } from "../src/ledger/ledger.testkit.js";
import { postgresMigrations } from "../src/store/postgres/migrations.js";
import {
  createTestSchema,
  requirePostgres,
  testDatabaseUrl,
} from "../src/store/postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";

const available = await requirePostgres();

/** The real command line, through tsx so that no build is needed. */
const cli = ["--import", "tsx", join(import.meta.dirname, "..", "src", "cli", "main.ts")];

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...cli, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", GIFTSTREAM_CONFIG: "", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

/** The test database, with the schema put first on the search path by the URL itself. */
function urlFor(schema: string): string {
  const url = new URL(testDatabaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

const drops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const drop of drops.splice(0)) await drop();
});

describe.skipIf(!available)("giftstream CLI on PostgreSQL", () => {
  it("migrates the ledger's tables, reconciles them, and refuses to serve", async () => {
    const { schema, drop } = await createTestSchema();
    drops.push(drop);
    const env = { DATABASE_URL: urlFor(schema) };
    const newest = postgresMigrations.at(-1)!.version;

    const first = run(["migrate"], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`migrated to version ${newest} (PostgreSQL: ledger tables)`);
    const again = run(["migrate"], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`schema is up to date at version ${newest}`);

    const store = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema });
    try {
      expect(store.migration.applied).toEqual([]);
      const ledger = new Ledger({ ...testLedgerDefaults, store, clock: new TestClock().now });
      await ledger.submit({
        accounts: [
          { id: "mint", unit: "COIN" },
          { id: "viewer", unit: "COIN" },
        ],
        transfers: [{ debitAccountId: "mint", creditAccountId: "viewer", amount: 1000n, kind: "purchase" }],
      });
      await ledger.close();

      const ok = run(["reconcile"], env);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain("accounts checked: 2");
      expect(ok.stdout).toContain("unit COIN: posted sums to 0, pending sums to 0");
      expect(ok.stdout).toContain("reconcile: ok");

      // A balance that disagrees with its entries, written behind the ledger's back.
      await store.pool.query("UPDATE accounts SET credits_posted = 999 WHERE id = 'viewer'");
      const bad = run(["reconcile"], env);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain(
        "PROBLEM account viewer: creditsPosted is 999 but its entries sum to 1000",
      );
      expect(bad.stdout).toContain("reconcile: FAILED");
    } finally {
      await store.close();
    }

    const serve = run(["serve"], { ...env, PORT: "0" });
    expect(serve.status).toBe(78);
    expect(serve.stderr).toMatch(/PostgreSQL has only the ledger store in this version/);
  });

  it("says plainly when the server cannot be reached", () => {
    const refused = run(["migrate"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ECONNREFUSED/);
  });
});
