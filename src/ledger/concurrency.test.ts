import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GiftstreamError } from "../errors.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { Ledger, type LedgerOptions } from "./ledger.js";
import { openTestLedger, TestClock, type TestLedger, testLedgerDefaults } from "./ledger.testkit.js";
import { reconcile } from "./reconcile.js";
import type { LedgerResult } from "./types.js";

const opened: TestLedger[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.dispose()));
});

function open(options: Partial<Omit<LedgerOptions, "store" | "clock">> = {}): TestLedger {
  const t = openTestLedger(options);
  opened.push(t);
  return t;
}

const guarded = { debitsMustNotExceedCredits: true };

function outcomeOf(settled: PromiseSettledResult<LedgerResult>): string {
  if (settled.status === "fulfilled") return "ok";
  const reason = settled.reason as unknown;
  return reason instanceof GiftstreamError ? reason.code : `unexpected: ${String(reason)}`;
}

function tally(settled: PromiseSettledResult<LedgerResult>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of settled) {
    const key = outcomeOf(s);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function expectReconciled(t: TestLedger): Promise<void> {
  const report = await reconcile(t.store);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}

/** Marks a rejection as expected at once, so a wave that fails before it is awaited is not "unhandled". */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Each account's history, paged to the end, is exactly its transfers newest first. */
async function expectHistoryChains(
  ledger: Ledger,
  store: SqliteStore,
  ids: readonly string[],
): Promise<void> {
  const expected = store.database.prepare(
    "SELECT id FROM transfers WHERE debit_account_id = ? OR credit_account_id = ? ORDER BY id DESC",
  );
  for (const id of ids) {
    const walked: bigint[] = [];
    let cursor: string | undefined;
    do {
      const page = await ledger.history(id, cursor === undefined ? { limit: 97 } : { limit: 97, cursor });
      walked.push(...page.transfers.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const rows = expected.all(id, id) as { id: bigint }[];
    expect(walked).toEqual(rows.map((r) => r.id));
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe("many concurrent writers on one hot account", () => {
  it.each([
    { batchTransfersMax: 4096, label: "large batches" },
    { batchTransfersMax: 50, label: "small batches" },
  ])("loses no update with $label", async ({ batchTransfersMax }) => {
    const t = open({ batchTransfersMax });
    const senders = Array.from({ length: 200 }, (_, i) => `sender-${i}`);
    await t.ledger.submit({
      accounts: [
        { id: "mint", unit: "COIN" },
        { id: "hot", unit: "COIN", flags: guarded },
        ...senders.map((id) => ({ id, unit: "COIN", flags: guarded })),
      ],
      transfers: senders.map((id) => ({
        debitAccountId: "mint",
        creditAccountId: id,
        amount: 50n,
        kind: "fund",
      })),
    });

    // 6 waves × 200 senders × 10 sends of 1: each sender tries 60 with 50 funded. Waves start
    // while earlier ones are still committing; nothing is awaited until all are in flight.
    const waves = 6;
    const perWave = 10;
    const inFlight: Promise<LedgerResult>[] = [];
    const bySender = new Map<string, Promise<LedgerResult>[]>(senders.map((id) => [id, []]));
    const hotReads: bigint[] = [];
    for (let wave = 0; wave < waves; wave++) {
      for (let k = 0; k < perWave; k++) {
        for (const id of senders) {
          const p = handled(
            t.ledger.submit({
              transfers: [{ debitAccountId: id, creditAccountId: "hot", amount: 1n, kind: `wave-${wave}` }],
            }),
          );
          inFlight.push(p);
          bySender.get(id)!.push(p);
        }
      }
      hotReads.push((await t.ledger.balance("hot")).creditsPosted);
      await nextTurn();
    }
    const settled = await Promise.allSettled(inFlight);
    expect(settled).toHaveLength(12_000);
    expect(tally(settled)).toEqual({ ok: 10_000, debits_exceed_credits: 2_000 });

    const hot = await t.ledger.balance("hot");
    expect(hot.creditsPosted).toBe(10_000n);
    expect(hot.posted).toBe(10_000n);
    expect(hot.debitsPosted).toBe(0n);
    // Reads taken while writes were in flight only ever saw committed, growing totals.
    for (let i = 1; i < hotReads.length; i++) expect(hotReads[i]! >= hotReads[i - 1]!).toBe(true);
    expect(hotReads.at(-1)! <= 10_000n).toBe(true);

    const balances = await t.ledger.balances(senders);
    for (const id of senders) {
      const results = await Promise.allSettled(bySender.get(id)!);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(50);
      expect(balances.get(id)).toMatchObject({
        creditsPosted: 50n,
        debitsPosted: 50n,
        posted: 0n,
        available: 0n,
      });
    }
    // Every success has its own transfer id; ids are unique and dense after the 200 fundings.
    const granted = settled.flatMap((s) =>
      s.status === "fulfilled" ? s.value.transfers.map((r) => r.id) : [],
    );
    expect(new Set(granted).size).toBe(10_000);
    const sorted = [...granted].sort((a, b) => (a < b ? -1 : 1));
    expect(sorted[0]).toBe(201n);
    expect(sorted.at(-1)).toBe(10_200n);
    await expectHistoryChains(t.ledger, t.store, ["hot", "mint", ...senders.slice(0, 20)]);
    await expectReconciled(t);
  });

  it.each([
    { batchTransfersMax: 4096, label: "large batches" },
    { batchTransfersMax: 64, label: "small batches" },
  ])("overdraft race with $label: exactly the funded amount goes out", async ({ batchTransfersMax }) => {
    const t = open({ batchTransfersMax });
    const sinks = Array.from({ length: 10 }, (_, i) => `sink-${i}`);
    await t.ledger.submit({
      accounts: [
        { id: "mint", unit: "COIN" },
        { id: "payer", unit: "COIN", flags: guarded },
        ...sinks.map((id) => ({ id, unit: "COIN" })),
      ],
      transfers: [{ debitAccountId: "mint", creditAccountId: "payer", amount: 1000n, kind: "fund" }],
    });

    const attempts = Array.from({ length: 3000 }, (_, i) =>
      t.ledger.submit({
        transfers: [
          { debitAccountId: "payer", creditAccountId: sinks[i % sinks.length]!, amount: 1n, kind: "spend" },
        ],
      }),
    );
    const settled = await Promise.allSettled(attempts);
    expect(tally(settled)).toEqual({ ok: 1000, debits_exceed_credits: 2000 });
    // The first 1,000 submitted win: a batch applies its requests in order.
    expect(settled.slice(0, 1000).every((s) => s.status === "fulfilled")).toBe(true);

    expect(await t.ledger.balance("payer")).toEqual({
      accountId: "payer",
      unit: "COIN",
      debitsPosted: 1000n,
      creditsPosted: 1000n,
      debitsPending: 0n,
      creditsPending: 0n,
      posted: 0n,
      pending: 0n,
      available: 0n,
    });
    const sinkBalances = await t.ledger.balances(sinks);
    expect([...sinkBalances.values()].map((b) => b.posted)).toEqual(sinks.map(() => 100n));
    const history = await t.ledger.history("payer", { limit: 1000 });
    expect(history.transfers).toHaveLength(1000);
    expect(history.transfers.every((r) => r.kind === "spend")).toBe(true);
    await expectReconciled(t);
  });

  it("overdraft race with holds, posts and voids mixed in", async () => {
    const t = open({ batchTransfersMax: 128 });
    await t.ledger.submit({
      accounts: [
        { id: "mint", unit: "COIN" },
        { id: "payer", unit: "COIN", flags: guarded },
        { id: "shop", unit: "COIN" },
      ],
      transfers: [{ debitAccountId: "mint", creditAccountId: "payer", amount: 500n, kind: "fund" }],
    });
    // 1,500 holds of 1 race for 500 coins.
    const holds = await Promise.allSettled(
      Array.from({ length: 1500 }, () =>
        t.ledger.submit({
          transfers: [
            { type: "pending", debitAccountId: "payer", creditAccountId: "shop", amount: 1n, kind: "hold" },
          ],
        }),
      ),
    );
    expect(tally(holds)).toEqual({ ok: 500, debits_exceed_credits: 1000 });
    const holdIds = holds.flatMap((s) => (s.status === "fulfilled" ? [s.value.transfers[0]!.id] : []));
    expect(await t.ledger.balance("payer")).toMatchObject({
      posted: 500n,
      available: 0n,
      debitsPending: 500n,
    });

    // Each hold is posted and voided at once, and spending is attempted alongside: exactly one
    // close per hold wins, and only what the voids release can be spent.
    const closes = holdIds.flatMap((pendingId, i) => [
      t.ledger.submit({
        transfers: [
          i % 2 === 0
            ? { type: "post_pending" as const, pendingId, kind: "settle" }
            : { type: "void_pending" as const, pendingId, kind: "cancel" },
        ],
      }),
      t.ledger.submit({
        transfers: [
          i % 2 === 0
            ? { type: "void_pending" as const, pendingId, kind: "cancel" }
            : { type: "post_pending" as const, pendingId, kind: "settle" },
        ],
      }),
    ]);
    const settledCloses = await Promise.allSettled(closes);
    expect(tally(settledCloses)).toEqual({ ok: 500, pending_transfer_closed: 500 });
    for (let i = 0; i < holdIds.length; i++) {
      expect([outcomeOf(settledCloses[2 * i]!), outcomeOf(settledCloses[2 * i + 1]!)]).toEqual([
        "ok",
        "pending_transfer_closed",
      ]);
    }
    // 250 posted, 250 voided: 250 back in the payer's hands.
    expect(await t.ledger.balance("payer")).toMatchObject({
      debitsPosted: 250n,
      debitsPending: 0n,
      posted: 250n,
      available: 250n,
    });
    const spends = await Promise.allSettled(
      Array.from({ length: 400 }, () =>
        t.ledger.submit({
          transfers: [{ debitAccountId: "payer", creditAccountId: "shop", amount: 1n, kind: "spend" }],
        }),
      ),
    );
    expect(tally(spends)).toEqual({ ok: 250, debits_exceed_credits: 150 });
    expect(await t.ledger.balance("shop")).toMatchObject({ posted: 500n, pending: 0n });
    await expectReconciled(t);
  });

  it("applies each idempotency key once under a storm of duplicates", async () => {
    const t = open({ batchTransfersMax: 100 });
    await t.ledger.createAccounts([
      { id: "mint", unit: "COIN" },
      { id: "fan", unit: "COIN" },
    ]);
    const keys = Array.from({ length: 20 }, (_, i) => `tip-${i}`);
    const submits = [];
    for (let round = 0; round < 50; round++) {
      for (const [i, key] of keys.entries()) {
        submits.push(
          handled(
            t.ledger.submit({
              idempotencyKey: key,
              transfers: [
                { debitAccountId: "mint", creditAccountId: "fan", amount: BigInt(i + 1), kind: "tip" },
              ],
            }),
          ),
        );
      }
      if (round % 10 === 0) await nextTurn();
    }
    const results = await Promise.all(submits);
    expect(results.filter((r) => !r.replayed)).toHaveLength(20);
    // Every answer for a key names the same transfer.
    const idByKey = new Map<string, bigint>();
    results.forEach((r, n) => {
      const key = keys[n % keys.length]!;
      const id = r.transfers[0]!.id;
      if (!idByKey.has(key)) idByKey.set(key, id);
      expect(id).toBe(idByKey.get(key));
    });
    expect(new Set(idByKey.values()).size).toBe(20);
    expect((await t.ledger.balance("fan")).posted).toBe(210n); // 1 + 2 + … + 20
    await expectReconciled(t);
  });

  it("keeps balances and history chains right when the writer's account cache is tiny", async () => {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-cache-"));
    const store = new SqliteStore({ path: join(dir, "ledger.db"), accountCacheMax: 3 });
    const clock = new TestClock();
    const ledger = new Ledger({ ...testLedgerDefaults, batchTransfersMax: 40, store, clock: clock.now });
    try {
      const users = Array.from({ length: 30 }, (_, i) => `u-${i}`);
      await ledger.submit({
        accounts: [
          { id: "mint", unit: "COIN" },
          ...users.map((id) => ({ id, unit: "COIN", flags: guarded })),
        ],
        transfers: users.map((id) => ({
          debitAccountId: "mint",
          creditAccountId: id,
          amount: 20n,
          kind: "fund",
        })),
      });
      // Deterministic pseudo-random traffic, with multi-transfer requests and new accounts.
      let seed = 7;
      const random = (n: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const submits: Promise<LedgerResult>[] = [];
      for (let i = 0; i < 1500; i++) {
        const a = users[random(users.length)]!;
        let b = users[random(users.length)]!;
        if (b === a) b = a === "u-0" ? "u-1" : "u-0";
        const amount = BigInt(1 + random(4));
        const request =
          i % 50 === 0
            ? {
                accounts: [{ id: `new-${i}`, unit: "COIN" }],
                transfers: [
                  { debitAccountId: a, creditAccountId: `new-${i}`, amount, kind: "open" },
                  { debitAccountId: `new-${i}`, creditAccountId: b, amount, kind: "pass" },
                ],
              }
            : i % 7 === 0
              ? {
                  transfers: [
                    { debitAccountId: a, creditAccountId: b, amount, kind: "two" },
                    { debitAccountId: b, creditAccountId: a, amount: amount + 1n, kind: "two" },
                  ],
                }
              : { transfers: [{ debitAccountId: a, creditAccountId: b, amount, kind: "one" }] };
        submits.push(handled(ledger.submit(request)));
        if (i % 300 === 0) await nextTurn();
      }
      const settled = await Promise.allSettled(submits);
      const outcomes = tally(settled);
      expect(Object.keys(outcomes).every((k) => k === "ok" || k === "debits_exceed_credits")).toBe(true);
      expect(outcomes.ok).toBeGreaterThan(500);

      const report = await reconcile(store);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      const newAccounts = (await ledger.balances(Array.from({ length: 30 }, (_, k) => `new-${k * 50}`))).size;
      expect(report.accounts).toBe(31 + newAccounts);
      const total = [...(await ledger.balances(users)).values()].reduce((sum, b) => sum + b.posted, 0n);
      expect(total).toBe(600n);
      await expectHistoryChains(ledger, store, ["mint", ...users]);
    } finally {
      await ledger.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
