/** Where a payout goes, as the payout method holds it (decrypted for the rail only). */
export type PayoutDestination =
  | { type: "paypal"; email: string }
  /** A Stripe connected account (`acct_…`): the Stripe Connect rail transfers to its balance. */
  | { type: "stripe_account"; accountId: string }
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
  /**
   * Rails that pay in batches (a PayPal payout batch, a bank file) take every order of a job pass
   * at once, and answer each order's state by cash-out id. Without it, orders go one by one.
   */
  submitBatch?(orders: readonly PayoutOrder[]): Promise<Map<string, PayoutState>>;
  /**
   * What the rail itself holds of the payouts it was given since `sinceMs`, for reconciliation
   * (`giftstream reconcile payouts`): every cash-out it knows, with its state and amount.
   */
  records?(sinceMs: number): Promise<RailRecord[]>;
  /**
   * Whether the rail may still send this payout of its own accord: PayPal, for a batch whose post
   * was never answered, which each later pass posts again with every order in it. Such a cash-out
   * cannot be resolved by hand; resolved, it would be paid all the same with its batch.
   */
  maySendLater?(order: PayoutOrder): Promise<boolean>;
}

/** One payout as the rail records it. */
export interface RailRecord {
  cashoutId: string;
  state: PayoutState;
  currency: string;
  netMinor: bigint;
}
