import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../src/ledger/index.js";
import { TestClock, testLedgerDefaults } from "../src/ledger/ledger.testkit.js";
import { postgresMigrations } from "../src/store/postgres/migrations.js";
import {
  createTestSchema,
  requirePostgres,
  schemaUrl,
  testDatabaseUrl,
} from "../src/store/postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";
import { cliArgs } from "./support/cli.js";

const available = await requirePostgres();

const cli = cliArgs;

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...cli, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", GIFTSTREAM_CONFIG: "", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

const drops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const drop of drops.splice(0)) await drop();
});

/**
 * `giftstream serve --workers 2` on `schema`, its JSON log read as it comes: the pids of the
 * processes serving, and of those that stopped cleanly.
 */
function serveWorkers(schema: string, dataDir: string, port: number, options: { detached?: boolean } = {}) {
  const child = spawn(process.execPath, [...cli, "serve", "--workers", "2"], {
    env: {
      ...process.env,
      GIFTSTREAM_CONFIG: "",
      LOG_LEVEL: "info",
      PORT: String(port),
      GIFTSTREAM_DATA_DIR: dataDir,
      DATABASE_URL: schemaUrl(schema),
      GIFTSTREAM_API_KEY: "gs_workers_admin_key_0123456789abcdefgh",
      GIFTSTREAM_SECRET_KEY: "ab".repeat(32),
      GIFTSTREAM_TOKEN_SECRET: "workers-token-secret-0123456789abcdef",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const pids = new Set<number>();
  const stopped = new Set<number>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const entry = JSON.parse(line) as { msg?: string; pid?: number };
    if (entry.msg === "giftstream serving" && entry.pid !== undefined) pids.add(entry.pid);
    if (entry.msg === "stopped" && entry.pid !== undefined) stopped.add(entry.pid);
  });
  return { child, pids, stopped };
}

describe.skipIf(!available)("giftstream CLI on PostgreSQL", () => {
  it("migrates, reconciles, and refuses to serve without secrets from the environment", async () => {
    const { schema, drop } = await createTestSchema();
    drops.push(drop);
    const env = { DATABASE_URL: schemaUrl(schema) };
    const newest = postgresMigrations.at(-1)!.version;

    const first = run(["migrate"], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`migrated to version ${newest} (PostgreSQL)`);
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

    // A key generated into one host's data directory would not be on the others.
    const serve = run(["serve"], { ...env, PORT: "0", GIFTSTREAM_TOKEN_SECRET: "t".repeat(32) });
    expect(serve.status).toBe(78);
    expect(serve.stderr).toMatch(/with DATABASE_URL set, GIFTSTREAM_SECRET_KEY must be set too/);
  });

  it("serves with several workers on one port, and refuses several on SQLite", async () => {
    const { schema, drop } = await createTestSchema();
    drops.push(drop);
    const dataDir = mkdtempSync(join(tmpdir(), "giftstream-workers-"));
    drops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const sqlite = run(["serve", "--workers", "2"], { GIFTSTREAM_DATA_DIR: dataDir, PORT: "0" });
    expect(sqlite.status).toBe(78);
    expect(sqlite.stderr).toMatch(/server.workers: 2 processes need a shared database/);

    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const { child, pids } = serveWorkers(schema, dataDir, port);
    try {
      await expect.poll(() => pids.size, { timeout: 30_000, interval: 100 }).toBe(2);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("stops --workers cleanly when SIGTERM reaches the whole process group, as from systemd or Ctrl-C", async () => {
    const { schema, drop } = await createTestSchema();
    drops.push(drop);
    const dataDir = mkdtempSync(join(tmpdir(), "giftstream-workers-group-"));
    drops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // A process group of its own, as under a shell or a systemd unit.
    const { child, pids: serving, stopped } = serveWorkers(schema, dataDir, port, { detached: true });
    await expect.poll(() => serving.size, { timeout: 30_000, interval: 100 }).toBe(2);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Every process of the group gets it, and the primary forwards it to each worker as well:
    // each worker is signalled twice and must still drain and stop cleanly.
    process.kill(-child.pid!, "SIGTERM");
    expect({ code: await exited, stopped: stopped.size }).toEqual({ code: 0, stopped: 2 });
  });

  it("says plainly when the server cannot be reached", () => {
    const refused = run(["migrate"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ECONNREFUSED/);
  });
});
