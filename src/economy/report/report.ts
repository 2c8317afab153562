import {
  addRationals,
  convertExact,
  type Rational,
  rational,
  roundRational,
  zeroRational,
} from "../../money/index.js";
import type { EconomyCatalog } from "../catalog.js";
import { type CashValue, cashValue, type DiamondGroup } from "../wallet/cash-value.js";

/** What the report reads from storage; sums are bigint, values and rates are the locked strings. */
export interface ReportStore {
  sales(
    from: number,
    to: number,
  ): Promise<{ currency: string; coins: bigint; revenueMinor: bigint; refundedMinor: bigint }[]>;
  coinsOutstanding(): Promise<{ currency: string; coins: bigint }[]>;
  bonusCoinsOutstanding(): Promise<bigint>;
  giftsIn(from: number, to: number): Promise<({ source: string; coins: bigint } & DiamondGroup)[]>;
  diamondsOutstanding(now: number): Promise<({ source: string; withdrawable: boolean } & DiamondGroup)[]>;
}

export interface SourceReport {
  source: string;
  coinsSpent: bigint;
  diamondsEarned: bigint;
  /** Value of the diamonds earned in the window at their locked values, in US cents. */
  earnedUsd: CashValue;
  diamondsPending: bigint;
  diamondsWithdrawable: bigint;
  /** What all outstanding diamonds of this source would pay out, at their locked values, in US cents. */
  liabilityUsd: CashValue;
  /** The coins spent, valued at the window's average revenue per coin sold, in US cents. */
  coinRevenueUsdMinor: bigint | null;
  /** coinRevenueUsdMinor − earnedUsd.net: what the platform keeps of these gifts before fees. */
  marginUsdMinor: bigint | null;
}

export interface EconomyReport {
  from: number;
  to: number;
  generatedAt: number;
  currencies: {
    currency: string;
    coinsSold: bigint;
    revenueMinor: bigint;
    refundedMinor: bigint;
    coinsOutstanding: bigint;
  }[];
  bonusCoinsOutstanding: bigint;
  sources: SourceReport[];
}

/** The economy report: sales per currency, and per source (live, video) what was earned and is owed. */
export async function economyReport(
  store: ReportStore,
  catalog: EconomyCatalog,
  window: { from: number; to: number; now: number },
): Promise<EconomyReport> {
  const economy = catalog.at(window.now).economy;
  const sales = await store.sales(window.from, window.to);
  const outstanding = new Map((await store.coinsOutstanding()).map((o) => [o.currency, o.coins]));
  const currencies = [...new Set([...sales.map((s) => s.currency), ...outstanding.keys()])]
    .sort()
    .map((currency) => {
      const s = sales.find((x) => x.currency === currency);
      return {
        currency,
        coinsSold: s?.coins ?? 0n,
        revenueMinor: s?.revenueMinor ?? 0n,
        refundedMinor: s?.refundedMinor ?? 0n,
        coinsOutstanding: outstanding.get(currency) ?? 0n,
      };
    });

  // Average revenue per coin sold in the window, in US cents, exact.
  let revenueUsd: Rational = zeroRational;
  let coinsSold = 0n;
  for (const s of sales) {
    const perUsd = s.currency === "USD" ? rational(1n, 1n) : economy.exchangeRates[s.currency];
    if (!perUsd) continue;
    // minor units of C → US cents: divide by C's units per USD.
    revenueUsd = addRationals(
      revenueUsd,
      convertExact(s.revenueMinor - s.refundedMinor, s.currency, rational(perUsd.den, perUsd.num), "USD"),
    );
    coinsSold += s.coins;
  }
  const usdPerCoin = coinsSold > 0n ? rational(revenueUsd.num, revenueUsd.den * coinsSold) : null;

  const gifts = await store.giftsIn(window.from, window.to);
  const held = await store.diamondsOutstanding(window.now);
  const sources = [...new Set([...gifts.map((g) => g.source), ...held.map((h) => h.source)])]
    .sort()
    .map((source) => {
      const earned = gifts.filter((g) => g.source === source);
      const owed = held.filter((h) => h.source === source);
      const coinsSpent = earned.reduce((sum, g) => sum + g.coins, 0n);
      const earnedUsd = cashValue(earned, "USD", rational(1n, 1n));
      const coinRevenueUsdMinor = usdPerCoin
        ? roundRational(rational(usdPerCoin.num * coinsSpent, usdPerCoin.den), "down")
        : null;
      return {
        source,
        coinsSpent,
        diamondsEarned: earned.reduce((sum, g) => sum + g.diamonds, 0n),
        earnedUsd,
        diamondsPending: owed.filter((h) => !h.withdrawable).reduce((sum, h) => sum + h.diamonds, 0n),
        diamondsWithdrawable: owed.filter((h) => h.withdrawable).reduce((sum, h) => sum + h.diamonds, 0n),
        liabilityUsd: cashValue(owed, "USD", rational(1n, 1n)),
        coinRevenueUsdMinor,
        marginUsdMinor: coinRevenueUsdMinor === null ? null : coinRevenueUsdMinor - earnedUsd.net,
      };
    });
  return {
    from: window.from,
    to: window.to,
    generatedAt: window.now,
    currencies,
    bonusCoinsOutstanding: await store.bonusCoinsOutstanding(),
    sources,
  };
}
