import {
  addRationals,
  convertExact,
  multiplyRationals,
  parseRate,
  type Rational,
  rational,
  roundRational,
  subtractRationals,
  zeroRational,
} from "../../money/index.js";

/** Withdrawable diamonds that share a locked value and commission rate. */
export interface DiamondGroup {
  diamonds: bigint;
  /** USD per diamond, locked when the diamonds were earned (e.g. "0.005"). */
  valueUsd: string;
  /** Share of the gross the platform keeps, locked likewise (e.g. "0.5"). */
  commissionRate: string;
}

export interface CashValue {
  currency: string;
  gross: bigint;
  commission: bigint;
  net: bigint;
}

/**
 * The cash value of diamonds, in minor units of the payout currency. Exact across every lot,
 * rounded once: the gross and the net are each rounded down, and the commission is what is
 * left, so the platform keeps the rounding remainder. A non-USD payout uses `usdRate`, the payout
 * currency's units per 1 USD.
 */
export function cashValue(groups: readonly DiamondGroup[], currency: string, usdRate: Rational): CashValue {
  let gross: Rational = zeroRational;
  let net: Rational = zeroRational;
  for (const g of groups) {
    const value = multiplyRationals(parseRate(g.valueUsd), usdRate);
    const exact = convertExact(g.diamonds, "DIAMOND", value, currency);
    const keep = subtractRationals(rational(1n, 1n), parseRate(g.commissionRate, { allowZero: true }));
    gross = addRationals(gross, exact);
    net = addRationals(net, multiplyRationals(exact, keep));
  }
  const grossMinor = roundRational(gross, "down");
  const netMinor = roundRational(net, "down");
  return { currency, gross: grossMinor, commission: grossMinor - netMinor, net: netMinor };
}
