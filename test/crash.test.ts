import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../src/ledger/ledger.js";
import { testLedgerDefaults } from "../src/ledger/ledger.testkit.js";
import { reconcile } from "../src/ledger/reconcile.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { crashAccounts, crashRequest } from "./fixtures/crash-writer.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const writer = join(root, "test", "fixtures", "crash-writer.ts");

let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

interface Ack {
  key: string;
  id: bigint;
}

interface Run {
  acks: Ack[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the writer on `dbPath` until it has acknowledged at least `acksBeforeKill` transfers, then
 * SIGKILLs it. Every complete `ack` line that reached the pipe counts, including those read after
 * the kill: the writer printed each one only after its batch committed.
 */
function runAndKill(dbPath: string, tag: string, acksBeforeKill: number): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", writer, dbPath, tag], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    const acks: Ack[] = [];
    let buffered = "";
    let stderr = "";
    let killed = false;
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`writer too slow: ${acks.length} acks in 45 s\n${stderr}`));
    }, 45_000);
    proc.stdout!.setEncoding("utf8");
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
    });
    proc.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!; // an incomplete last line waits for the rest (or is dropped)
      for (const line of lines) {
        if (line === "ready") continue;
        const match = /^ack (\S+) ([1-9][0-9]*)$/.exec(line);
        if (!match) {
          reject(new Error(`unexpected writer output: ${JSON.stringify(line)}`));
          continue;
        }
        acks.push({ key: match[1]!, id: BigInt(match[2]!) });
      }
      if (!killed && acks.length >= acksBeforeKill) {
        killed = true;
        proc.kill("SIGKILL");
      }
    });
    proc.on("error", reject);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      if (!killed) {
        reject(
          new Error(
            `writer exited on its own (code ${code}, signal ${signal}) after ${acks.length} acks\n${stderr}`,
          ),
        );
        return;
      }
      resolvePromise({ acks, signal, stderr });
    });
  });
}

/** Reopens the file as a restarted service would, and checks everything the writer acknowledged. */
async function verify(dbPath: string, acks: readonly Ack[]): Promise<void> {
  const store = new SqliteStore({ path: dbPath });
  const ledger = new Ledger({ ...testLedgerDefaults, store, clock: Date.now });
  try {
    const db = store.database;
    expect(db.pragma("integrity_check")).toEqual([{ integrity_check: "ok" }]);

    // Every acknowledged transfer is there, once, and carries its key.
    const ids = acks.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    const found = await store.getTransfers(ids);
    expect(found).toHaveLength(acks.length);
    for (const [i, transfer] of found.entries()) {
      expect(transfer.id).toBe(acks[i]!.id);
      expect(transfer.metadata?.key).toBe(acks[i]!.key);
    }

    // Replaying an acknowledged key returns the same transfers and changes nothing.
    const idsByKey = new Map<string, bigint[]>();
    for (const ack of acks) idsByKey.set(ack.key, [...(idsByKey.get(ack.key) ?? []), ack.id]);
    const transfersBefore = (db.prepare("SELECT COUNT(*) AS n FROM transfers").get() as { n: bigint }).n;
    const keys = [...idsByKey.keys()];
    const replays = await Promise.all(keys.map((key) => ledger.submit(crashRequest(key))));
    for (const [i, replay] of replays.entries()) {
      expect(replay.replayed).toBe(true);
      expect(replay.transfers.map((t) => t.id)).toEqual(idsByKey.get(keys[i]!));
      expect(replay.transfers.length).toBe(crashRequest(keys[i]!).transfers.length);
    }
    expect((db.prepare("SELECT COUNT(*) AS n FROM transfers").get() as { n: bigint }).n).toBe(
      transfersBefore,
    );

    // Transfers and idempotency records committed together: no transfer without its record,
    // and every record accounts for exactly its transfers.
    const orphans = db
      .prepare(
        `SELECT COUNT(*) AS n FROM transfers t
         LEFT JOIN idempotency i ON i.key = json_extract(t.metadata, '$.key')
         WHERE i.key IS NULL`,
      )
      .get() as { n: bigint };
    expect(orphans.n).toBe(0n);
    const recorded = db
      .prepare("SELECT COALESCE(SUM(json_array_length(result, '$.transfers')), 0) AS n FROM idempotency")
      .get() as { n: bigint };
    expect(recorded.n).toBe(transfersBefore);

    // The books balance: each account equals its entries, each unit sums to zero.
    const report = await reconcile(store);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.accounts).toBe(crashAccounts.length);
    expect(report.units).toEqual({ COIN: { posted: 0n, pending: 0n } });
    // Guarded users never went below zero.
    const balances = await ledger.balances(crashAccounts.map((a) => a.id));
    for (const [id, balance] of balances) if (id !== "mint") expect(balance.available >= 0n).toBe(true);
  } finally {
    await ledger.close();
    await store.close();
  }
}

describe("crash safety: SIGKILL mid-stream", () => {
  it("keeps every acknowledged transfer, an intact file and balanced books, across two kills", async () => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-crash-"));
    const dbPath = join(dir, "ledger.db");

    const first = await runAndKill(dbPath, "r1", 2_000);
    expect(first.signal).toBe("SIGKILL");
    expect(first.acks.length).toBeGreaterThanOrEqual(2_000);
    await verify(dbPath, first.acks);

    // A restarted writer on the same file picks up where the first left off, and dies later on.
    const second = await runAndKill(dbPath, "r2", 5_000);
    expect(second.signal).toBe("SIGKILL");
    expect(second.acks.length).toBeGreaterThanOrEqual(5_000);
    expect(Math.min(...second.acks.map((a) => Number(a.id)))).toBeGreaterThan(
      Math.max(...first.acks.map((a) => Number(a.id))),
    );
    await verify(dbPath, [...first.acks, ...second.acks]);
  });
});
