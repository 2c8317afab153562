/** The types a user can link; a region's `payoutMethods` says which of them it offers. */
export const payoutMethodTypes = ["paypal", "bank_account", "stripe_account"] as const;
export type PayoutMethodType = (typeof payoutMethodTypes)[number];

export type AccountType = "checking" | "savings";

export type PayoutMethodDetails =
  | { email: string }
  /** A Stripe connected account of the platform (`acct_…`), for the Stripe Connect rail. */
  | { accountId: string }
  | { iban: string; bic: string | null }
  | { routingNumber: string; accountNumber: string; accountType: AccountType };

/** A linked payout method, opened. Only the domain and the payout rails see it whole. */
export interface PayoutMethod {
  id: string;
  userId: string;
  type: PayoutMethodType;
  /**
   * The account holder as the user gave it. Null for a PayPal or Stripe method linked without one:
   * the account is then declared to be the user's own, in their verified name
   * (docs/payout-methods.md).
   */
  holderName: string | null;
  /** What may be shown: the last 4 of an account number, the provider of an email. */
  masked: string;
  details: PayoutMethodDetails;
  createdAt: number;
  /** Set once the user deleted it; a cash-out already in flight still pays to it. */
  deletedAt: number | null;
}

/** Whether the holder matches the verified legal name; `unverified` until KYC verifies one. */
export type NameMatch = "match" | "mismatch" | "unverified";

/** How the account is addressed, read from its details. */
export function schemeOf(details: PayoutMethodDetails): "paypal" | "stripe" | "iban" | "aba" {
  if ("email" in details) return "paypal";
  if ("accountId" in details) return "stripe";
  return "iban" in details ? "iban" : "aba";
}
