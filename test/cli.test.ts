import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../src/ledger/index.js";
import { testLedgerDefaults } from "../src/ledger/ledger.testkit.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { cliArgs } from "./support/cli.js";

/** The real command line, run the way `npm start` runs it (through tsx here, so no build is needed). */
const cli = cliArgs;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-cli-"));
  dirs.push(dir);
  return dir;
}

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...cli, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

/** Starts `giftstream serve` on a free port and resolves with its URL once it listens. */
function serve(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [...cli, "serve"], {
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(buffered);
      if (match) resolve({ child, url: match[1]!, exit });
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${buffered}`)));
  });
}

describe("giftstream CLI", () => {
  it("serves /healthz, /openapi.json and /docs, then shuts down cleanly on SIGTERM", async () => {
    const dir = dataDir();
    const { child, url, exit } = await serve({ GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_CONFIG: "" });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string };
    expect(openapi.openapi).toMatch(/^3\./);
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("<html");
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("migrates, and reconciles a ledger written through the store", async () => {
    const dir = dataDir();
    const migrate = run(["migrate"], { GIFTSTREAM_DATA_DIR: dir });
    expect(migrate.status).toBe(0);
    const newest = migrations.at(-1)!.version;
    expect(migrate.stdout).toContain(`migrated to version ${newest}`);
    expect(run(["migrate"], { GIFTSTREAM_DATA_DIR: dir }).stdout).toContain(
      `schema is up to date at version ${newest}`,
    );

    const store = new SqliteStore({ path: join(dir, "giftstream.db") });
    const ledger = new Ledger({ ...testLedgerDefaults, store, clock: Date.now });
    await ledger.createAccounts([
      { id: "a", unit: "USD" },
      { id: "b", unit: "USD", flags: { debitsMustNotExceedCredits: true } },
    ]);
    await ledger.submit({
      transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 990n, kind: "fund" }],
    });
    await ledger.close();
    await store.close();

    const ok = run(["reconcile"], { GIFTSTREAM_DATA_DIR: dir });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("integrity_check: ok");
    expect(ok.stdout).toContain("unit USD: posted sums to 0, pending sums to 0");
    expect(ok.stdout).toContain("reconcile: ok");

    // Corrupt one running total behind the ledger's back: reconcile must notice and fail.
    const raw = new SqliteStore({ path: join(dir, "giftstream.db") });
    raw.database.prepare("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'b'").run();
    await raw.close();
    const bad = run(["reconcile"], { GIFTSTREAM_DATA_DIR: dir });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("PROBLEM account b: creditsPosted is 991 but its entries sum to 990");
    expect(bad.stdout).toContain("PROBLEM unit USD: posted balances sum to 1, not 0");
  });

  it("refuses an invalid configuration with every problem listed and exit code 78", () => {
    const dir = dataDir();
    const file = join(dir, "config.yaml");
    writeFileSync(file, "server:\n  prot: 1\nmoney:\n  amountMax: 1.5\n");
    const result = run(["serve"], { GIFTSTREAM_CONFIG: file, PORT: "99999" });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain("server.prot");
    expect(result.stderr).toContain("money.amountMax");
    expect(result.stderr).toContain("server.port");
  });

  it("explains itself on an unknown command", () => {
    const result = run(["fly"], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown command fly");
  });
});
