import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../errors.js";
import { openTestLedger, testLedgerDefaults } from "./ledger.testkit.js";
import { reconcile } from "./reconcile.js";
import { ReferenceLedger, type RefOutcome } from "./reference.testkit.js";
import type { AccountInput, LedgerRequest, TransferInput } from "./types.js";

/**
 * Random sequences of transfers, atomic batches, holds with posts, voids and expiry, clock moves
 * and retries under a small pool of idempotency keys, run through the real ledger (group commit
 * on a SQLite file) and through the reference ledger. Every answer, every transfer id, every
 * balance and every account history must agree, and the full reconciliation must pass.
 */

const accounts: AccountInput[] = [
  { id: "issuance", unit: "COIN" },
  { id: "alice", unit: "COIN", flags: { debitsMustNotExceedCredits: true } },
  { id: "bob", unit: "COIN", flags: { debitsMustNotExceedCredits: true } },
  { id: "capped", unit: "COIN", flags: { creditsMustNotExceedDebits: true } },
  { id: "cash", unit: "USD" },
  { id: "cash2", unit: "USD", flags: { debitsMustNotExceedCredits: true } },
];
const ids = accounts.map((a) => a.id);

type Op =
  | {
      op: "move";
      debit: number;
      credit: number;
      amount: bigint;
      pending: boolean;
      expiresInMs: number | null;
    }
  | { op: "cascade"; debits: number[]; credit: number; amount: bigint }
  | { op: "close"; hold: number; post: boolean; amount: bigint | null };

