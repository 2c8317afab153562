import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { creatorAccounts } from "../src/economy/accounts.js";
import { reconcile } from "../src/ledger/index.js";
import { openPool, withSearchPath } from "../src/store/postgres/pool.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";
import { connections, durationS, gift, giftBatch, run, start, stop, writeBenchConfig } from "./gifts-http.js";
import {
  composeOnPg,
  createViewers,
  creatorId,
  fundingCoins,
  type LoadResult,
  pgEnv,
  sendGifts,
} from "./pg-load.js";
import type { WorkerMessage, WorkerTask } from "./pg-worker.js";
import { formatRate, percentile, printTable } from "./stats.js";
import { statCpu, tickMs } from "./thread-cpu.js";

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test";
const sendersTotal = 10_000;
/**
 * Gift-service calls in flight in one process. Group commit batches what is in flight, but every
 * send first reads from the same connection pool, so more in flight mostly queues longer: 512
 * did best of 256–8,192 on the 2-core machine (see docs/benchmarks.md).
 */
const inFlightPerProcess = Number(process.env.BENCH_IN_FLIGHT ?? 512);
const processesMax = 3;
/** The naive baseline runs this many gifts per client count, and at most this long. */
const naiveGiftsMax = 3_000;
const naiveDurationMaxMs = 10_000;
const batchSize = 100;
const targetRate = 30_000;
const targetRatio = 20;

/**
 * Issue 9 on PostgreSQL: 10,000 viewers send gifts to one hot creator through the gift service
 * (in-process, as the HTTP handlers call it: idempotency keys, ledger entries and gift records,
 * which are both users' history entries too, in the batch's transaction), with `synchronous_commit=on`, in 1 process (the
 * target) and in 3 (reported); then over HTTP through `giftstream serve` (single gifts and
 * `send-batch`, reported). Beside them, from the same run, a naive ledger: one transaction per
 * gift with row locks, at 1, 8 and 32 clients. After each run the ledger is reconciled and the
 * creator's diamonds are checked against the gifts. Everything shares the machine's cores with
 * PostgreSQL. Runs in a schema of its own, dropped at the end.
 */
