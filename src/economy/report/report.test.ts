import { describe, expect, it } from "vitest";
import { parseRate } from "../../money/index.js";
import type { EconomyCatalog } from "../catalog.js";
import { economyReport, type ReportStore } from "./report.js";

/** The report's arithmetic over sums as a store would give them: no database needed for it. */
function storeOf(sales: Awaited<ReturnType<ReportStore["sales"]>>): ReportStore {
  return {
    sales: async () => sales,
    coinsOutstanding: async () => [],
    bonusCoinsOutstanding: async () => 0n,
    giftsIn: async () => [
      { source: "live", coins: 100n, diamonds: 200n, valueUsd: "0.005", commissionRate: "0.5" },
    ],
    diamondsOutstanding: async () => [],
    diamondsOnHold: async () => [],
    bonusCoinsSpent: async () => [],
  };
}

/** Versions by id with their exchange rates; an unknown id falls back to "now", as the catalog does. */
function catalogOf(rates: Record<string, Record<string, string>>): EconomyCatalog {
  return {
    recorded: (id: string) => ({
      id,
      economy: {
        exchangeRates: Object.fromEntries(
          Object.entries(rates[id] ?? rates.now ?? {}).map(([c, r]) => [c, parseRate(r)]),
        ),
      },
    }),
  } as unknown as EconomyCatalog;
}

const sale = (currency: string, economyVersion: string, revenueMinor: bigint, coins: bigint) => ({
  currency,
  economyVersion,
  coins,
  revenueMinor,
  refundedMinor: 0n,
  chargedBackMinor: 0n,
  netCoins: coins,
});

const window = { from: 0, to: 1000, now: 2000 };

describe("economy report", () => {
  it("converts each sale at its own version's rate", async () => {
    // 789 pence at 0.79 £/$ and 990 US cents, for 1,000 coins each: 998.7 + 990 cents for 2,000.
    const report = await economyReport(
      storeOf([sale("GBP", "ev_old", 789n, 1000n), sale("USD", "ev_old", 990n, 1000n)]),
      catalogOf({ ev_old: { GBP: "0.79" }, now: { GBP: "0.5" } }),
      window,
    );
    // (998.73 + 990) / 2,000 × 100 coins = 99.4 → 99.
    expect(report.sources[0]!.coinRevenueUsdMinor).toBe(99n);
    expect(report.currencies.map((c) => [c.currency, c.revenueMinor])).toEqual([
      ["GBP", 789n],
      ["USD", 990n],
    ]);
  });

  it("knows no average when a currency sold has no rate, rather than leave its money out", async () => {
    const report = await economyReport(
      storeOf([sale("KRW", "ev_1", 13_000n, 1000n), sale("USD", "ev_1", 990n, 1000n)]),
      catalogOf({ ev_1: {} }),
      window,
    );
    expect(report.sources[0]!.coinRevenueUsdMinor).toBeNull();
    expect(report.sources[0]!.marginUsdMinor).toBeNull();
    expect(report.currencies.map((c) => c.currency)).toEqual(["KRW", "USD"]);
  });
});
