/** Where a payout goes, as the payout method holds it (decrypted for the rail only). */
export type PayoutDestination =
  | { type: "paypal"; email: string }
  | { type: "bank_account"; holderName: string; iban: string; bic: string | null }
  | {
      type: "bank_account";
      holderName: string;
      routingNumber: string;
      accountNumber: string;
      accountType: "checking" | "savings";
    };

/** One cash-out as a rail sees it. The cash-out id makes every call idempotent. */
export interface PayoutOrder {
  cashoutId: string;
  userId: string;
  currency: string;
  netMinor: bigint;
  destination: PayoutDestination;
}

/** What a rail says of a payout. `unknown`: it has never seen the order. */
export type PayoutState =
  | { status: "unknown" }
  | { status: "processing"; ref: string | null }
  | { status: "paid"; ref: string }
  | { status: "failed"; reason: string }
  | { status: "returned"; reason: string };

/**
 * A way money reaches a creator. Every call is keyed by the cash-out id: submitting an order the
 * rail already has answers its state instead of paying again, which is what lets the cash-out job
 * retry after a crash or a timeout.
 */
export interface PayoutRail {
  readonly name: string;
  submit(order: PayoutOrder): Promise<PayoutState>;
  status(order: PayoutOrder): Promise<PayoutState>;
  /** Whether the rail stopped the payout; false once it is past stopping. */
  cancel(order: PayoutOrder): Promise<boolean>;
}
