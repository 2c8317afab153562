/** The types a user can link today; `stripe_account` joins when its rail exists. */
export const payoutMethodTypes = ["paypal", "bank_account"] as const;
export type PayoutMethodType = (typeof payoutMethodTypes)[number];

export type AccountType = "checking" | "savings";

export type PayoutMethodDetails =
  | { email: string }
  | { iban: string; bic: string | null }
  | { routingNumber: string; accountNumber: string; accountType: AccountType };

/** A linked payout method, opened. Only the domain and the payout rails see it whole. */
export interface PayoutMethod {
  id: string;
  userId: string;
  type: PayoutMethodType;
  /**
   * The account holder as the user gave it. Null for a PayPal method linked without one: the
   * account is then declared to be the user's own, in their verified name (docs/payout-methods.md).
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

/** How the bank account is addressed, read from its details. */
export function schemeOf(details: PayoutMethodDetails): "paypal" | "iban" | "aba" {
  return "email" in details ? "paypal" : "iban" in details ? "iban" : "aba";
}
