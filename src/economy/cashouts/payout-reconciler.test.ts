import { describe, expect, it } from "vitest";
import type { PayoutRail, RailRecord } from "../../providers/payouts/rail.js";
import type { Cashout, CashoutStatus, PageStart } from "./cashout.js";
import { reconcilePayouts } from "./payout-reconciler.js";

const day = 86_400_000;

function cashout(id: string, status: CashoutStatus, createdAt: number, rail = "paypal"): Cashout {
  return {
    id,
    userId: "u",
    payoutMethodId: "pm_1",
    rail,
    status,
    diamonds: 20_000n,
    currency: "USD",
    grossMinor: 20_000n,
    commissionMinor: 10_000n,
    netMinor: 10_000n,
    exchangeRate: "1",
    limitDay: "2031-01-01",
    holdTransferId: 1n,
    limitTransferId: 2n,
    valuation: [],
    reason: null,
    railRef: null,
    quoteId: null,
    createdAt,
    updatedAt: createdAt,
  };
}

/** The store's listing: newest first, paged after (createdAt, id). */
function storeOf(all: Cashout[]) {
  return {
    async get(id: string) {
      return all.find((c) => c.id === id);
    },
    async listByStatus(status: CashoutStatus | null, before: PageStart | null, limit: number) {
      return all
        .filter((c) => status === null || c.status === status)
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
        .filter(
          (c) =>
            before === null ||
            c.createdAt < before.createdAt ||
            (c.createdAt === before.createdAt && c.id < before.id),
        )
        .slice(0, limit);
    },
  };
}

const paid = (id: string): RailRecord => ({
  cashoutId: id,
  state: { status: "paid", ref: id },
  currency: "USD",
  netMinor: 10_000n,
});

function rail(name: string, records: RailRecord[] | (() => Promise<RailRecord[]>) | null): PayoutRail {
  const base: PayoutRail = {
    name,
    submit: async () => ({ status: "unknown" }),
    status: async () => ({ status: "unknown" }),
    cancel: async () => false,
  };
  if (records === null) return base;
  return { ...base, records: typeof records === "function" ? records : async () => records };
}

describe("reconcilePayouts", () => {
  const since = Date.parse("2031-01-10T00:00:00Z");

  it("compares the cash-outs of the window, and an older one a rail record names", async () => {
    const all = [
      cashout("co_new", "paid", since + day),
      cashout("co_old_reviewed", "paid", since - 20 * day),
      cashout("co_older", "paid", since - 30 * day),
      cashout("co_waiting", "approved", since + day),
    ];
    // 1,200 more in the window, to walk several pages.
    for (let i = 0; i < 1200; i++) all.push(cashout(`co_${String(i).padStart(4, "0")}`, "failed", since + i));
    const report = await reconcilePayouts({
      store: storeOf(all),
      rails: new Map([["paypal", rail("paypal", [paid("co_new"), paid("co_old_reviewed")])]]),
      sinceMs: since,
      cashoutsMax: 10_000,
    });
    expect(report).toMatchObject({ ok: true, sinceMs: since, cashoutsChecked: 1202, railRecordsChecked: 2 });
  });

  it("refuses a window with more cash-outs than cashoutsMax", async () => {
    const all = [cashout("co_1", "paid", since + 1), cashout("co_2", "paid", since + 2)];
    await expect(
      reconcilePayouts({ store: storeOf(all), rails: new Map(), sinceMs: since, cashoutsMax: 1 }),
    ).rejects.toMatchObject({ code: "reconciliation_too_large" });
  });

  it("reports a rail it cannot read, one that lists nothing, and one no longer configured", async () => {
    const all = [
      cashout("co_p", "paid", since + 1, "paypal"),
      cashout("co_f", "paid", since + 1, "files"),
      cashout("co_g", "paid", since + 1, "gone"),
    ];
    const report = await reconcilePayouts({
      store: storeOf(all),
      rails: new Map([
        [
          "paypal",
          rail("paypal", async () => {
            throw new Error("PayPal GET answered 503");
          }),
        ],
        ["files", rail("files", null)],
      ]),
      sinceMs: since,
      cashoutsMax: 100,
    });
    expect(report.ok).toBe(false);
    expect(report.differences.map((d) => [d.kind, d.rail])).toEqual([
      ["rail_without_records", "files"],
      ["rail_not_configured", "gone"],
      ["rail_unavailable", "paypal"],
    ]);
    expect(report.differences[2]!.detail).toContain("503");
  });
});
