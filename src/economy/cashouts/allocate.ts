import type { Rational } from "../../money/index.js";
import { type CashValue, cashValue, type DiamondGroup } from "../wallet/cash-value.js";

/** A diamond lot a creator can still cash out: what is left of one gift's diamonds. */
export interface AvailableLot {
  giftId: string;
  /** Diamonds of the lot not reversed and not already on hold or paid out. */
  diamonds: bigint;
  valueUsd: string;
  commissionRate: string;
}

/** How many diamonds a cash-out takes from one lot. */
export interface LotTake {
  giftId: string;
  diamonds: bigint;
  valueUsd: string;
  commissionRate: string;
}

export interface Allocation {
  takes: LotTake[];
  diamonds: bigint;
  value: CashValue;
}

/**
 * Takes `diamonds` from the lots in the order given (oldest first), the last one perhaps in part,
 * and values them exactly, rounded once. `undefined` when the lots hold fewer diamonds.
 */
export function allocate(
  lots: readonly AvailableLot[],
  diamonds: bigint,
  currency: string,
  usdRate: Rational,
): Allocation | undefined {
  const takes: LotTake[] = [];
  let left = diamonds;
  for (const lot of lots) {
    if (left === 0n) break;
    if (lot.diamonds <= 0n) continue;
    // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
    const take = lot.diamonds < left ? lot.diamonds : left;
    takes.push({
      giftId: lot.giftId,
      diamonds: take,
      valueUsd: lot.valueUsd,
      commissionRate: lot.commissionRate,
    });
    left -= take;
  }
  if (left > 0n) return undefined;
  return { takes, diamonds, value: cashValue(groupsOf(takes), currency, usdRate) };
}

/**
 * The most diamonds, taken oldest first, whose net stays within `netMaxMinor`. The net grows with
 * every diamond taken, so a binary search over the count finds it; each probe values the prefix
 * exactly, as the cash-out itself will.
 */
export function largestWithinNet(
  lots: readonly AvailableLot[],
  total: bigint,
  netMaxMinor: bigint,
  currency: string,
  usdRate: Rational,
): Allocation {
  let low = 0n;
  let high = total;
  while (low < high) {
    const mid = (low + high + 1n) / 2n;
    const probe = allocate(lots, mid, currency, usdRate)!;
    if (probe.value.net <= netMaxMinor) low = mid;
    else high = mid - 1n;
  }
  return allocate(lots, low, currency, usdRate)!;
}

/** Lots that share a locked value and commission rate are valued together. */
function groupsOf(takes: readonly LotTake[]): DiamondGroup[] {
  const groups = new Map<string, DiamondGroup>();
  for (const t of takes) {
    const key = `${t.valueUsd}|${t.commissionRate}`;
    const group = groups.get(key);
    if (group) group.diamonds += t.diamonds;
    else groups.set(key, { diamonds: t.diamonds, valueUsd: t.valueUsd, commissionRate: t.commissionRate });
  }
  return [...groups.values()];
}
