import { afterEach, describe, expect, it } from "vitest";
import { outboxEffect, outboxEvent } from "../../economy/events/events.js";
import { GiftstreamError } from "../../errors.js";
import { Ledger } from "../../ledger/ledger.js";
import { TestClock, testLedgerDefaults } from "../../ledger/ledger.testkit.js";
import { reconcile } from "../../ledger/reconcile.js";
import type { JsonObject, LedgerResult } from "../../ledger/types.js";
import { checkout } from "./checkout.js";
import { migratePostgres } from "./migrate.js";
import { postgresMigrations } from "./migrations.js";
import { openPool } from "./pool.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "./postgres.testkit.js";
import { PostgresLedgerStore } from "./postgres-ledger-store.js";

const available = await requirePostgres();

/**
 * The ledger on PostgreSQL, with "processes" that share one database: each node below is its
 * own pool and its own Ledger (its own group committer), exactly what a second process has.
 */
interface Node {
  ledger: Ledger;
  store: PostgresLedgerStore;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(nodes: number, options: { batchTransfersMax?: number } = {}): Promise<Node[]> {
  const { schema, drop } = await createTestSchema();
  cleanups.push(drop);
  const clock = new TestClock();
  const opened: Node[] = [];
  for (let i = 0; i < nodes; i++) {
    const store = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema, connectionsMax: 4 });
    const ledger = new Ledger({
      ...testLedgerDefaults,
      ...options,
      store,
      clock: clock.now,
      onInvariantViolation: (error) => {
        throw error;
      },
    });
    cleanups.push(async () => {
      await ledger.close();
      await store.close();
    });
    opened.push({ ledger, store });
  }
  return opened;
}

const guarded = { debitsMustNotExceedCredits: true };

function outcome(settled: PromiseSettledResult<LedgerResult>): string {
  if (settled.status === "fulfilled") return settled.value.replayed ? "replayed" : "ok";
  const reason = settled.reason as unknown;
  return reason instanceof GiftstreamError ? reason.code : `unexpected: ${String(reason)}`;
}

function tally(settled: PromiseSettledResult<LedgerResult>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of settled) counts[outcome(s)] = (counts[outcome(s)] ?? 0) + 1;
  return counts;
}

async function expectReconciled(store: PostgresLedgerStore): Promise<void> {
  const report = await reconcile(store);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}

