import type { AccountInput } from "../ledger/types.js";

/**
 * The chart of accounts: every ledger account the economy uses, by name. docs/ledger.md draws it
 * and lists the postings of each flow. Units never mix in one account; user ids are limited to
 * characters that are safe in an account id.
 */
const nonNegative = { debitsMustNotExceedCredits: true } as const;

export const userAccounts = {
  /** Bonus coins from promotions; spent first by default. */
  bonusCoins: (userId: string): AccountInput => ({
    id: `user:${userId}:coins:bonus`,
    unit: "COIN",
    flags: nonNegative,
  }),
  /** One lot per purchase, so paid coins spend oldest purchase first and stay traceable to it. */
  paidCoins: (userId: string, purchaseId: string): AccountInput => ({
    id: `user:${userId}:coins:paid:${purchaseId}`,
    unit: "COIN",
    flags: nonNegative,
  }),
  /** The id prefix of a user's paid-coin lots. */
  paidCoinsPrefix: (userId: string): string => `user:${userId}:coins:paid:`,
  /**
   * Coins owed after a chargeback took back coins already spent. A debit balance: it can only be
   * repaid down to zero, never past it.
   */
  coinDebt: (userId: string): AccountInput => ({
    id: `user:${userId}:coins:debt`,
    unit: "COIN",
    flags: { creditsMustNotExceedDebits: true },
  }),
};

export const creatorAccounts = {
  /** Diamonds earned and still in their maturation period (the chargeback window). */
  pendingDiamonds: (userId: string): AccountInput => ({
    id: `user:${userId}:diamonds:pending`,
    unit: "DIAMOND",
    flags: nonNegative,
  }),
  /** Diamonds past maturation, which the creator may cash out. */
  withdrawableDiamonds: (userId: string): AccountInput => ({
    id: `user:${userId}:diamonds:withdrawable`,
    unit: "DIAMOND",
    flags: nonNegative,
  }),
};

export const platformAccounts = {
  /** Coins spent on gifts leave circulation here. */
  coinsSpent: { id: "platform:coins:spent", unit: "COIN" } as AccountInput,
  /** Diamonds earned leave this account: its negative balance is the diamonds outstanding. */
  diamondsIssued: { id: "platform:diamonds:issued", unit: "DIAMOND" } as AccountInput,
  /** Diamonds a creator keeps although the coins behind them were charged back. */
  diamondChargebackLosses: { id: "platform:diamonds:chargeback_losses", unit: "DIAMOND" } as AccountInput,
  /** Coins sold leave this account: its negative balance is the coins outstanding from sales. */
  coinsIssued: { id: "platform:coins:issued", unit: "COIN" } as AccountInput,
  /** Bonus coins granted leave this account: the promotion expense, in coins. */
  coinsPromotion: { id: "platform:coins:promotion", unit: "COIN" } as AccountInput,
  /** What a payment provider owes the platform for purchases it collected, per currency. */
  providerReceivable: (currency: string, provider: string): AccountInput => ({
    id: `platform:${currency}:receivable:${provider}`,
    unit: currency,
  }),
  /** Revenue from coin sales, per currency. */
  coinSales: (currency: string): AccountInput => ({
    id: `platform:${currency}:revenue:coin_sales`,
    unit: currency,
  }),
  /** Fees providers keep, per currency. */
  providerFees: (currency: string, provider: string): AccountInput => ({
    id: `platform:${currency}:expense:fees:${provider}`,
    unit: currency,
  }),
  /** Money lost to chargebacks, per currency. */
  chargebackLosses: (currency: string): AccountInput => ({
    id: `platform:${currency}:expense:chargebacks`,
    unit: currency,
  }),
};

/** Where cash-outs move diamonds and money (docs/ledger.md, "Cash-out"). */
export const cashoutAccounts = {
  /** Diamonds on hold for open cash-outs are pending debits of withdrawable into here; paid ones post. */
  diamondsCashedOut: { id: "platform:diamonds:cashouts", unit: "DIAMOND" } as AccountInput,
  /** The gross value of diamonds cashed out: what creators' earnings cost, per payout currency. */
  redemptions: (currency: string): AccountInput => ({
    id: `platform:${currency}:cashout:redemptions`,
    unit: currency,
  }),
  /** The platform's commission on cash-outs, rounding remainder included. */
  commission: (currency: string): AccountInput => ({
    id: `platform:${currency}:revenue:commission`,
    unit: currency,
  }),
  /** The net on its way out: credited when a payout is made, debited as it leaves through the rail. */
  clearing: (currency: string): AccountInput => ({
    id: `platform:${currency}:payout_clearing`,
    unit: currency,
  }),
  /** Money that left through a rail. */
  paidOut: (currency: string, rail: string): AccountInput => ({
    id: `platform:${currency}:payouts:${rail}`,
    unit: currency,
  }),
  /**
   * A creator's cash-out allowance for one calendar day, in the payout currency. The day's first
   * cash-out opens it with the region's daily maximum, and each cash-out holds its net against it,
   * so the ledger enforces the maximum in the same transaction as the diamond hold. These are
   * counters kept in the currency's unit, not money: they net to zero apart from it.
   */
  allowance: (userId: string, currency: string, day: string, dailyMaxMinor: bigint): AccountInput => ({
    id: `limit:user:${userId}:cashout:${currency}:${day}`,
    unit: currency,
    flags: nonNegative,
    opening: {
      debitAccountId: `limit:platform:cashout:${currency}`,
      amount: dailyMaxMinor,
      kind: "cashout_allowance",
    },
  }),
  allowanceSource: (currency: string): AccountInput => ({
    id: `limit:platform:cashout:${currency}`,
    unit: currency,
  }),
  allowanceUsed: (currency: string): AccountInput => ({
    id: `limit:platform:cashout:${currency}:used`,
    unit: currency,
  }),
};
