/**
 * The default economy (DESIGN.md §1): the source article's numbers. US prices ($9.90 for 1,000
 * coins, $0.99 for 100), the 1 coin = 2 diamonds rate, diamond values of $0.005 (live) and $0.01
 * (video), the 50 % commission and the US cash-out limits are the article's.
 *
 * Everything else is illustrative, chosen to be plausible, not quoted from any price list: the
 * other regions' pack prices, cash-out minimums and maximums, the exchange rates, and the gift
 * catalog beyond rose, hand-hearts and universe. Operators replace them with their own.
 */
import type { EconomyDocument, GiftContext, PackDocument } from "./document.js";
import { deepFreeze } from "./freeze.js";

/** One pack ladder for every region; prices differ per region. */
const ladderCoins = ["30", "100", "500", "1000", "5000", "10000"] as const;

/** Packs `<prefix>-<coins>` priced in minor units, in ladder order. */
function packs(prefix: string, pricesMinor: readonly [string, string, string, string, string, string]) {
  return ladderCoins.map(
    (coins, index): PackDocument => ({ id: `${prefix}-${coins}`, coins, priceMinor: pricesMinor[index]! }),
  );
}

const both: GiftContext[] = ["live", "video"];
const liveOnly: GiftContext[] = ["live"];

function gift(id: string, name: string, coins: string, contexts: GiftContext[], countries?: string[]) {
  return { id, name, coins, contexts: [...contexts], ...(countries === undefined ? {} : { countries }) };
}

export const defaultEconomyDocument: EconomyDocument = deepFreeze({
  regions: {
    US: {
      currency: "USD",
      payoutCurrency: "USD",
      timeZone: "America/New_York",
      // $0.0099 a coin: 100 coins = $0.99 and 1,000 coins = $9.90, the article's prices.
      packs: packs("us", ["30", "99", "495", "990", "4950", "9900"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "10000",
      cashoutDailyMaxNetMinor: "100000",
      refundableWebPurchases: false,
    },
    GB: {
      currency: "GBP",
      payoutCurrency: "GBP",
      timeZone: "Europe/London",
      packs: packs("gb", ["25", "79", "395", "789", "3945", "7890"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "8000",
      cashoutDailyMaxNetMinor: "80000",
      refundableWebPurchases: true,
    },
    DE: {
      currency: "EUR",
      payoutCurrency: "EUR",
      timeZone: "Europe/Berlin",
      packs: packs("de", ["29", "92", "459", "918", "4590", "9180"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "9000",
      cashoutDailyMaxNetMinor: "90000",
      refundableWebPurchases: true,
    },
    FR: {
      currency: "EUR",
      payoutCurrency: "EUR",
      timeZone: "Europe/Paris",
      packs: packs("fr", ["29", "92", "459", "918", "4590", "9180"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "9000",
      cashoutDailyMaxNetMinor: "90000",
      refundableWebPurchases: true,
    },
    IN: {
      currency: "INR",
      payoutCurrency: "INR",
      timeZone: "Asia/Kolkata",
      packs: packs("in", ["2500", "8200", "41000", "82000", "410000", "820000"]),
      payoutMethods: ["bank_account"],
      cashoutMinimumNetMinor: "800000",
      cashoutDailyMaxNetMinor: "8000000",
      refundableWebPurchases: false,
    },
    BR: {
      currency: "BRL",
      payoutCurrency: "BRL",
      timeZone: "America/Sao_Paulo",
      packs: packs("br", ["149", "490", "2450", "4900", "24500", "49000"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "50000",
      cashoutDailyMaxNetMinor: "500000",
      refundableWebPurchases: false,
    },
    JP: {
      // JPY has no minor unit: these amounts are whole yen.
      currency: "JPY",
      payoutCurrency: "JPY",
      timeZone: "Asia/Tokyo",
      packs: packs("jp", ["45", "150", "740", "1480", "7400", "14800"]),
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: "15000",
      cashoutDailyMaxNetMinor: "150000",
      refundableWebPurchases: false,
    },
  },
  gifts: [
    gift("rose", "Rose", "1", both),
    gift("gg", "GG", "1", liveOnly),
    gift("finger-heart", "Finger Heart", "5", both),
    gift("perfume", "Perfume", "20", both),
    gift("doughnut", "Doughnut", "30", both),
    gift("cherry-blossom", "Cherry Blossom", "50", both, ["JP"]),
    gift("hand-hearts", "Hand Hearts", "100", both),
    gift("confetti", "Confetti", "100", liveOnly),
    gift("corgi", "Corgi", "299", both),
    gift("money-gun", "Money Gun", "500", both),
    gift("swan", "Swan", "699", liveOnly),
    gift("train", "Train", "899", liveOnly),
    gift("galaxy", "Galaxy", "1000", both),
    gift("fireworks", "Fireworks", "1088", liveOnly),
    gift("whale-diving", "Whale Diving", "2150", liveOnly),
    gift("motorcycle", "Motorcycle", "2988", liveOnly),
    gift("private-jet", "Private Jet", "4888", liveOnly),
    gift("sports-car", "Sports Car", "7000", liveOnly),
    gift("interstellar", "Interstellar", "10000", liveOnly),
    gift("lion", "Lion", "29999", liveOnly),
    gift("universe", "Universe", "44999", liveOnly),
  ],
  coinToDiamondRate: "2",
  diamondValueUsd: { live: "0.005", video: "0.01" },
  commissionRate: "0.5",
  // Units per 1 USD; illustrative, and a quote locks the rate in force when it is made.
  exchangeRates: { GBP: "0.79", EUR: "0.92", INR: "83.2", BRL: "5.05", JPY: "150" },
  earnings: { maturationDays: 7, bonusCoinsEarn: true },
  spending: { order: "bonus_first" },
  refunds: { windowDays: 14 },
  limits: { giftQuantityMax: 100 },
  minimumAge: 18,
});
