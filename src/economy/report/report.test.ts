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
  netMinor: revenueMinor,
});

/**
 * A sale disputed after `refundedMinor` was refunded, the dispute taking back `chargedBackMinor`:
 * all its coins are gone, so none of the money it kept stands for coins.
 */
const disputedSale = (
  currency: string,
  revenueMinor: bigint,
  coins: bigint,
  refundedMinor: bigint,
  chargedBackMinor: bigint,
) => ({
  ...sale(currency, "ev_1", revenueMinor, coins),
  refundedMinor,
  chargedBackMinor,
  netCoins: 0n,
  netMinor: 0n,
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

  it.each([
    ["a dispute of part of a payment", disputedSale("USD", 990n, 1000n, 0n, 300n), 300n],
    ["a dispute of part of what a partial refund left", disputedSale("USD", 990n, 1000n, 710n, 30n), 30n],
    ["a dispute of all of it", disputedSale("USD", 990n, 1000n, 0n, 990n), 990n],
  ])(
    "leaves out of the revenue per coin the money kept after %s, and keeps it in the totals",
    async (_name, disputed, chargedBackMinor) => {
      const report = await economyReport(
        storeOf([sale("USD", "ev_1", 990n, 1000n), disputed]),
        catalogOf({ ev_1: {} }),
        window,
      );
      // $9.90 for the 1,000 coins that are still there: 100 coins bring 99 cents.
      expect(report.sources[0]!.coinRevenueUsdMinor).toBe(99n);
      expect(report.sources[0]!.marginUsdMinor).toBe(49n);
      expect(report.currencies).toEqual([
        {
          currency: "USD",
          coinsSold: 2000n,
          revenueMinor: 1980n,
          refundedMinor: disputed.refundedMinor,
          chargedBackMinor,
          coinsOutstanding: 0n,
        },
      ]);
    },
  );

  it("knows no average when every coin sold was disputed, whatever money was kept", async () => {
    const report = await economyReport(
      storeOf([disputedSale("USD", 990n, 1000n, 0n, 300n)]),
      catalogOf({ ev_1: {} }),
      window,
    );
    expect(report.sources[0]!.coinRevenueUsdMinor).toBeNull();
    expect(report.currencies[0]!.chargedBackMinor).toBe(300n);
  });

  it.each([
    ["more than the money kept", 700n],
    ["negative", -1n],
  ])("stops on a store whose money behind coins is %s", async (_name, netMinor) => {
    const store = storeOf([{ ...sale("USD", "ev_1", 990n, 1000n), chargedBackMinor: 300n, netMinor }]);
    await expect(economyReport(store, catalogOf({ ev_1: {} }), window)).rejects.toThrow(
      /money behind coins is part of the money kept/,
    );
  });
});
