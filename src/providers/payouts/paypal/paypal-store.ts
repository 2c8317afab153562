/** A PayPal payout batch as this service posted it (the `paypal_batches` table). */
export interface PaypalBatch {
  /** Derived from its cash-out ids (senderBatchIdOf). */
  senderBatchId: string;
  /** PayPal's id for it, once PayPal has answered; null while a post may or may not have landed. */
  payoutBatchId: string | null;
  /** The exact JSON body posted, posted again as it is after a timeout. */
  request: string;
  itemCount: number;
  /** On the service clock. */
  createdAt: number;
  /** Why PayPal refused the whole batch (nothing paid); null otherwise. */
  refused: string | null;
}

/** A cash-out's place at PayPal: its batch, and its item's id once the batch has been read. */
export interface PaypalItemRef {
  batch: PaypalBatch;
  payoutItemId: string | null;
}

/**
 * What the PayPal rail remembers: each batch it posted and which batch carries each cash-out. The
 * batch is written before it is posted, so a crash or a timeout after posting is always followed by
 * the same batch posted again, never by a new one.
 */
export interface PaypalPayoutStore {
  /** Records a batch and its cash-outs in one transaction; a cash-out already in a batch fails it. */
  saveBatch(batch: PaypalBatch, cashoutIds: readonly string[]): Promise<void>;
  itemOf(cashoutId: string): Promise<PaypalItemRef | undefined>;
  setPayoutBatchId(senderBatchId: string, payoutBatchId: string): Promise<void>;
  /** PayPal's item ids of a batch's cash-outs, learnt from reading it; each is set once. */
  setItemIds(
    senderBatchId: string,
    items: readonly { cashoutId: string; payoutItemId: string }[],
  ): Promise<void>;
  markRefused(senderBatchId: string, reason: string): Promise<void>;
  /** Batches created at or after `sinceMs`, oldest first, at most `limit`. */
  batchesSince(sinceMs: number, limit: number): Promise<PaypalBatch[]>;
}