export async function benchPg(): Promise<void> {
  const baseUrl =
    process.env.GIFTSTREAM_BENCH_DATABASE_URL ?? process.env.GIFTSTREAM_TEST_DATABASE_URL ?? defaultUrl;
  const schema = `gs_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    console.log(`\npg: PostgreSQL at ${baseUrl} is not reachable (${String(error)}); skipped`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "giftstream-bench-pg-"));
  const databaseUrl = withSearchPath(baseUrl, schema);
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const senders = Array.from({ length: sendersTotal }, (_, i) => i);
    const checks: [string, string][] = [];
    let state = await prepare(databaseUrl, dir, senders);
    const one = await inThisProcess(databaseUrl, dir, senders);
    state = await check(checks, "1 process", databaseUrl, state, one.done, one.done, one.diamonds);
    const three = await inProcesses(databaseUrl, dir, senders);
    state = await check(checks, "3 processes", databaseUrl, state, three.done, three.done, three.diamonds);
    const http = await overHttp(databaseUrl, dir, async (label, outcome) => {
      // Requests autocannon abandoned at its deadline may still have committed: up to one per connection.
      const most = outcome.ackGifts + connections * outcome.perRequest;
      state = await check(checks, label, databaseUrl, state, outcome.ackGifts, most);
    });
    const naive = await naiveBaseline(baseUrl, schema, senders);
    report(one, three, http, naive, checks);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the gift runs measured: their gifts, rate and latencies, and where their CPU went. */
interface GiftRun {
  done: number;
  diamonds: bigint;
  rate: number;
  sortedLatenciesMs: Float64Array;
  cpu: string;
  /** Per process when there are several; failures, if any. */
  detail: string;
}

function giftRun(results: LoadResult[], wallS: number, cpu: string): GiftRun {
  const failures = results
    .filter((r) => r.failed > 0)
    .map((r) => `, ${r.failed} failed (${r.firstError})`)
    .join("");
  const done = results.reduce((sum, r) => sum + r.done, 0);
  return {
    done,
    diamonds: results.reduce((sum, r) => sum + BigInt(r.diamonds), 0n),
    rate: done / wallS,
    sortedLatenciesMs: Float64Array.from(results.flatMap((r) => r.latenciesMs)).sort(),
    cpu,
    detail:
      (results.length > 1
        ? ` (per process: ${results.map((r) => formatRate(r.done / r.elapsedS)).join(", ")})`
        : "") + failures,
  };
}

/** 1 process: this one, with the gift service composed in it. */
async function inThisProcess(databaseUrl: string, dir: string, senders: number[]): Promise<GiftRun> {
  const composed = await composeOnPg(databaseUrl, dir);
  try {
    const before = cpuNow();
    const result = await sendGifts(composed.gifts, {
      senders,
      durationMs: durationS * 1000,
      inFlight: inFlightPerProcess,
      tag: "one",
    });
    return giftRun([result], result.elapsedS, cpuSince(before, result.cpuMs, result.done));
  } finally {
    await composed.close();
  }
}

function report(
  one: GiftRun,
  three: GiftRun,
  http: { single: HttpOutcome; batch: HttpOutcome },
  naive: { clients: number; rate: number; done: number; ok: boolean }[],
  checks: [string, string][],
): void {
  const naiveBest = Math.max(...naive.map((n) => n.rate));
  const latency = (run: { p50: number; p99: number }) => `p50 ${run.p50} ms, p99 ${run.p99} ms`;
  const giftLine = (run: GiftRun) =>
    `${formatRate(run.rate)}, ${latency({
      p50: Math.round(percentile(run.sortedLatenciesMs, 50)),
      p99: Math.round(percentile(run.sortedLatenciesMs, 99)),
    })}${run.detail}`;
  const ratio = one.rate / naiveBest;
  printTable(
    `pg: ${sendersTotal.toLocaleString("en-US")} viewers → 1 creator through the gift service on PostgreSQL, synchronous_commit=on, idempotency keys, ${durationS} s per run, ${inFlightPerProcess.toLocaleString("en-US")} sends in flight per process`,
    [
      ["gifts, 1 process (target)", giftLine(one)],
      [`gifts, ${processesMax} processes (reported)`, giftLine(three)],
      ["CPU, 1 process", one.cpu],
      [`CPU, ${processesMax} processes`, three.cpu],
      [
        "HTTP POST /v1/gifts/send (reported)",
        `${formatRate(http.single.rate)}, ${latency(http.single)}, errors ${http.single.errors}`,
      ],
      [
        `HTTP POST /v1/gifts/send-batch, ${batchSize}/request (reported)`,
        `${formatRate(http.batch.rate)} gifts, ${latency(http.batch)}, errors ${http.batch.errors}`,
      ],
      ...naive.map((n): [string, string] => [
        `naive, 1 txn per gift, ${n.clients} clients`,
        `${formatRate(n.rate)} (${n.done.toLocaleString("en-US")} gifts), ${n.ok ? "ok" : "FAILED"}`,
      ]),
      [
        "1 process vs target",
        `${formatRate(one.rate)} of ${formatRate(targetRate)}: ${one.rate >= targetRate ? "met" : "MISSED"}`,
      ],
      [
        "1 process / best naive",
        `${ratio.toFixed(1)}× of ${targetRatio}×: ${ratio >= targetRatio ? "met" : "MISSED"}`,
      ],
      ...checks,
    ],
  );
}

interface GiftState {
  /** Gift rows for the creator, and the diamonds they and the ledger hold. */
  rows: number;
  diamonds: bigint;
}

/** The creator and the viewers, each viewer funded by a bonus grant, through the services. */
async function prepare(databaseUrl: string, dir: string, senders: number[]): Promise<GiftState> {
  const composed = await composeOnPg(databaseUrl, dir);
  try {
    await createViewers(composed, senders);
  } finally {
    await composed.close();
  }
  return { rows: 0, diamonds: 0n };
}

/**
 * After a run: the ledger reconciles, the creator's diamonds in the ledger equal the diamonds of
 * their gift rows, and the run added between `fewest` and `most` gifts (and exactly `diamonds`
 * when the run knows every answer). Adds an ok/FAILED line to `checks`; answers the new state.
 */
async function check(
  checks: [string, string][],
  label: string,
  databaseUrl: string,
  before: GiftState,
  fewest: number,
  most: number,
  diamonds?: bigint,
): Promise<GiftState> {
  const store = await PostgresLedgerStore.open({ url: databaseUrl, connectionsMax: 2 });
  try {
    const started = performance.now();
    const report = await reconcile(store);
    const ids = [
      creatorAccounts.pendingDiamonds(creatorId).id,
      creatorAccounts.withdrawableDiamonds(creatorId).id,
    ];
    let ledgerDiamonds = 0n;
    for (const account of (await store.getAccounts(ids)).values())
      ledgerDiamonds += account.creditsPosted - account.debitsPosted;
    const row = await store.get(
      "SELECT count(*) AS n, COALESCE(SUM(diamonds), 0) AS d FROM gifts WHERE recipient_id = ?",
      [creatorId],
    );
    const after = { rows: Number(row!.n), diamonds: BigInt(row!.d as string) };
    const added = after.rows - before.rows;
    const problems = report.problems.slice(0, 3);
    if (ledgerDiamonds !== after.diamonds)
      problems.push(`ledger has ${ledgerDiamonds} diamonds, gift rows ${after.diamonds}`);
    if (added < fewest || added > most) problems.push(`${added} gift rows added, expected ${fewest}–${most}`);
    if (diamonds !== undefined && after.diamonds - before.diamonds !== diamonds)
      problems.push(`${after.diamonds - before.diamonds} diamonds added, receipts say ${diamonds}`);
    const took = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    checks.push([
      `check after ${label}`,
      problems.length === 0
        ? `ok (reconciled ${report.accounts.toLocaleString("en-US")} accounts; ${added.toLocaleString("en-US")} gifts, creator's diamonds = gift rows; ${took})`
        : `FAILED: ${problems.join("; ")}`,
    ]);
    return after;
  } finally {
    await store.close();
  }
}