type Step =
  | { kind: "group"; requests: { ops: Op[]; key: number | null; newAccount: boolean }[] }
  | { kind: "clock"; ms: number }
  | { kind: "expire" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        debit: fc.nat(ids.length - 1),
        credit: fc.nat(ids.length - 1),
        amount: fc.bigInt(1n, 60n),
        pending: fc.boolean(),
        expiresInMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: null }),
      })
      .filter((o) => o.debit !== o.credit)
      .map((o) => ({ op: "move" as const, ...o })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        debits: fc.uniqueArray(fc.nat(ids.length - 1), { minLength: 1, maxLength: 4 }),
        credit: fc.nat(ids.length - 1),
        amount: fc.bigInt(1n, 150n),
      })
      .filter((o) => !o.debits.includes(o.credit))
      .map((o) => ({ op: "cascade" as const, ...o })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        hold: fc.nat(40),
        post: fc.boolean(),
        amount: fc.option(fc.bigInt(1n, 60n), { nil: null }),
      })
      .map((o) => ({ op: "close" as const, ...o })),
  },
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(
        fc.record({
          ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
          key: fc.option(fc.nat(4), { nil: null }),
          newAccount: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      )
      .map((requests) => ({ kind: "group" as const, requests })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((ms) => ({ kind: "clock" as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: "expire" as const }) },
);

function toTransfer(op: Op, now: number, holds: bigint[]): TransferInput {
  if (op.op === "cascade") {
    return {
      type: "cascade",
      debitAccountIds: op.debits.map((d) => ids[d]!),
      creditAccountId: ids[op.credit]!,
      amount: op.amount,
      kind: "cascade",
    };
  }
  if (op.op === "close") {
    // Name a hold created earlier, or an id that was never a hold.
    const pendingId = holds.length === 0 ? 999_999n : holds[op.hold % holds.length]!;
    return op.post
      ? {
          type: "post_pending",
          pendingId,
          kind: "post",
          ...(op.amount === null ? {} : { amount: op.amount }),
        }
      : { type: "void_pending", pendingId, kind: "void" };
  }
  const base = { debitAccountId: ids[op.debit]!, creditAccountId: ids[op.credit]!, amount: op.amount };
  if (!op.pending) return { type: "posted", ...base, kind: "move" };
  return {
    type: "pending",
    ...base,
    kind: "hold",
    ...(op.expiresInMs === null ? {} : { expiresAt: now + op.expiresInMs }),
  };
}

async function outcomeOf(
  promise: Promise<{ transfers: { id: bigint }[]; replayed: boolean }>,
): Promise<RefOutcome> {
  try {
    const result = await promise;
    return { ok: true, ids: result.transfers.map((t) => t.id), replayed: result.replayed };
  } catch (error) {
    if (error instanceof GiftstreamError) return { ok: false, code: error.code };
    throw error;
  }
}

describe("ledger against the reference model", () => {
  it("agrees on every answer, id, balance and history", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const t = openTestLedger();
        const model = new ReferenceLedger(testLedgerDefaults.amountMax);
        try {
          await t.ledger.createAccounts(accounts);
          model.applyGroup([{ accounts, transfers: [] }], t.clock.now());
          // Fund the flagged accounts so that most moves can succeed.
          const funding: LedgerRequest = {
            transfers: [
              { debitAccountId: "issuance", creditAccountId: "alice", amount: 100n, kind: "fund" },
              { debitAccountId: "issuance", creditAccountId: "bob", amount: 100n, kind: "fund" },
              { debitAccountId: "cash", creditAccountId: "cash2", amount: 100n, kind: "fund" },
              { debitAccountId: "capped", creditAccountId: "issuance", amount: 100n, kind: "fund" },
            ],
          };
          await t.ledger.submit(funding);
          model.applyGroup([funding], t.clock.now());
          const holds: bigint[] = [];
          let fresh = 0;

          for (const step of steps) {
            if (step.kind === "clock") {
              t.clock.advance(step.ms);
              continue;
            }
            if (step.kind === "expire") {
              const expected = model.expired(t.clock.now());
              const voided = await t.ledger.expirePending();
              model.applyGroup(
                expected.map((pendingId) => ({
                  transfers: [{ type: "void_pending", pendingId, kind: "pending_expired" } as TransferInput],
                })),
                t.clock.now(),
              );
              expect(voided).toBe(expected.length);
              continue;
            }
            const now = t.clock.now();
            const requests: LedgerRequest[] = step.requests.map((r) => {
              const request: LedgerRequest = { transfers: r.ops.map((op) => toTransfer(op, now, holds)) };
              if (r.newAccount) {
                // A request that creates an account and funds it: undone whole if a later step fails.
                const id = `fresh${fresh++}`;
                request.accounts = [{ id, unit: "COIN", flags: { debitsMustNotExceedCredits: true } }];
                request.transfers.unshift({
                  debitAccountId: "alice",
                  creditAccountId: id,
                  amount: 1n,
                  kind: "open",
                });
              }
              if (r.key !== null) request.idempotencyKey = `key-${r.key}`;
              return request;
            });
            // Submitted in one tick, so they share a group-commit batch, in this order.
            const actual = await Promise.all(requests.map((request) => outcomeOf(t.ledger.submit(request))));
            const expected = model.applyGroup(requests, now);
            expect(actual).toEqual(expected);
            for (const [i, outcome] of actual.entries()) {
              if (!outcome.ok || outcome.replayed) continue;
              requests[i]!.transfers.forEach((transfer, j) => {
                if (transfer.type === "pending") holds.push(outcome.ids[j]!);
              });
            }
          }

          const known = [...model.accounts.keys()];
          const balances = await t.ledger.balances(known);
          for (const id of known) {
            const want = model.accounts.get(id)!;
            const got = balances.get(id)!;
            expect({ id, ...pick(got) }).toEqual({ id, ...pick(want) });
            const history = await t.ledger.history(id, { limit: 1000 });
            expect(history.transfers.map((x) => x.id)).toEqual([...(model.history.get(id) ?? [])].reverse());
          }
          const report = await reconcile(t.store);
          expect(report.problems).toEqual([]);
          expect(report.ok).toBe(true);
        } finally {
          await t.dispose();
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 100) },
    );
  });
});

function pick(a: {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}) {
  return {
    debitsPosted: a.debitsPosted,
    creditsPosted: a.creditsPosted,
    debitsPending: a.debitsPending,
    creditsPending: a.creditsPending,
  };
}
