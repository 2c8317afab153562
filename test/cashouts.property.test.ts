import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate } from "../src/economy/cashouts/allocate.js";
import type { CashoutStatus } from "../src/economy/cashouts/cashout.js";
import { reconcile } from "../src/ledger/reconcile.js";
import { parseRate } from "../src/money/index.js";
import {
  type CreatorApp,
  earn,
  linkPaypal,
  openCreatorApp,
  setClock,
  verify,
  wallet,
} from "./support/creator.js";

/**
 * Random sequences of earnings, cash-out requests, approvals, rejections, cancels, job passes
 * (paying, failing, returning or holding, by the destination's magic value) and day changes, run
 * through the real service on SQLite and through a small model that keeps each lot's diamonds
 * left and each cash-out's lots, oldest first. The wallet (withdrawable, on hold, cash value) and
 * every refusal must match the model, and the ledger must reconcile after every sequence.
 */

const dayMs = 86_400_000;
const usd = parseRate("1");
const outcomes = ["pay", "fail", "return", "hold"] as const;
type Outcome = (typeof outcomes)[number];
const emails: Record<Outcome, string> = {
  pay: "cleo@example.com",
  fail: "fail@example.com",
  return: "return@example.com",
  hold: "hold@example.com",
};
// A small minimum and maximum so that short sequences meet both.
const minimumMinor = 100n;
const dailyMaxMinor = 5000n;

type Op =
  | { op: "earn"; source: "live" | "video"; quantity: number }
  | { op: "request"; outcome: Outcome; diamonds: number }
  | { op: "approve"; which: number }
  | { op: "reject"; which: number }
  | { op: "cancel"; which: number }
  | { op: "process" }
  | { op: "nextDay" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("earn" as const),
      source: fc.constantFrom("live" as const, "video" as const),
      quantity: fc.integer({ min: 1, max: 20 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("request" as const),
      outcome: fc.constantFrom(...outcomes),
      diamonds: fc.integer({ min: 1, max: 9000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("approve" as const), which: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reject" as const), which: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), which: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("process" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("nextDay" as const) }) },
);

interface ModelLot {
  giftId: string;
  valueUsd: string;
  left: bigint;
}
interface ModelCashout {
  id: string;
  outcome: Outcome;
  status: CashoutStatus;
  takes: { giftId: string; diamonds: bigint }[];
  net: bigint;
  day: number;
}

class Model {
  lots: ModelLot[] = [];
  cashouts: ModelCashout[] = [];
  day = 0;
  usedByDay = new Map<number, bigint>();

  get withdrawable(): bigint {
    return this.lots.reduce((s, l) => s + l.left, 0n);
  }
  get onHold(): bigint {
    let held = 0n;
    for (const c of this.cashouts) {
      if (["requested", "approved", "processing"].includes(c.status)) {
        held += c.takes.reduce((s, t) => s + t.diamonds, 0n);
      }
    }
    return held;
  }
  available() {
    return this.lots.map((l) => ({
      giftId: l.giftId,
      diamonds: l.left,
      valueUsd: l.valueUsd,
      commissionRate: "0.5",
    }));
  }
  give(c: ModelCashout): void {
    for (const t of c.takes) this.lots.find((l) => l.giftId === t.giftId)!.left += t.diamonds;
  }
  release(c: ModelCashout, status: CashoutStatus): void {
    c.status = status;
    this.give(c);
    this.usedByDay.set(c.day, (this.usedByDay.get(c.day) ?? 0n) - c.net);
  }
}

describe("cash-outs against a reference model (property)", () => {
  it("keep every lot, hold, refusal and balance as the model says", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 18 }), async (ops) => {
        const t = await openCreatorApp("US", {
          economy: {
            earnings: { maturationDays: 0 },
            regions: {
              US: {
                cashoutMinimumNetMinor: minimumMinor.toString(),
                cashoutDailyMaxNetMinor: dailyMaxMinor.toString(),
              },
            },
          },
        });
        try {
          await run(t, ops);
        } finally {
          await t.dispose();
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 25) },
    );
  });
});