/**
 * Forks the worker processes, each with its share of the senders (disjoint), and starts them
 * together; the rate is all their gifts over the wall time from `go` to the last answer.
 */
async function inProcesses(databaseUrl: string, dir: string, senders: number[]): Promise<GiftRun> {
  const profile = process.env.BENCH_PROFILE_DIR
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const children: ChildProcess[] = [];
  let closing = false;
  try {
    const ready: Promise<void>[] = [];
    const results: Promise<LoadResult>[] = [];
    for (let p = 0; p < processesMax; p++) {
      const task: WorkerTask = {
        senders: senders.filter((i) => i % processesMax === p),
        durationMs: durationS * 1000,
        inFlight: inFlightPerProcess,
        tag: `three-${p}`,
      };
      const child = fork(join(import.meta.dirname, "pg-worker.js"), [JSON.stringify(task)], {
        env: { ...process.env, ...pgEnv(databaseUrl, dir) },
        execArgv: ["--max-semi-space-size=64", ...profile],
      });
      children.push(child);
      const exited = new Promise<never>((_, reject) =>
        child.on("exit", (code) => reject(new Error(`pg worker ${p} exited with ${code}`))),
      );
      ready.push(Promise.race([messageOf(child, "ready").then(() => undefined), exited]));
      results.push(Promise.race([messageOf(child, "result").then((m) => m.result), exited]));
    }
    await Promise.all(ready);
    const before = cpuNow();
    const started = performance.now();
    for (const child of children) child.send("go");
    const settled = await Promise.all(results);
    const wallS = (performance.now() - started) / 1000;
    const cpu = cpuSince(
      before,
      settled.reduce((sum, r) => sum + r.cpuMs, 0),
      settled.reduce((sum, r) => sum + r.done, 0),
    );
    for (const child of children) child.send("close");
    closing = true;
    return giftRun(settled, wallS, cpu);
  } finally {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        // On a failure the others still wait for `go` or `close`: stop them.
        if (!closing) child.kill();
        return exited;
      }),
    );
  }
}