/** Each account's history, paged to the end through the ledger, is exactly its transfers newest first. */
async function expectHistoryChains(node: Node, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const walked: bigint[] = [];
    let cursor: string | undefined;
    do {
      const page = await node.ledger.history(
        id,
        cursor === undefined ? { limit: 97 } : { limit: 97, cursor },
      );
      walked.push(...page.transfers.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const { rows } = await node.store.pool.query<{ id: bigint }>(
      "SELECT id FROM transfers WHERE debit_account_id = $1 OR credit_account_id = $1 ORDER BY id DESC",
      [id],
    );
    expect(walked).toEqual(rows.map((r) => r.id));
  }
}

describe.skipIf(!available)("the ledger on PostgreSQL", () => {
  it("connects with durable commits and reads int8 as bigint, numeric as a string", async () => {
    const [node] = await cluster(1);
    const { rows } = await node!.store.pool.query(
      "SELECT current_setting('synchronous_commit') AS sc, 9223372036854775807::bigint AS big, 0.1::numeric AS dec, ARRAY[1, 2]::bigint[] AS arr",
    );
    expect(rows[0]).toEqual({ sc: "on", big: 2n ** 63n - 1n, dec: "0.1", arr: [1n, 2n] });
  });

  it("keeps commits durable and its schema whatever the URL's own options say", async () => {
    const { schema, drop } = await createTestSchema();
    cleanups.push(drop);
    const url = new URL(testDatabaseUrl);
    url.searchParams.set("options", "-c synchronous_commit=off -c search_path=public -c application_name=gs");
    const pool = openPool({ url: url.toString(), schema });
    cleanups.push(() => pool.end());
    const { rows } = await pool.query(
      "SELECT current_setting('synchronous_commit') AS sc, current_setting('search_path') AS sp, current_setting('application_name') AS app",
    );
    expect(rows[0]).toEqual({ sc: "on", sp: schema, app: "gs" });
  });

  it("bounds every statement and every idle transaction, and frees a stalled holder's locks", async () => {
    const { schema, drop } = await createTestSchema();
    cleanups.push(drop);
    const limits = { statementTimeoutMs: 1000, idleInTransactionTimeoutMs: 1000 };
    const pool = openPool({ url: testDatabaseUrl, schema, ...limits });
    // Waits longer than the stalled holder may idle, so the holder's end decides, not a race.
    const other = openPool({ url: testDatabaseUrl, schema, ...limits, statementTimeoutMs: 5000 });
    cleanups.push(async () => {
      await Promise.all([pool.end(), other.end()]);
    });
    const { rows } = await pool.query(
      "SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS it",
    );
    expect(rows[0]).toEqual({ st: "1s", it: "1s" });
    await expect(pool.query("SELECT pg_sleep(1.5)")).rejects.toMatchObject({ code: "57014" });

    await pool.query("CREATE TABLE hot (id int PRIMARY KEY, n int NOT NULL)");
    await pool.query("INSERT INTO hot VALUES (1, 0)");
    // A holder that stalls mid-transaction with the row locked...
    const stalled = await checkout(pool);
    await stalled.query("BEGIN");
    await stalled.query("SELECT n FROM hot WHERE id = 1 FOR UPDATE");
    // ...is ended by the server, so the next writer gets the row within its own statement limit.
    await other.query("UPDATE hot SET n = n + 1 WHERE id = 1");
    await expect(stalled.query("UPDATE hot SET n = 100 WHERE id = 1")).rejects.toThrow();
    stalled.release();
    expect((await other.query("SELECT n FROM hot")).rows).toEqual([{ n: 1 }]);
  });

  it("runs a migration past the statement limit", async () => {
    const { schema, drop } = await createTestSchema();
    cleanups.push(drop);
    const pool = openPool({ url: testDatabaseUrl, schema, statementTimeoutMs: 1000 });
    cleanups.push(() => pool.end());
    const slow = { version: 1, name: "slow", sql: "SELECT pg_sleep(1.5)" };
    expect((await migratePostgres(pool, [slow])).applied.map((m) => m.name)).toEqual(["slow"]);
  });

  it("migrates once, and again finds nothing to do, from several processes at once", async () => {
    const { schema, drop } = await createTestSchema();
    cleanups.push(drop);
    const pools = [0, 1, 2].map(() => openPool({ url: testDatabaseUrl, schema }));
    cleanups.push(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
    });
    const reports = await Promise.all(pools.map((pool) => migratePostgres(pool)));
    const newest = postgresMigrations.at(-1)!.version;
    expect(reports.map((r) => r.version)).toEqual([newest, newest, newest]);
    // Each version once, whichever process applied it.
    expect(reports.flatMap((r) => r.applied.map((m) => m.version)).sort((a, b) => a - b)).toEqual(
      postgresMigrations.map((m) => m.version),
    );
    expect((await migratePostgres(pools[0]!)).applied).toEqual([]);
    await expect(migratePostgres(pools[0]!, [])).rejects.toThrow(/newer than this Giftstream knows/);
  });

  it("loses no update and overdraws nothing with three processes on one hot account", async () => {
    const nodes = await cluster(3, { batchTransfersMax: 64 });
    const senders = Array.from({ length: 60 }, (_, i) => `sender-${i}`);
    await nodes[0]!.ledger.submit({
      accounts: [
        { id: "mint", unit: "COIN" },
        { id: "hot", unit: "COIN", flags: guarded },
        ...senders.map((id) => ({ id, unit: "COIN", flags: guarded })),
      ],
      transfers: senders.map((id) => ({
        debitAccountId: "mint",
        creditAccountId: id,
        amount: 10n,
        kind: "fund",
      })),
    });
    // Each sender tries 15 sends of 1 with 10 funded, spread over the three processes.
    const inFlight: Promise<LedgerResult>[] = [];
    for (let k = 0; k < 15; k++) {
      for (const [i, id] of senders.entries()) {
        const node = nodes[(i + k) % nodes.length]!;
        const p = node.ledger.submit({
          transfers: [{ debitAccountId: id, creditAccountId: "hot", amount: 1n, kind: "gift" }],
        });
        p.catch(() => undefined);
        inFlight.push(p);
      }
    }
    const settled = await Promise.allSettled(inFlight);
    expect(tally(settled)).toEqual({ ok: 600, debits_exceed_credits: 300 });
    expect((await nodes[1]!.ledger.balance("hot")).creditsPosted).toBe(600n);
    for (const balance of (await nodes[2]!.ledger.balances(senders)).values()) {
      expect(balance.debitsPosted).toBe(10n);
    }
    await expectReconciled(nodes[0]!.store);
    await expectHistoryChains(nodes[0]!, ["hot", "mint", "sender-0", "sender-59"]);
  });

  it("never deadlocks on transfers that cross in opposite directions between processes", async () => {
    const nodes = await cluster(2, { batchTransfersMax: 8 });
    const ids = ["a", "b", "c", "d"];
    await nodes[0]!.ledger.createAccounts(ids.map((id) => ({ id, unit: "COIN" })));
    const inFlight: Promise<LedgerResult>[] = [];
    for (let k = 0; k < 200; k++) {
      const [from, to] = k % 2 === 0 ? ["a", "d"] : ["d", "a"];
      const [other, back] = k % 3 === 0 ? ["b", "c"] : ["c", "b"];
      inFlight.push(
        nodes[k % 2]!.ledger.submit({
          transfers: [
            { debitAccountId: from!, creditAccountId: to!, amount: 1n, kind: "x" },
            { debitAccountId: other!, creditAccountId: back!, amount: 2n, kind: "y" },
          ],
        }),
      );
    }
    expect(tally(await Promise.allSettled(inFlight))).toEqual({ ok: 200 });
    await expectReconciled(nodes[1]!.store);
  });

  it("applies an idempotency key once across processes, and replays it everywhere", async () => {
    const nodes = await cluster(3);
    await nodes[0]!.ledger.createAccounts([
      { id: "mint", unit: "COIN" },
      { id: "viewer", unit: "COIN" },
    ]);
    const request = {
      idempotencyKey: "purchase-42",
      transfers: [{ debitAccountId: "mint", creditAccountId: "viewer", amount: 1000n, kind: "purchase" }],
    };
    const settled = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => nodes[i % 3]!.ledger.submit(request)),
    );
    expect(tally(settled)).toEqual({ ok: 1, replayed: 29 });
    expect((await nodes[2]!.ledger.balance("viewer")).creditsPosted).toBe(1000n);
    await expect(
      nodes[1]!.ledger.submit({ ...request, transfers: [{ ...request.transfers[0]!, amount: 1n }] }),
    ).rejects.toMatchObject({ code: "idempotency_key_reused" });
  });

  it("creates an account once when processes race to create it, with its opening funds once", async () => {
    const nodes = await cluster(3);
    await nodes[0]!.ledger.createAccounts([{ id: "allowance:pool", unit: "USD" }]);
    // 30 days, each created by all three processes at once.
    const days = Array.from({ length: 30 }, (_, d) => `allowance:day-${d}`);
    const settled = await Promise.allSettled(
      days.flatMap((id) =>
        nodes.map((node) =>
          node.ledger.submit({
            accounts: [
              {
                id,
                unit: "USD",
                flags: guarded,
                opening: { debitAccountId: "allowance:pool", amount: 100_000n, kind: "daily_limit" },
              },
            ],
            transfers: [],
          }),
        ),
      ),
    );
    expect(tally(settled)).toEqual({ ok: 90 });
    for (const balance of (await nodes[1]!.ledger.balances(days)).values()) {
      expect(balance.creditsPosted).toBe(100_000n);
    }
    expect((await nodes[1]!.ledger.balance("allowance:pool")).debitsPosted).toBe(3_000_000n);
    // Accounts with no funding share no row that would queue their creators: only the locks on
    // the ids themselves keep two processes from inserting the same one.
    const wallets = Array.from({ length: 30 }, (_, i) => `wallet-${i}`);
    const created = await Promise.allSettled(
      wallets.flatMap((id) => nodes.map((node) => node.ledger.createAccounts([{ id, unit: "COIN" }]))),
    );
    expect(created.filter((r) => r.status === "rejected")).toEqual([]);
    expect((await nodes[0]!.ledger.balances(wallets)).size).toBe(30);
    await expectReconciled(nodes[2]!.store);
  });

  it("lets exactly one of a post and a void close a hold across processes", async () => {
    const nodes = await cluster(2);
    await nodes[0]!.ledger.submit({
      accounts: [
        { id: "creator", unit: "DIAMOND" },
        { id: "clearing", unit: "DIAMOND" },
      ],
      transfers: [],
    });
    const holds: bigint[] = [];
    for (let i = 0; i < 20; i++) {
      const { transfers } = await nodes[i % 2]!.ledger.submit({
        transfers: [
          {
            type: "pending",
            debitAccountId: "creator",
            creditAccountId: "clearing",
            amount: 5n,
            kind: "cashout",
          },
        ],
      });
      holds.push(transfers[0]!.id);
    }
    const settled = await Promise.allSettled(
      holds.flatMap((pendingId) => [
        nodes[0]!.ledger.submit({ transfers: [{ type: "post_pending", pendingId, kind: "paid" }] }),
        nodes[1]!.ledger.submit({ transfers: [{ type: "void_pending", pendingId, kind: "failed" }] }),
      ]),
    );
    const counts = tally(settled);
    expect(counts.ok).toBe(20);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
    const creator = await nodes[0]!.ledger.balance("creator");
    expect(creator.debitsPending).toBe(0n);
    await expectReconciled(nodes[0]!.store);
  });

  it("expires holds and purges old idempotency records", async () => {
    const [node] = await cluster(1);
    await node!.ledger.createAccounts([
      { id: "a", unit: "COIN" },
      { id: "b", unit: "COIN" },
    ]);
    const start = Date.UTC(2026, 0, 1);
    await node!.ledger.submit({
      idempotencyKey: "k1",
      transfers: [
        {
          type: "pending",
          debitAccountId: "a",
          creditAccountId: "b",
          amount: 3n,
          kind: "h",
          expiresAt: start + 10,
        },
      ],
    });
    expect(await node!.store.listExpiredPending(start + 10, 10)).toHaveLength(1);
    expect(await node!.store.listExpiredPending(start + 9, 10)).toHaveLength(0);
    expect(await node!.ledger.purgeIdempotency(-1)).toBe(1);
    expect(await node!.store.getIdempotency("k1")).toBeUndefined();
    await expectReconciled(node!.store);
  });

  it("locks a batch of thousands of accounts and keys without overflowing the server's lock table", async () => {
    const [node] = await cluster(1);
    // Three requests of 6,000 new accounts each (and a key each) share one batch: one advisory
    // lock per id would ask for 18,000, far past PostgreSQL's default lock table (about 6,400
    // entries, with some slack), and fail the whole batch with "out of shared memory".
    const accounts = (prefix: string) =>
      Array.from({ length: 6000 }, (_, i) => ({ id: `${prefix}${i}`, unit: "COIN" as const }));
    await Promise.all(
      ["a", "b", "c"].map((p) =>
        node!.ledger.submit({ accounts: accounts(p), transfers: [], idempotencyKey: `many-${p}` }),
      ),
    );
    const { n } = (await node!.store.get("SELECT COUNT(*) AS n FROM accounts"))!;
    expect(n).toBe(18_000n);
  });

  it("writes a batch's gift rows, history rows and wanted webhook events set-based, in request order", async () => {
    const [node] = await cluster(1);
    await node!.ledger.createAccounts([
      { id: "a", unit: "COIN" },
      { id: "b", unit: "COIN" },
    ]);
    // Two endpoints take gift.sent; nobody takes user.restricted.
    await node!.store.execute([
      {
        sql: "INSERT INTO webhook_subscriptions (type, endpoint_id) VALUES ('gift.sent', 'we_1'), ('gift.sent', 'we_2')",
        params: [],
      },
    ]);
    const count = 120;
    const gift = (i: number): JsonObject => ({
      id: `gft_${String(count - i).padStart(4, "0")}`,
      senderId: `v${i}`,
      recipientId: "c",
      giftId: "rose",
      quantity: 1,
      coins: String(i + 1),
      diamonds: String(i),
      source: "live",
      contextType: "live",
      contextId: 'stream "one"',
      valueUsd: "0.005",
      commissionRate: "0.5",
      economyVersion: "ev_1",
      createdAt: 1000 + i,
      maturesAt: 2000 + i,
    });
    // Submitted together: they share group-commit batches, so their rows are written many per statement.
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        node!.ledger.submit({
          transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 1n, kind: "gift" }],
          effects: [
            { type: "gift.record", data: gift(i) },
            {
              type: "activity.record",
              data: { userId: `v${i}`, kind: "gift_sent", at: i, note: 'a "quote"' },
            },
            outboxEffect([
              outboxEvent("gift.sent", `g${i}`, 1000 + i, { id: gift(i).id as string }),
              outboxEvent("user.restricted", `u${i}`, 1000 + i, { id: `v${i}` }),
            ]),
          ],
        }),
      ),
    );
    const gifts = await node!.store.all("SELECT * FROM gifts ORDER BY rowid");
    expect(gifts.map((r) => r.id)).toEqual(Array.from({ length: count }, (_, i) => gift(i).id));
    // Every column of every row is its own gift's: no list shifted against another.
    expect(gifts).toEqual(
      Array.from({ length: count }, (_, i) => {
        const g = gift(i);
        return expect.objectContaining({
          id: g.id,
          sender_id: g.senderId,
          recipient_id: g.recipientId,
          catalog_id: g.giftId,
          quantity: 1n,
          coins: BigInt(g.coins as string),
          diamonds: BigInt(g.diamonds as string),
          source: g.source,
          context_type: "live",
          context_id: 'stream "one"',
          value_usd: g.valueUsd,
          commission_rate: g.commissionRate,
          economy_version: g.economyVersion,
          status: "pending",
          created_at: BigInt(g.createdAt as number),
          matures_at: BigInt(g.maturesAt as number),
        });
      }),
    );
    const activity = await node!.store.all("SELECT user_id, data FROM activity ORDER BY id");
    expect(activity.map((r) => r.user_id)).toEqual(Array.from({ length: count }, (_, i) => `v${i}`));
    expect(JSON.parse(activity[3]!.data as string)).toMatchObject({ note: 'a "quote"' });
    // Only the subscribed type is stored, and its deliveries follow the events' order, then the
    // endpoints': the order each endpoint is sent them in.
    const deliveries = await node!.store.all(
      `SELECT e.seq, e.type, e.payload, d.endpoint_id, d.id FROM webhook_events e
       JOIN webhook_deliveries d ON d.event_seq = e.seq ORDER BY e.seq, d.endpoint_id`,
    );
    expect(deliveries.map((d) => d.type)).toEqual(Array(2 * count).fill("gift.sent"));
    expect(deliveries.map((d) => d.endpoint_id)).toEqual(
      Array.from({ length: 2 * count }, (_, i) => (i % 2 === 0 ? "we_1" : "we_2")),
    );
    expect(
      deliveries
        .filter((d) => d.endpoint_id === "we_1")
        .map((d) => (JSON.parse(d.payload as string) as { data: { id: string } }).data.id),
    ).toEqual(gifts.map((g) => g.id));
    const ids = deliveries.map((d) => d.id as bigint);
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : 1)));
    await expectReconciled(node!.store);
  });

  it("writes a request's domain records in its transaction, and rolls both back when one cannot be written", async () => {
    const [node] = await cluster(1);
    await node!.ledger.createAccounts([
      { id: "a", unit: "COIN" },
      { id: "b", unit: "COIN" },
    ]);
    const activity = (userId: string) => ({
      type: "activity.record",
      data: { userId, kind: "gift_sent", at: 1 },
    });
    await node!.ledger.submit({
      transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 1n, kind: "gift" }],
      effects: [activity("u1"), activity("u2")],
    });
    const purchase = {
      id: "pur_1",
      userId: "u3",
      packId: "p",
      coins: "0",
      priceMinor: "99",
      currency: "USD",
      provider: "test",
      status: "completed",
      providerRef: null,
      paymentRef: null,
      economyVersion: "v",
      channel: "web",
      country: "US",
      createdAt: 1,
      updatedAt: 1,
    };
    const rows = await node!.store.all("SELECT user_id FROM activity ORDER BY id");
    expect(rows.map((r) => r.user_id)).toEqual(["u1", "u2"]);
    await expect(
      node!.ledger.submit({
        transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 1n, kind: "gift" }],
        // The purchases table refuses zero coins (CHECK), after the activity row was written.
        effects: [activity("u3"), { type: "purchase.upsert", data: purchase }],
      }),
    ).rejects.toThrow(/check constraint/);
    expect((await node!.ledger.balance("a")).debitsPosted).toBe(1n);
    expect(await node!.store.all("SELECT user_id FROM activity WHERE user_id = 'u3'")).toEqual([]);
  });
});
