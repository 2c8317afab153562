import { describe, expect, it } from "vitest";
import type { LedgerStore, TransferRow } from "./store.js";
import { AccountFlag, type AccountState, PendingStatus } from "./types.js";

/**
 * The contract every LedgerStore keeps, written once and run against each store (SQLite now;
 * PostgreSQL runs the same suite). `open` returns a store on an empty database; `reopen` opens
 * the same database again after `close`, to prove what was committed is still there.
 */
export interface StoreHarness {
  open(): Promise<LedgerStore>;
  reopen(): Promise<LedgerStore>;
  cleanup(): Promise<void>;
}

const t0 = Date.UTC(2026, 0, 1);

function account(id: string, unit = "COIN", flags = 0): AccountState {
  return {
    id,
    unit,
    flags,
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
    createdAt: t0,
  };
}

function row(debit: string, credit: string, amount: bigint, extra: Partial<TransferRow> = {}): TransferRow {
  return {
    type: "posted",
    debitAccountId: debit,
    creditAccountId: credit,
    amount,
    kind: "test",
    pendingId: null,
    expiresAt: null,
    metadata: null,
    createdAt: t0,
    ...extra,
  };
}

export function describeStoreConformance(name: string, makeHarness: () => StoreHarness): void {
  describe(`store conformance: ${name}`, () => {
    async function withStore(fn: (store: LedgerStore, h: StoreHarness) => Promise<void>): Promise<void> {
      const h = makeHarness();
      const store = await h.open();
      try {
        await fn(store, h);
      } finally {
        await store.close().catch(() => undefined);
        await h.cleanup();
      }
    }

    it("commits a write transaction durably and reads it back after reopening", async () => {
      await withStore(async (store, h) => {
        await store.write(async (tx) => {
          await tx.insertAccounts([
            account("a"),
            account("b", "COIN", AccountFlag.debitsMustNotExceedCredits),
          ]);
          const ids = await tx.insertTransfers([row("a", "b", 5n, { metadata: { note: "ünïcode" } })]);
          expect(ids).toEqual([1n]);
          const loaded = await tx.loadAccounts(["a", "b"]);
          const a = loaded.get("a")!;
          const b = loaded.get("b")!;
          a.debitsPosted = 5n;
          b.creditsPosted = 5n;
          await tx.updateBalances([a, b]);
        });
        await store.close();
        const again = await h.reopen();
        try {
          const accounts = await again.getAccounts(["a", "b", "missing"]);
          expect([...accounts.keys()].sort()).toEqual(["a", "b"]);
          expect(accounts.get("a")!.debitsPosted).toBe(5n);
          expect(accounts.get("b")!.creditsPosted).toBe(5n);
          expect(accounts.get("b")!.flags).toBe(AccountFlag.debitsMustNotExceedCredits);
          const [transfer] = await again.getTransfers([1n]);
          expect(transfer).toMatchObject({
            id: 1n,
            amount: 5n,
            type: "posted",
            metadata: { note: "ünïcode" },
          });
        } finally {
          await again.close();
        }
      });
    });

    it("rolls back everything when the work throws", async () => {
      await withStore(async (store) => {
        await store.write(async (tx) => tx.insertAccounts([account("a"), account("b")]));
        await expect(
          store.write(async (tx) => {
            await tx.insertTransfers([row("a", "b", 1n)]);
            const loaded = await tx.loadAccounts(["a"]);
            loaded.get("a")!.debitsPosted = 1n;
            await tx.updateBalances([loaded.get("a")!]);
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await store.getTransfers([1n])).toEqual([]);
        expect((await store.getAccounts(["a"])).get("a")!.debitsPosted).toBe(0n);
        // The next transaction sees the committed state, not the rolled-back one.
        await store.write(async (tx) => {
          expect((await tx.loadAccounts(["a"])).get("a")!.debitsPosted).toBe(0n);
        });
      });
    });

    it("assigns increasing ids and keeps each account's history newest first", async () => {
      await withStore(async (store) => {
        await store.write(async (tx) => {
          await tx.insertAccounts([account("a"), account("b"), account("c")]);
          const rows = Array.from({ length: 150 }, (_, i) =>
            i % 3 === 0 ? row("a", "b", 1n) : row("c", "a", 2n),
          );
          const ids = await tx.insertTransfers(rows);
          expect(ids).toEqual(rows.map((_, i) => BigInt(i + 1)));
        });
        const all = await store.listAccountTransfers("a", null, 1000);
        expect(all.map((t) => t.id)).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(150 - i)));
        const b = await store.listAccountTransfers("b", null, 1000);
        expect(b.map((t) => t.id)).toEqual(
          Array.from({ length: 50 }, (_, i) => BigInt(150 - i * 3 - 2)).filter((id) => id > 0n),
        );
        const page = await store.listAccountTransfers("a", 100n, 3);
        expect(page.map((t) => t.id)).toEqual([99n, 98n, 97n]);
        await expect(store.listAccountTransfers("b", 2n, 3)).rejects.toMatchObject({
          code: "invalid_request",
        });
      });
    });

    it("tracks open holds and refuses to close one twice", async () => {
      await withStore(async (store) => {
        await store.write(async (tx) => {
          await tx.insertAccounts([account("a"), account("b")]);
          const [hold] = await tx.insertTransfers([
            row("a", "b", 7n, { type: "pending", expiresAt: t0 + 10 }),
          ]);
          await tx.insertPending([
            {
              id: hold!,
              debitAccountId: "a",
              creditAccountId: "b",
              amount: 7n,
              expiresAt: t0 + 10,
              status: 0,
            },
          ]);
        });
        expect(await store.listExpiredPending(t0 + 9, 10)).toEqual([]);
        expect(await store.listExpiredPending(t0 + 10, 10)).toEqual([1n]);
        await store.write(async (tx) => {
          expect((await tx.loadPending([1n])).get(1n)?.status).toBe(PendingStatus.open);
          await tx.insertTransfers([row("a", "b", 7n, { type: "post_pending", pendingId: 1n })]);
          await tx.closePending([{ id: 1n, status: PendingStatus.posted }]);
        });
        expect(await store.listExpiredPending(t0 + 10, 10)).toEqual([]);
        await store.write(async (tx) => {
          expect((await tx.loadPending([1n, 42n])).get(1n)?.status).toBe(PendingStatus.posted);
          expect((await tx.loadPending([42n])).size).toBe(0);
        });
        // The database itself refuses a second close, whatever the ledger above it does.
        await expect(
          store.write(async (tx) => {
            await tx.insertTransfers([row("a", "b", 7n, { type: "void_pending", pendingId: 1n })]);
          }),
        ).rejects.toThrow();
      });
    });

    it("stores idempotency records in the transaction and purges old ones", async () => {
      await withStore(async (store) => {
        await store.write(async (tx) => {
          await tx.insertIdempotency([
            { key: "old", requestHash: "h1", result: "{}", createdAt: t0 },
            { key: "new", requestHash: "h2", result: '{"x":1}', createdAt: t0 + 1000 },
            // A purchase's own lifecycle key: kept for good, since a dispute may close months
            // later and is undone from its record.
            { key: "purchase:pur_1:complete", requestHash: "h3", result: "{}", createdAt: t0 },
          ]);
        });
        await expect(
          store.write(async (tx) =>
            tx.insertIdempotency([{ key: "old", requestHash: "h", result: "{}", createdAt: t0 }]),
          ),
        ).rejects.toThrow();
        await store.write(async (tx) => {
          const found = await tx.loadIdempotency(["new", "old", "none"]);
          expect(found.get("new")).toEqual({
            key: "new",
            requestHash: "h2",
            result: '{"x":1}',
            createdAt: t0 + 1000,
          });
          expect(found.has("none")).toBe(false);
        });
        expect(await store.purgeIdempotency(t0 + 500, 10)).toBe(1);
        await store.write(async (tx) => {
          const kept = await tx.loadIdempotency(["new", "old", "purchase:pur_1:complete"]);
          expect([...kept.keys()].sort()).toEqual(["new", "purchase:pur_1:complete"]);
        });
      });
    });

    it("recomputes every account's totals from its entries", async () => {
      await withStore(async (store) => {
        await store.write(async (tx) => {
          await tx.insertAccounts([account("a"), account("b")]);
          await tx.insertTransfers([
            row("a", "b", 3n),
            row("b", "a", 1n),
            row("a", "b", 4n, { type: "pending" }),
          ]);
          await tx.insertPending([
            { id: 3n, debitAccountId: "a", creditAccountId: "b", amount: 4n, expiresAt: null, status: 0 },
          ]);
          const loaded = await tx.loadAccounts(["a", "b"]);
          Object.assign(loaded.get("a")!, { debitsPosted: 3n, creditsPosted: 1n, debitsPending: 4n });
          // Deliberately wrong: b's credits should be 3.
          Object.assign(loaded.get("b")!, { debitsPosted: 1n, creditsPosted: 2n, creditsPending: 4n });
          await tx.updateBalances([...loaded.values()]);
        });
        const rows = [];
        for await (const r of store.reconcileRows()) rows.push(r);
        expect(rows.map((r) => r.account.id)).toEqual(["a", "b"]);
        expect(rows[0]!.fromEntries).toEqual({
          debitsPosted: 3n,
          creditsPosted: 1n,
          debitsPending: 4n,
          creditsPending: 0n,
        });
        expect(rows[1]!.fromEntries).toEqual({
          debitsPosted: 1n,
          creditsPosted: 3n,
          debitsPending: 0n,
          creditsPending: 4n,
        });
        expect(rows[1]!.account.creditsPosted).toBe(2n);
      });
    });

    it("keeps bigint amounts exact up to 2^63-1", async () => {
      await withStore(async (store) => {
        const big = 2n ** 63n - 1n;
        await store.write(async (tx) => {
          await tx.insertAccounts([account("a"), account("b")]);
          await tx.insertTransfers([row("a", "b", big)]);
          const loaded = await tx.loadAccounts(["a", "b"]);
          loaded.get("a")!.debitsPosted = big;
          loaded.get("b")!.creditsPosted = big;
          await tx.updateBalances([...loaded.values()]);
        });
        expect((await store.getTransfers([1n]))[0]!.amount).toBe(big);
        expect((await store.getAccounts(["b"])).get("b")!.creditsPosted).toBe(big);
      });
    });
  });
}