function messageOf<T extends WorkerMessage["type"]>(
  child: ChildProcess,
  type: T,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve) => {
    const listen = (message: WorkerMessage) => {
      if (message.type !== type) return;
      child.off("message", listen);
      resolve(message as Extract<WorkerMessage, { type: T }>);
    };
    child.on("message", listen);
  });
}

interface HttpOutcome {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** Gifts the answers said were sent. */
  ackGifts: number;
  perRequest: number;
}

/**
 * `giftstream serve` on the schema, driven by autocannon as gifts-http drives it: single gifts,
 * then batches of 100. The server is restarted between the two, so that each run is checked with
 * no request still in flight.
 */
async function overHttp(
  databaseUrl: string,
  dir: string,
  after: (label: string, outcome: HttpOutcome) => Promise<void>,
): Promise<{ single: HttpOutcome; batch: HttpOutcome }> {
  const main = join(import.meta.dirname, "..", "src", "cli", "main.js");
  const env = {
    ...pgEnv(databaseUrl, dir),
    PORT: "0",
    LOG_LEVEL: "info",
    GIFTSTREAM_CONFIG: process.env.BENCH_CONFIG ?? writeBenchConfig(dir),
  };
  const drive = async (path: string, body: (n: number) => object, perRequest: number) => {
    const server = await start([main, "serve"], env);
    let ackGifts = 0;
    try {
      const result = await run(server.url, path, body, perRequest, (status, text) => {
        if (status === 201) ackGifts++;
        else if (status === 200)
          ackGifts += (JSON.parse(text) as { results: { ok: boolean }[] }).results.filter((r) => r.ok).length;
      });
      return { ...result, ackGifts, perRequest };
    } finally {
      await stop(server);
    }
  };
  const single = await drive("/v1/gifts/send", (n) => gift(n % sendersTotal), 1);
  await after("HTTP single", single);
  const batch = await drive("/v1/gifts/send-batch", (n) => giftBatch(n, batchSize, sendersTotal), batchSize);
  await after("HTTP batch", batch);
  return { single, batch };
}

/**
 * A hand-written ledger on tables of its own in the same schema: per gift, one transaction that
 * locks the viewer's and the creator's balance rows (in id order), checks the viewer's coins,
 * updates both, and inserts the entry with its idempotency key (unique). Bounded by count and
 * time per client count; then checked: the creator holds 2 diamonds per entry, and the viewers
 * lost one coin per entry.
 */
async function naiveBaseline(
  baseUrl: string,
  schema: string,
  senders: number[],
): Promise<{ clients: number; rate: number; done: number; ok: boolean }[]> {
  const pool = openPool({ url: baseUrl, schema, connectionsMax: 32 });
  try {
    await pool.query(`
      CREATE TABLE naive_balances (id text COLLATE "C" PRIMARY KEY, balance bigint NOT NULL);
      CREATE TABLE naive_entries (
        id bigserial PRIMARY KEY, idempotency_key text COLLATE "C" NOT NULL UNIQUE,
        sender_id text NOT NULL, recipient_id text NOT NULL,
        coins bigint NOT NULL, diamonds bigint NOT NULL, created_at bigint NOT NULL);
      INSERT INTO naive_balances SELECT 'viewer' || i, ${fundingCoins} FROM generate_series(0, ${senders.length - 1}) i;
      INSERT INTO naive_balances VALUES ('${creatorId}', 0);`);
    const results = [];
    for (const clients of [1, 8, 32]) {
      const { rate, done } = await naiveRun(pool, clients, senders, `naive-${clients}`);
      const { rows } = await pool.query<{ entries: bigint; creator: bigint; spent: string }>(
        `SELECT (SELECT count(*) FROM naive_entries) AS entries,
                (SELECT balance FROM naive_balances WHERE id = $1) AS creator,
                (SELECT SUM(${fundingCoins} - balance) FROM naive_balances WHERE id <> $1) AS spent`,
        [creatorId],
      );
      const { entries, creator, spent } = rows[0]!;
      results.push({ clients, rate, done, ok: creator === 2n * entries && BigInt(spent) === entries });
    }
    return results;
  } finally {
    await pool.end();
  }
}

