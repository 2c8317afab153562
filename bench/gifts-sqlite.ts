import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { pino } from "pino";
import { composeApp } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { creatorAccounts } from "../src/economy/accounts.js";
import { reconcile } from "../src/ledger/index.js";
import { durationS, key } from "./gifts-http.js";
import { createViewers, creatorId, fundingCoins, sendGifts } from "./pg-load.js";
import { formatRate, percentile, printTable } from "./stats.js";
import { cpuPerGift, threadCpu } from "./thread-cpu.js";

const sendersTotal = 10_000;
/** As the pg benchmark's 1-process phase: each caller awaits its answer before sending again. */
const inFlight = 512;
/** The naive baseline runs this many gifts at most, and at most this long. */
const naiveGiftsMax = 50_000;
const naiveDurationMaxMs = 10_000;

/**
 * The gift service in-process on SQLite (the embedded default), composed as `giftstream serve`
 * composes it: 10,000 viewers funded by bonus grants send gifts to one creator, 512 calls in
 * flight, each as `POST /v1/gifts/send` makes it (idempotency key and fingerprint, the in-flight
 * key guard, `Gifts.send`), with durable commits. No HTTP: this is what the service itself does
 * with two cores, where `gifts-http` adds the framework and the load generator's sockets. The
 * baseline, from the same run, is a naive SQLite ledger: one durable transaction per gift.
 */
export async function benchGiftsSqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-bench-gifts-"));
  try {
    const config = loadConfig({
      env: { GIFTSTREAM_DATA_DIR: join(dir, "service"), GIFTSTREAM_API_KEY: key, LOG_LEVEL: "warn" },
    });
    const composed = await composeApp(config, pino({ level: "warn" }), { print: () => {} });
    const rows: [string, string][] = [];
    try {
      await composed.app.ready();
      const senders = Array.from({ length: sendersTotal }, (_, i) => i);
      await createViewers(composed, senders);

      const before = threadCpu(process.pid);
      const run = await sendGifts(composed.gifts, {
        senders,
        durationMs: durationS * 1000,
        inFlight,
        tag: "sqlite",
      });
      const cpu = cpuPerGift(process.pid, before, threadCpu(process.pid), run.done);
      const sorted = Float64Array.from(run.latenciesMs).sort();
      rows.push(
        [
          "gifts through the service",
          `${formatRate(run.done / run.elapsedS)}, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms${run.failed > 0 ? `, ${run.failed} failed (${run.firstError})` : ""}`,
        ],
        // The load generator runs on the main thread too: it is part of the main thread's figure.
        ["  this process", cpu],
      );

      // Every gift answered is in the ledger, and the ledger balances.
      const report = await reconcile(composed.runtime.store);
      const pending = await composed.runtime.ledger.balance(creatorAccounts.pendingDiamonds(creatorId).id);
      const problems = report.problems.slice(0, 3);
      if (pending.posted.toString() !== run.diamonds)
        problems.push(
          `the creator holds ${pending.posted} pending diamonds, the receipts say ${run.diamonds}`,
        );
      rows.push([
        "check",
        problems.length === 0
          ? `ok (reconciled ${report.accounts.toLocaleString("en-US")} accounts; creator's diamonds = receipts)`
          : `FAILED: ${problems.join("; ")}`,
      ]);
    } finally {
      await composed.close();
    }

    const naive = naiveLedger(join(dir, "naive.db"));
    rows.push([
      "naive, 1 txn per gift",
      `${formatRate(naive.rate)} (${naive.gifts.toLocaleString("en-US")} gifts), ${naive.ok ? "ok" : "FAILED: balances do not add up"}`,
    ]);
    printTable(
      `gifts-sqlite: ${sendersTotal.toLocaleString("en-US")} viewers → 1 creator through the gift service in-process, SQLite synchronous=FULL, idempotency keys, ${inFlight} sends in flight, ${durationS} s`,
      rows,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A hand-written ledger on SQLite: per gift one durable transaction that checks the viewer's coins,
 * moves them to the creator and inserts the entry with its unique idempotency key. SQLite has one
 * writer, so one client: more would only queue on its lock.
 */
function naiveLedger(path: string): { rate: number; gifts: number; ok: boolean } {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec(`CREATE TABLE balances (id TEXT PRIMARY KEY, coins INTEGER NOT NULL);
      CREATE TABLE entries (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, sender TEXT NOT NULL,
        recipient TEXT NOT NULL, coins INTEGER NOT NULL)`);
    const insert = db.prepare("INSERT INTO balances (id, coins) VALUES (?, ?)");
    db.transaction(() => {
      insert.run(creatorId, 0n);
      for (let i = 0; i < sendersTotal; i++) insert.run(`viewer${i}`, fundingCoins);
    })();
    const coinsOf = db.prepare("SELECT coins FROM balances WHERE id = ?").pluck().safeIntegers(true);
    const move = db.prepare("UPDATE balances SET coins = coins + ? WHERE id = ?");
    const entry = db.prepare("INSERT INTO entries (key, sender, recipient, coins) VALUES (?, ?, ?, ?)");
    const send = db.transaction((n: number) => {
      const sender = `viewer${n % sendersTotal}`;
      const coins = 1n;
      if ((coinsOf.get(sender) as bigint) < coins) throw new Error(`${sender} has too few coins`);
      move.run(-coins, sender);
      move.run(coins, creatorId);
      entry.run(`naive-${n}`, sender, creatorId, coins);
    });
    const started = performance.now();
    let gifts = 0;
    while (gifts < naiveGiftsMax && performance.now() - started < naiveDurationMaxMs) send.immediate(gifts++);
    const rate = gifts / ((performance.now() - started) / 1000);
    const total = db.prepare("SELECT SUM(coins) FROM balances").pluck().safeIntegers(true).get() as bigint;
    const creator = coinsOf.get(creatorId) as bigint;
    return { rate, gifts, ok: total === fundingCoins * BigInt(sendersTotal) && creator === BigInt(gifts) };
  } finally {
    db.close();
  }
}