async function run(t: CreatorApp, ops: Op[]): Promise<void> {
  await verify(t, "creator", "Cleo Park");
  const methods = {} as Record<Outcome, string>;
  for (const outcome of outcomes) methods[outcome] = await linkPaypal(t, emails[outcome]);
  const m = new Model();
  let start = Date.parse("2027-06-01T12:00:00Z");
  for (const op of ops) {
    switch (op.op) {
      case "earn": {
        const before = m.lots.length;
        await earn(t, op.source, "hand-hearts", op.quantity);
        // One lot per gift sent: earn() sends a single gift of this quantity.
        const ids = (await t.runtime.store.all(
          "SELECT id FROM gifts WHERE recipient_id = 'creator' ORDER BY created_at, rowid",
        )) as { id: string }[];
        expect(ids.length).toBe(before + 1);
        m.lots.push({
          giftId: ids.at(-1)!.id,
          valueUsd: op.source === "live" ? "0.005" : "0.01",
          left: BigInt(op.quantity * 200),
        });
        break;
      }
      case "request": {
        const diamonds = BigInt(op.diamonds);
        const expected = allocate(m.available(), diamonds, "USD", usd);
        const used = m.usedByDay.get(m.day) ?? 0n;
        let code: string | null = null;
        if (!expected) code = "insufficient_diamonds";
        else if (expected.value.net < minimumMinor) code = "below_minimum";
        else if (used + expected.value.net > dailyMaxMinor) code = "over_daily_limit";
        const res = await t.inject(
          "POST",
          "/v1/cashouts",
          { userId: "creator", payoutMethodId: methods[op.outcome], diamonds: diamonds.toString() },
          { "idempotency-key": `p-${Math.random()}` },
        );
        if (code !== null) {
          expect(res.json().code, res.body).toBe(code);
          break;
        }
        expect(res.statusCode, res.body).toBe(201);
        const c = res.json();
        expect(c.net).toBe(expected!.value.net.toString());
        expect(c.gross).toBe(expected!.value.gross.toString());
        const takes = expected!.takes.map((x) => ({ giftId: x.giftId, diamonds: x.diamonds }));
        for (const x of takes) m.lots.find((l) => l.giftId === x.giftId)!.left -= x.diamonds;
        m.usedByDay.set(m.day, used + expected!.value.net);
        m.cashouts.push({
          id: c.id,
          outcome: op.outcome,
          status: "requested",
          takes,
          net: expected!.value.net,
          day: m.day,
        });
        break;
      }
      case "approve":
      case "reject":
      case "cancel": {
        const c = m.cashouts[op.which % Math.max(1, m.cashouts.length)];
        if (!c) break;
        const url =
          op.op === "cancel" ? `/v1/cashouts/${c.id}/cancel` : `/v1/admin/cashouts/${c.id}/${op.op}`;
        const res = await t.inject("POST", url, op.op === "reject" ? { reason: "no" } : undefined);
        const open = c.status === "requested" || c.status === "approved";
        if (op.op === "approve") {
          if (c.status === "requested") c.status = "approved";
          else if (c.status !== "approved") expect(res.json().code).toBe("cashout_state_conflict");
        } else if (op.op === "reject") {
          if (open) m.release(c, "rejected");
          else if (c.status !== "rejected") expect(res.json().code).toBe("cashout_state_conflict");
        } else if (open) m.release(c, "cancelled");
        else if (c.status !== "cancelled") expect(res.json().code).toBe("cashout_not_cancellable");
        expect((await t.inject("GET", `/v1/cashouts/${c.id}`)).json().status).toBe(c.status);
        break;
      }
      case "process": {
        // What one job pass does, as the model sees it: paid ones of "return" come back first
        // (they were paid in an earlier pass), then approved ones go out, then processing ones poll.
        const returning = m.cashouts.filter((c) => c.status === "paid" && c.outcome === "return");
        const approved = m.cashouts.filter((c) => c.status === "approved");
        await t.cashouts.process();
        for (const c of returning) {
          c.status = "returned";
          m.give(c);
        }
        for (const c of approved) {
          if (c.outcome === "fail") m.release(c, "failed");
          else c.status = c.outcome === "hold" ? "processing" : "paid";
        }
        for (const c of m.cashouts) {
          const shown = (await t.inject("GET", `/v1/cashouts/${c.id}`)).json();
          expect(shown.status, c.id).toBe(c.status);
        }
        break;
      }
      case "nextDay": {
        start += dayMs;
        m.day++;
        await setClock(t, new Date(start).toISOString());
        break;
      }
    }
    const w = await wallet(t);
    expect(w.diamonds.withdrawable).toBe(m.withdrawable.toString());
    expect(w.diamonds.onHold).toBe(m.onHold.toString());
    // Each lot's cashed diamonds are exactly what open and paid cash-outs hold of it.
    const rows = (await t.runtime.store.all(
      "SELECT id, diamonds - reversed_diamonds - cashed_diamonds AS left FROM gifts WHERE recipient_id = 'creator'",
    )) as { id: string; left: bigint }[];
    for (const row of rows) expect(row.left).toBe(m.lots.find((l) => l.giftId === row.id)!.left);
    const left = allocate(m.available(), m.withdrawable, "USD", usd)!;
    expect(w.cash).toEqual({
      currency: "USD",
      gross: left.value.gross.toString(),
      commission: left.value.commission.toString(),
      net: left.value.net.toString(),
    });
  }
  const report = await reconcile(t.runtime.store);
  expect(report.ok).toBe(true);
}
