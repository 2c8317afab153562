import { randomBytes } from "node:crypto";
import pg from "pg";
import { answerSliceRequests } from "../src/cli/runtime.js";
import { Ledger } from "../src/ledger/index.js";
import { openPool } from "../src/store/postgres/pool.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";
import { sendToHotAccount } from "./hot-account.js";
import { formatRate, percentile, printTable } from "./stats.js";

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test";
/** The naive baseline runs this many transfers per client count, and at most this long. */
const naiveTransfersMax = 3_000;
const naiveDurationMaxMs = 15_000;

/**
 * The ledger store on PostgreSQL: 10,000 senders push transfers to one hot account through the
 * Ledger's group commit (one transaction per batch, set-based SQL), each with an idempotency key,
 * with `synchronous_commit=on`. Beside it, from the same run: the raw ceiling (the same rows as
 * plain INSERTs over unnest in one transaction, no logic) and a naive ledger (one transaction per
 * transfer with row locks, as a hand-written ledger does it) at 1, 8 and 32 clients.
 * Runs in a schema of its own, dropped at the end.
 */
export async function benchPgLedger(): Promise<void> {
  const url =
    process.env.GIFTSTREAM_BENCH_DATABASE_URL ?? process.env.GIFTSTREAM_TEST_DATABASE_URL ?? defaultUrl;
  const transfersTotal = Number(process.env.BENCH_TRANSFERS ?? 100_000);
  const accountsTotal = 10_000;
  const perAccount = Math.ceil(transfersTotal / accountsTotal);
  const schema = `gs_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`\npg-ledger: PostgreSQL at ${url} is not reachable (${String(error)}); skipped`);
    return;
  }
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const store = await PostgresLedgerStore.open({ url, schema });
    const ledger = new Ledger({
      store,
      clock: () => Date.now(),
      amountMax: 10n ** 15n,
      requestTransfersMax: 8192,
      batchTransfersMax: Number(process.env.BENCH_BATCH ?? 4096),
      batchWaitMs: 0,
      queueRequestsMax: 100_000,
      historyPageMax: 1000,
      pipelineBatchesMax: 2,
      // As `giftstream serve` sets it on PostgreSQL (ledger.answerSliceRequests 0).
      answerSliceRequests: answerSliceRequests(0, "postgres"),
    });
    const senders = Array.from({ length: accountsTotal }, (_, i) => `viewer:${i}:coins`);
    const guarded = { debitsMustNotExceedCredits: true };
    await ledger.createAccounts([
      { id: "platform:coin_issuance", unit: "COIN" },
      { id: "creator:hot:coins", unit: "COIN", flags: guarded },
    ]);
    await Promise.all(
      senders.map((id) =>
        ledger.submit({
          accounts: [
            {
              id,
              unit: "COIN",
              flags: guarded,
              opening: { debitAccountId: "platform:coin_issuance", amount: BigInt(perAccount), kind: "fund" },
            },
          ],
          transfers: [],
        }),
      ),
    );

    const {
      done,
      elapsedS,
      sortedLatenciesMs: sorted,
    } = await sendToHotAccount(ledger, senders, perAccount, (id, n) => `gift:${id}:${n}`);
    await ledger.close();
    const hot = (await store.getAccounts(["creator:hot:coins"])).get("creator:hot:coins")!;
    if (hot.creditsPosted !== BigInt(done))
      throw new Error(`hot account has ${hot.creditsPosted}, expected ${done}`);
    await store.close();

    const ceiling = await rawCeiling(url, schema, transfersTotal, senders);
    const naive = [];
    for (const clients of [1, 8, 32])
      naive.push([clients, await naiveLedger(url, schema, clients, senders)] as const);

    const rate = done / elapsedS;
    const naiveBest = Math.max(...naive.map(([, r]) => r));
    printTable(
      `pg-ledger: ${done.toLocaleString("en-US")} transfers with idempotency keys, ${accountsTotal.toLocaleString("en-US")} senders → 1 hot account, synchronous_commit=on`,
      [
        ["ledger transfers (1 process)", formatRate(rate)],
        ["commit latency p50", `${percentile(sorted, 50).toFixed(1)} ms`],
        ["commit latency p99", `${percentile(sorted, 99).toFixed(1)} ms`],
        ["raw ceiling (INSERT … unnest, 1 txn)", formatRate(ceiling)],
        ...naive.map(
          ([clients, r]) =>
            [`naive, 1 txn per transfer, ${clients} clients`, formatRate(r)] as [string, string],
        ),
        ["ledger / best naive", `${(rate / naiveBest).toFixed(1)}×`],
        ["target (issue 9, gift service)", "≥ 30,000/s and ≥ 20× the best naive"],
      ],
    );
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

/** The same transfer rows as plain INSERTs over unnest, 4,096 a statement, in one transaction. */
async function rawCeiling(url: string, schema: string, total: number, senders: string[]): Promise<number> {
  const pool = openPool({ url, schema, connectionsMax: 1 });
  const client = await pool.connect();
  try {
    await client.query("CREATE TEMP TABLE raw_transfers (LIKE transfers INCLUDING ALL)");
    const chunk = 4096;
    const started = performance.now();
    await client.query("BEGIN");
    for (let from = 0; from < total; from += chunk) {
      const n = Math.min(chunk, total - from);
      const ids = Array.from({ length: n }, (_, i) => BigInt(from + i + 1));
      await client.query(
        `INSERT INTO raw_transfers (id, type, debit_account_id, credit_account_id, amount, kind, created_at)
         SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[])`,
        [
          ids,
          ids.map(() => 0),
          ids.map((_, i) => senders[(from + i) % senders.length]!),
          ids.map(() => "creator:hot:coins"),
          ids.map(() => 1n),
          ids.map(() => "gift"),
          ids.map(() => BigInt(Date.now())),
        ],
      );
    }
    await client.query("COMMIT");
    return total / ((performance.now() - started) / 1000);
  } finally {
    client.release(true);
    await pool.end();
  }
}

/**
 * A hand-written ledger: per transfer, one transaction that locks both accounts in id order,
 * checks the balance, updates both, and inserts the row. Bounded by count and time.
 */
async function naiveLedger(url: string, schema: string, clients: number, senders: string[]): Promise<number> {
  const pool = openPool({ url, schema, connectionsMax: clients });
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + naiveDurationMaxMs;
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        const client = await pool.connect();
        try {
          while (next < naiveTransfersMax && performance.now() < deadline) {
            const sender = senders[next++ % senders.length]!;
            await client.query("BEGIN");
            const { rows } = await client.query<{
              id: string;
              credits_posted: bigint;
              debits_posted: bigint;
            }>(
              "SELECT id, credits_posted, debits_posted FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
              [[sender, "platform:coin_issuance"]],
            );
            const from = rows.find((r) => r.id === "platform:coin_issuance")!;
            if (from.credits_posted < 0n) throw new Error("unreachable");
            await client.query("UPDATE accounts SET debits_posted = debits_posted + 1 WHERE id = $1", [
              "platform:coin_issuance",
            ]);
            await client.query("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = $1", [
              sender,
            ]);
            await client.query(
              `INSERT INTO transfers (id, type, debit_account_id, credit_account_id, amount, kind, created_at)
               VALUES (nextval('transfers_id_seq'), 0, $1, $2, 1, 'naive', $3)`,
              ["platform:coin_issuance", sender, BigInt(Date.now())],
            );
            await client.query("COMMIT");
            done++;
          }
        } finally {
          client.release();
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  } finally {
    await pool.end();
  }
}
