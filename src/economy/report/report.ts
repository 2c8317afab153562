import { invariant } from "../../errors.js";
import {
  addRationals,
  convertExact,
  type Rational,
  rational,
  roundRational,
  zeroRational,
} from "../../money/index.js";
import type { EconomyCatalog } from "../catalog.js";
import type { GiftContextType } from "../gifts/gifts.js";
import { type CashValue, cashValue, type DiamondGroup } from "../wallet/cash-value.js";

/** The sources a gift is sent on: the gift contexts. */
const giftSources: readonly GiftContextType[] = ["live", "video"];

/** What the report reads from storage; sums are bigint, values and rates are the locked strings. */
export interface ReportStore {
  /**
   * Per currency and economy version sold under, purchases made in the window: coins and money
   * sold, refunded and charged back; `netCoins`, the coins the money kept still stands for, and
   * `netMinor`, the money kept that stands for them. A disputed purchase is in neither: its coins
   * were all taken back, even when the dispute took back only part of its money.
   */
  sales(
    from: number,
    to: number,
  ): Promise<
    {
      currency: string;
      economyVersion: string;
      coins: bigint;
      revenueMinor: bigint;
      refundedMinor: bigint;
      chargedBackMinor: bigint;
      netCoins: bigint;
      netMinor: bigint;
    }[]
  >;
  coinsOutstanding(): Promise<{ currency: string; coins: bigint }[]>;
  bonusCoinsOutstanding(): Promise<bigint>;
  giftsIn(from: number, to: number): Promise<({ source: string; coins: bigint } & DiamondGroup)[]>;
  /** Not taken back and in no cash-out, pending or withdrawable at `now`. */
  diamondsOutstanding(now: number): Promise<({ source: string; withdrawable: boolean } & DiamondGroup)[]>;
  /** On hold for cash-outs not yet paid: still owed. */
  diamondsOnHold(): Promise<({ source: string } & DiamondGroup)[]>;
  /** Coins of the window's gifts drawn from bonus coins, per source. */
  bonusCoinsSpent(from: number, to: number): Promise<{ source: string; coins: bigint }[]>;
}

export interface SourceReport {
  source: string;
  coinsSpent: bigint;
  /** Of `coinsSpent`, bonus coins: no money came in for them (their diamonds are promotion expense). */
  bonusCoinsSpent: bigint;
  diamondsEarned: bigint;
  /** Value of the diamonds earned in the window at their locked values, in US cents. */
  earnedUsd: CashValue;
  diamondsPending: bigint;
  diamondsWithdrawable: bigint;
  /** In cash-outs not yet paid. */
  diamondsOnHold: bigint;
  /** What all outstanding diamonds of this source (on hold included) would pay out, at their locked values, in US cents. */
  liabilityUsd: CashValue;
  /** The paid coins spent, valued at the window's average revenue per coin kept, in US cents. */
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
    chargedBackMinor: bigint;
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
  const sales = await store.sales(window.from, window.to);
  const outstanding = new Map((await store.coinsOutstanding()).map((o) => [o.currency, o.coins]));
  const currencies = [...new Set([...sales.map((s) => s.currency), ...outstanding.keys()])]
    .sort()
    .map((currency) => {
      const of = sales.filter((x) => x.currency === currency);
      const sum = (field: "coins" | "revenueMinor" | "refundedMinor" | "chargedBackMinor") =>
        of.reduce((total, x) => total + x[field], 0n);
      return {
        currency,
        coinsSold: sum("coins"),
        revenueMinor: sum("revenueMinor"),
        refundedMinor: sum("refundedMinor"),
        chargedBackMinor: sum("chargedBackMinor"),
        coinsOutstanding: outstanding.get(currency) ?? 0n,
      };
    });

  // Average revenue per coin kept in the window, in US cents, exact: the money that stayed (less
  // refunds and chargebacks) over the coins it still stands for. What a dispute of part of a payment
  // left is real money, in the totals above, but stands for no coin (the dispute took them all), so
  // it is not in the average: counted, it would raise the value of every coin spent. Each sale's
  // money is converted at the rate of the economy version it was sold under, so a closed period
  // keeps its figures when a rate changes later. A currency sold without a rate leaves the average
  // unknown rather than quietly left out of it.
  let revenueUsd: Rational = zeroRational;
  let coinsKept = 0n;
  let unpriced = false;
  for (const s of sales) {
    invariant(
      s.netMinor >= 0n && s.netMinor <= s.revenueMinor - s.refundedMinor - s.chargedBackMinor,
      `sales in ${s.currency} under ${s.economyVersion}: the money behind coins is part of the money kept`,
    );
    const rates = catalog.recorded(s.economyVersion, window.now).economy.exchangeRates;
    const perUsd = s.currency === "USD" ? rational(1n, 1n) : rates[s.currency];
    if (!perUsd) {
      unpriced = true;
      continue;
    }
    // minor units of C → US cents: divide by C's units per USD.
    revenueUsd = addRationals(
      revenueUsd,
      convertExact(s.netMinor, s.currency, rational(perUsd.den, perUsd.num), "USD"),
    );
    coinsKept += s.netCoins;
  }
  const usdPerCoin =
    coinsKept > 0n && !unpriced ? rational(revenueUsd.num, revenueUsd.den * coinsKept) : null;

  const gifts = await store.giftsIn(window.from, window.to);
  const held = await store.diamondsOutstanding(window.now);
  const onHold = await store.diamondsOnHold();
  const bonusSpent = new Map(
    (await store.bonusCoinsSpent(window.from, window.to)).map((b) => [b.source, b.coins]),
  );
  // Both sources always, as the docs list them, with zeros for one nothing was sent on yet.
  const sources = [
    ...new Set([
      ...giftSources,
      ...gifts.map((g) => g.source),
      ...held.map((h) => h.source),
      ...onHold.map((h) => h.source),
    ]),
  ]
    .sort()
    .map((source) => {
      const earned = gifts.filter((g) => g.source === source);
      const owed = held.filter((h) => h.source === source);
      const holding = onHold.filter((h) => h.source === source);
      const coinsSpent = earned.reduce((sum, g) => sum + g.coins, 0n);
      const bonusCoinsSpent = bonusSpent.get(source) ?? 0n;
      const earnedUsd = cashValue(earned, "USD", rational(1n, 1n));
      const coinRevenueUsdMinor = usdPerCoin
        ? roundRational(rational(usdPerCoin.num * (coinsSpent - bonusCoinsSpent), usdPerCoin.den), "down")
        : null;
      return {
        source,
        coinsSpent,
        bonusCoinsSpent,
        diamondsEarned: earned.reduce((sum, g) => sum + g.diamonds, 0n),
        earnedUsd,
        diamondsPending: owed.filter((h) => !h.withdrawable).reduce((sum, h) => sum + h.diamonds, 0n),
        diamondsWithdrawable: owed.filter((h) => h.withdrawable).reduce((sum, h) => sum + h.diamonds, 0n),
        diamondsOnHold: holding.reduce((sum, h) => sum + h.diamonds, 0n),
        liabilityUsd: cashValue([...owed, ...holding], "USD", rational(1n, 1n)),
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
