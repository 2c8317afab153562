import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { halveAboveRequests } from "../src/cli/runtime.js";
import { Ledger } from "../src/ledger/index.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { sendToHotAccount } from "./hot-account.js";
import { formatRate, percentile, printTable } from "./stats.js";

/**
 * 10,000 debit accounts send 1,000,000 transfers to one hot credit account through the ledger's
 * group commit, with durable commits (WAL, synchronous=FULL). The baseline is the same run's raw
 * ceiling: plain INSERTs of the same rows into the same table, in one transaction, with no logic.
 */
export async function benchLedger(args: { transfers?: number; accounts?: number } = {}): Promise<void> {
  const transfersTotal = args.transfers ?? Number(process.env.BENCH_TRANSFERS ?? 1_000_000);
  const accountsTotal = args.accounts ?? 10_000;
  const perAccount = Math.ceil(transfersTotal / accountsTotal);
  const dir = mkdtempSync(join(tmpdir(), "giftstream-bench-"));
  try {
    const ceiling = rawCeiling(join(dir, "raw.db"), transfersTotal, accountsTotal);

    const store = new SqliteStore({ path: join(dir, "ledger.db") });
    const ledger = new Ledger({
      store,
      clock: () => Date.now(),
      amountMax: 10n ** 15n,
      requestTransfersMax: 8192,
      batchTransfersMax: Number(process.env.BENCH_BATCH ?? 4096),
      batchWaitMs: 0,
      queueRequestsMax: 100_000,
      historyPageMax: 1000,
      // As the service composes it on SQLite (src/cli/runtime.ts).
      halveAboveRequests: halveAboveRequests("sqlite"),
    });
    const senders = Array.from({ length: accountsTotal }, (_, i) => `viewer:${i}:coins`);
    await ledger.createAccounts([
      { id: "platform:coin_issuance", unit: "COIN" },
      { id: "creator:hot:coins", unit: "COIN", flags: { debitsMustNotExceedCredits: true } },
    ]);
    // One account-creating request each: the requests' own limit bounds how many fit in one.
    await Promise.all(
      senders.map((id) =>
        ledger.createAccounts([{ id, unit: "COIN", flags: { debitsMustNotExceedCredits: true } }]),
      ),
    );
    await Promise.all(
      senders.map((id) =>
        ledger.submit({
          transfers: [
            {
              debitAccountId: "platform:coin_issuance",
              creditAccountId: id,
              amount: BigInt(perAccount),
              kind: "fund",
            },
          ],
        }),
      ),
    );

    const { done, elapsedS, sortedLatenciesMs: sorted } = await sendToHotAccount(ledger, senders, perAccount);
    await ledger.close();
    const hot = (await store.getAccounts(["creator:hot:coins"])).get("creator:hot:coins")!;
    if (hot.creditsPosted !== BigInt(done))
      throw new Error(`hot account has ${hot.creditsPosted}, expected ${done}`);
    await store.close();

    const rate = done / elapsedS;
    printTable(
      `ledger: ${done.toLocaleString("en-US")} transfers, ${accountsTotal.toLocaleString("en-US")} senders → 1 hot account, synchronous=FULL`,
      [
        ["ledger transfers", formatRate(rate)],
        ["commit latency p50", `${percentile(sorted, 50).toFixed(1)} ms`],
        ["commit latency p99", `${percentile(sorted, 99).toFixed(1)} ms`],
        ["raw ceiling (plain INSERTs, 1 txn)", formatRate(ceiling)],
        ["ledger / raw ceiling", `${((rate / ceiling) * 100).toFixed(1)} %`],
        ["target", "≥ 150,000/s and ≥ 40 % of the raw ceiling"],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Plain INSERTs of the same transfer rows into the ledger's own schema, in one transaction. */
function rawCeiling(path: string, transfersTotal: number, accountsTotal: number): number {
  const store = new SqliteStore({ path });
  const db: Database.Database = store.database;
  const insert = db.prepare(
    `INSERT INTO transfers (type, debit_account_id, credit_account_id, amount, kind, pending_id, expires_at, metadata, created_at, debit_prev_id, credit_prev_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const ids = Array.from({ length: accountsTotal }, (_, i) => `viewer:${i}:coins`);
  const started = performance.now();
  db.transaction(() => {
    for (let i = 0; i < transfersTotal; i++) {
      insert.run(
        0n,
        ids[i % accountsTotal]!,
        "creator:hot:coins",
        1n,
        "gift",
        null,
        null,
        null,
        BigInt(Date.now()),
        null,
        null,
      );
    }
  })();
  const elapsedS = (performance.now() - started) / 1000;
  void store.close();
  return transfersTotal / elapsedS;
}
