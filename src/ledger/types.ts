/**
 * The ledger's vocabulary. Pure data: no I/O, no classes.
 *
 * Amounts are bigint minor units of the account's unit. Times are milliseconds since the epoch
 * (JS numbers are exact for those; they are never money).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Account flags, stored as a bitmask so the hot path compares integers. */
export const AccountFlag = {
  /** Debits (posted + pending) may never exceed posted credits: a balance that cannot go negative. */
  debitsMustNotExceedCredits: 1,
  /** Credits (posted + pending) may never exceed posted debits. */
  creditsMustNotExceedDebits: 2,
} as const;
export const accountFlagsMask =
  AccountFlag.debitsMustNotExceedCredits | AccountFlag.creditsMustNotExceedDebits;

export interface AccountFlags {
  debitsMustNotExceedCredits?: boolean;
  creditsMustNotExceedDebits?: boolean;
}

export interface AccountInput {
  id: string;
  unit: string;
  flags?: AccountFlags;
  /**
   * A posted transfer that funds the account when this request creates it, and never again:
   * account creation happens exactly once, so the funding does too. A daily allowance is an
   * account per day opened with the day's limit, that the day's uses then debit.
   */
  opening?: { debitAccountId: string; amount: bigint; kind: string };
}

/** An account as stored: its identity and its four running totals. */
export interface AccountState {
  id: string;
  unit: string;
  flags: number;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
  createdAt: number;
}

/** How a transfer moves value. The numbers are stored; never renumber them. */
export const TransferType = {
  posted: 0,
  pending: 1,
  post_pending: 2,
  void_pending: 3,
} as const;
export type TransferTypeName = keyof typeof TransferType;
export type TransferTypeCode = (typeof TransferType)[TransferTypeName];

/** A transfer that moves `amount` at once. */
export interface PostedTransferInput {
  type?: "posted";
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  kind: string;
  metadata?: JsonObject;
}

export type TransferInput =
  | PostedTransferInput
  | {
      type: "pending";
      debitAccountId: string;
      creditAccountId: string;
      amount: bigint;
      kind: string;
      metadata?: JsonObject;
      /** After this time the hold can no longer be posted, and the expiry job voids it. */
      expiresAt?: number;
    }
  | {
      /**
       * One movement from several accounts: each is debited in order, up to what it has
       * available, until `amount` is covered; one posted transfer is recorded per account used.
       * An unflagged debit account gives all that is still needed. Spending coins bonus first,
       * then paid lots oldest first, is one cascade, decided inside the batch against live balances.
       */
      type: "cascade";
      debitAccountIds: string[];
      creditAccountId: string;
      amount: bigint;
      kind: string;
      metadata?: JsonObject;
    }
  | {
      type: "post_pending";
      pendingId: bigint;
      /** Defaults to the whole pending amount; a smaller amount posts part and releases the rest. */
      amount?: bigint;
      kind: string;
      metadata?: JsonObject;
    }
  | {
      type: "void_pending";
      pendingId: bigint;
      kind: string;
      metadata?: JsonObject;
    };

/** A transfer as recorded. History is append-only: a record never changes once written. */
export interface TransferRecord {
  id: bigint;
  type: TransferTypeName;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  unit: string;
  kind: string;
  pendingId: bigint | null;
  expiresAt: number | null;
  metadata: JsonObject | null;
  createdAt: number;
}

/** One atomic unit of work: all of its transfers apply, or none of them. */
export interface LedgerRequest {
  /** When set, a replay returns the first result and a different request with it fails. */
  idempotencyKey?: string;
  /** Accounts created, if absent, in the same transaction as the transfers. */
  accounts?: AccountInput[];
  transfers: TransferInput[];
  /** Opaque caller data stored with the idempotency record and returned on replay. */
  memo?: JsonValue;
  /**
   * Whether a replay lists this request's transfers (default true). False keeps only the memo in
   * the idempotency record, and every replay (from the record, or of a retry in the same batch)
   * answers `transfers: []`: for a caller whose answer is its memo, the record shrinks to a
   * fraction, and so do the bytes every such request writes.
   */
  replayTransfers?: boolean;
  /**
   * Records outside the ledger (a purchase row, say) written by the store in the same transaction
   * as the transfers, so that both land or neither does. Opaque to the ledger.
   */
  effects?: StoreEffect[];
  /**
   * More effects, made once the request's transfers have their ids: a record that names a hold
   * it will later post or void needs the hold's id, which the batch assigns. Runs inside the
   * batch; it must be quick and must not throw.
   */
  effectsOf?: (transfers: readonly TransferRecord[]) => StoreEffect[];
  /**
   * Posted transfers that follow from what `transfers` did, applied after them in the same
   * request: a gift whose diamonds are earned only on the paid coins its cascade spent. Each is
   * checked as a submitted transfer is, and a refused one refuses the whole request. Its accounts
   * must be among those the request names (in `accounts` or `transfers`), which the batch loads.
   * Runs inside the batch; it must be quick and must not throw.
   */
  transfersOf?: (transfers: readonly TransferRecord[]) => PostedTransferInput[];
  /**
   * What the idempotency key is bound to. Defaults to a hash of this request; a caller whose own
   * request maps to ledger requests that may differ between retries (an HTTP body, say) passes a
   * fingerprint of its request instead.
   */
  fingerprint?: string;
}

/** A record the store writes beside a ledger request; `type` names the store's writer for it. */
export interface StoreEffect {
  type: string;
  data: JsonObject;
}

export interface LedgerResult {
  transfers: TransferRecord[];
  memo: JsonValue | null;
  /** True when this answer was read back from an earlier identical request. */
  replayed: boolean;
}

/** The state of a two-phase transfer's hold. Only open holds are kept; closed ones are history. */
export const PendingStatus = {
  open: 0,
  posted: 1,
  voided: 2,
} as const;
export type PendingStatusCode = (typeof PendingStatus)[keyof typeof PendingStatus];

export interface PendingState {
  id: bigint;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  expiresAt: number | null;
  status: PendingStatusCode;
}

export interface Balance {
  accountId: string;
  unit: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
  /** creditsPosted − debitsPosted. */
  posted: bigint;
  /** creditsPending − debitsPending. */
  pending: bigint;
  /** What can still be debited: posted − debitsPending. */
  available: bigint;
}

export interface HistoryPage {
  transfers: TransferRecord[];
  /** Pass back to get the next (older) page; null when there is none. */
  nextCursor: string | null;
}
