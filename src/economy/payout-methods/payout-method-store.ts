/** A payout method as stored: the details and holder name sealed together, the mask in the clear. */
export interface StoredPayoutMethod {
  id: string;
  userId: string;
  type: string;
  /** Sealed JSON of `{ holderName, details }`, bound to the user and this method id. */
  sealed: Uint8Array;
  masked: string;
  createdAt: number;
  deletedAt: number | null;
}

/** Storage for payout methods. Deleting keeps the row: a cash-out in flight still references it. */
export interface PayoutMethodStore {
  /** Inserts unless the user already has `perUserMax` methods not deleted; returns whether it did. */
  insert(method: StoredPayoutMethod, perUserMax: number): Promise<boolean>;
  get(id: string): Promise<StoredPayoutMethod | undefined>;
  /** The user's methods not deleted, oldest first. */
  listActive(userId: string): Promise<StoredPayoutMethod[]>;
  /** Marks a method deleted; false when it was not there or already deleted. */
  markDeleted(userId: string, id: string, at: number): Promise<boolean>;
}
