/**
 * The parsed economy: what the domain reads. Defaults are applied, amounts are bigint minor units
 * and rates are exact `Rate`s, and the whole is frozen. Records keyed by country or currency have
 * no prototype, so a lookup with an untrusted key ("constructor") finds nothing rather than
 * something inherited.
 */
import type { Rate } from "../../money/index.js";
import { parseRate, type Unit } from "../../money/index.js";
import {
  type EconomyDocument,
  economyDefaults,
  type GiftContext,
  type GiftDocument,
  type PackDocument,
  type PayoutMethod,
  type RegionDocument,
  type SpendingOrder,
} from "./document.js";
import { deepFreeze } from "./freeze.js";
import { type EconomyOptions, validateEconomyDocument } from "./validate.js";

export interface EconomyPack {
  readonly id: string;
  readonly coins: bigint;
  /** In minor units of the region's `currency`. */
  readonly priceMinor: bigint;
}

export interface EconomyRegion {
  /** ISO 3166-1 alpha-2, the region's key. */
  readonly country: string;
  readonly currency: Unit;
  readonly payoutCurrency: Unit;
  readonly timeZone: string;
  readonly packs: readonly EconomyPack[];
  readonly payoutMethods: readonly PayoutMethod[];
  /** In minor units of `payoutCurrency`, on the net amount. */
  readonly cashoutMinimumNetMinor: bigint;
  /** In minor units of `payoutCurrency`, per creator per calendar day in `timeZone`. */
  readonly cashoutDailyMaxNetMinor: bigint;
  readonly refundableWebPurchases: boolean;
}

export interface EconomyGift {
  readonly id: string;
  readonly name: string;
  readonly coins: bigint;
  readonly contexts: readonly GiftContext[];
  /** Countries where the gift may be sent; undefined means everywhere. */
  readonly countries?: readonly string[];
}

export interface Economy {
  readonly regions: Readonly<Record<string, EconomyRegion>>;
  readonly gifts: readonly EconomyGift[];
  /** Diamonds per coin. */
  readonly coinToDiamondRate: Rate;
  /** USD per diamond, by where the gift was sent. */
  readonly diamondValueUsd: { readonly live: Rate; readonly video: Rate };
  /** Share of gross the platform keeps, in [0, 1). */
  readonly commissionRate: Rate;
  /** Units of each currency per 1 USD; has every payout currency other than USD. */
  readonly exchangeRates: Readonly<Record<string, Rate>>;
  readonly earnings: { readonly maturationDays: number; readonly bonusCoinsEarn: boolean };
  readonly spending: { readonly order: SpendingOrder };
  readonly refunds: { readonly windowDays: number };
  readonly limits: { readonly giftQuantityMax: number; readonly purchaseCoinsMax?: bigint };
  readonly minimumAge: number;
}

/**
 * Validates an economy document and returns it parsed and frozen; throws `invalid_request` listing
 * every problem with its path (`extra.problems`) when it is invalid.
 */
export function parseEconomy(input: unknown, options: EconomyOptions = {}): Economy {
  const document = validateEconomyDocument(input, options);
  return deepFreeze(toEconomy(document));
}

function toEconomy(document: EconomyDocument): Economy {
  const regions = Object.entries(document.regions).map(([country, region]) => toRegion(country, region));
  const exchangeRates = Object.entries(document.exchangeRates ?? {}).map(
    ([code, text]) => [code, rate(text)] as const,
  );
  const purchaseCoinsMax = document.limits?.purchaseCoinsMax;
  return {
    regions: record(regions.map((region) => [region.country, region] as const)),
    gifts: document.gifts.map(toGift),
    coinToDiamondRate: rate(document.coinToDiamondRate ?? economyDefaults.coinToDiamondRate),
    diamondValueUsd: {
      live: rate(document.diamondValueUsd?.live ?? economyDefaults.diamondValueUsd.live),
      video: rate(document.diamondValueUsd?.video ?? economyDefaults.diamondValueUsd.video),
    },
    commissionRate: rate(document.commissionRate ?? economyDefaults.commissionRate),
    exchangeRates: record(exchangeRates),
    earnings: {
      maturationDays: document.earnings?.maturationDays ?? economyDefaults.maturationDays,
      bonusCoinsEarn: document.earnings?.bonusCoinsEarn ?? economyDefaults.bonusCoinsEarn,
    },
    spending: { order: document.spending?.order ?? economyDefaults.spendingOrder },
    refunds: { windowDays: document.refunds?.windowDays ?? economyDefaults.refundWindowDays },
    limits: {
      giftQuantityMax: document.limits?.giftQuantityMax ?? economyDefaults.giftQuantityMax,
      ...(purchaseCoinsMax === undefined ? {} : { purchaseCoinsMax: BigInt(purchaseCoinsMax) }),
    },
    minimumAge: document.minimumAge ?? economyDefaults.minimumAge,
  };
}

function toRegion(country: string, region: RegionDocument): EconomyRegion {
  return {
    country,
    currency: region.currency,
    payoutCurrency: region.payoutCurrency,
    timeZone: region.timeZone,
    packs: region.packs.map(toPack),
    payoutMethods: [...region.payoutMethods],
    cashoutMinimumNetMinor: BigInt(region.cashoutMinimumNetMinor),
    cashoutDailyMaxNetMinor: BigInt(region.cashoutDailyMaxNetMinor),
    refundableWebPurchases: region.refundableWebPurchases,
  };
}

// The validator has checked every integer string (digits only, in range), so BigInt is exact here.
function toPack(pack: PackDocument): EconomyPack {
  return { id: pack.id, coins: BigInt(pack.coins), priceMinor: BigInt(pack.priceMinor) };
}

function toGift(gift: GiftDocument): EconomyGift {
  return {
    id: gift.id,
    name: gift.name,
    coins: BigInt(gift.coins),
    contexts: [...gift.contexts],
    ...(gift.countries === undefined ? {} : { countries: [...gift.countries] }),
  };
}

function rate(text: string): Rate {
  return parseRate(text, { allowZero: true });
}

function record<T>(entries: readonly (readonly [string, T])[]): Record<string, T> {
  const result: Record<string, T> = Object.create(null);
  for (const [key, value] of entries) result[key] = value;
  return result;
}