async function naiveRun(
  pool: pg.Pool,
  clients: number,
  senders: number[],
  tag: string,
): Promise<{ rate: number; done: number }> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + naiveDurationMaxMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = await pool.connect();
      try {
        while (next < naiveGiftsMax && performance.now() < deadline) {
          const n = next++;
          const sender = gift(senders[n % senders.length]!).senderId;
          await client.query("BEGIN");
          const { rows } = await client.query<{ id: string; balance: bigint }>(
            "SELECT id, balance FROM naive_balances WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
            [[sender, creatorId]],
          );
          if (rows.find((r) => r.id === sender)!.balance < 1n) {
            await client.query("ROLLBACK");
            throw new Error(`naive: ${sender} has no coins left`);
          }
          await client.query("UPDATE naive_balances SET balance = balance - 1 WHERE id = $1", [sender]);
          await client.query("UPDATE naive_balances SET balance = balance + 2 WHERE id = $1", [creatorId]);
          await client.query(
            `INSERT INTO naive_entries (idempotency_key, sender_id, recipient_id, coins, diamonds, created_at)
             VALUES ($1, $2, $3, 1, 2, $4)`,
            [`${tag}-${n}`, sender, creatorId, BigInt(Date.now())],
          );
          await client.query("COMMIT");
          done++;
        }
      } finally {
        client.release();
      }
    }),
  );
  return { rate: done / ((performance.now() - started) / 1000), done };
}

interface CpuSnapshot {
  wallMs: number;
  /** CPU ms of each PostgreSQL process alive now, by pid. */
  postgresMs: Map<string, number>;
  /** The whole machine: busy and total CPU ms. */
  busyMs: number;
  totalMs: number;
}

/** CPU used so far, from `/proc`; undefined where there is none. */
function cpuNow(): CpuSnapshot | undefined {
  try {
    const ticks = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    const idle = ticks[3]! + ticks[4]!;
    const postgresMs = new Map<string, number>();
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const { name, userMs, sysMs } = statCpu(`/proc/${pid}/stat`);
        if (name === "postgres") postgresMs.set(pid, userMs + sysMs);
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return {
      wallMs: performance.now(),
      postgresMs,
      busyMs: (total - idle) * tickMs,
      totalMs: total * tickMs,
    };
  } catch {
    return undefined;
  }
}

/**
 * Where a run's CPU went, per gift: the sending processes' own, PostgreSQL's (its processes alive
 * at the end), and how busy the machine was, other work included.
 */
function cpuSince(before: CpuSnapshot | undefined, nodeMs: number, gifts: number): string {
  const after = cpuNow();
  const perGift = (ms: number) => `${Math.round((ms * 1000) / Math.max(1, gifts))} µs`;
  if (!before || !after) return `node ${perGift(nodeMs)} per gift`;
  // A PostgreSQL process that ended during the run is missed, so this errs low.
  let postgresMs = 0;
  for (const [pid, ms] of after.postgresMs) postgresMs += ms - (before.postgresMs.get(pid) ?? 0);
  const busyMs = after.busyMs - before.busyMs;
  const cores = (after.totalMs - before.totalMs) / (after.wallMs - before.wallMs);
  const otherCores = (busyMs - nodeMs - postgresMs) / (after.wallMs - before.wallMs);
  return `per gift: node ${perGift(nodeMs)}, PostgreSQL ${perGift(postgresMs)}; machine ${Math.round((100 * busyMs) / (after.totalMs - before.totalMs))} % busy, other work ${Math.max(0, otherCores).toFixed(1)} of ${Math.round(cores)} cores`;
}
