import { type Sealer, sealContext } from "../../crypto/sealed.js";
import type {
  PaypalBatch,
  PaypalItemRef,
  PaypalPayoutStore,
} from "../../providers/payouts/paypal/paypal-store.js";
import type { Row, SqlDb } from "./sql-db.js";

/** Where a batch's sealed request lives; `giftstream reseal` seals it again there (sealed-columns.ts). */
export const requestContext = (senderBatchId: string) =>
  sealContext("paypal_batches", "request", senderBatchId);

const sql = {
  itemOf: `SELECT b.*, i.payout_item_id FROM paypal_items i
     JOIN paypal_batches b ON b.sender_batch_id = i.sender_batch_id
     WHERE i.cashout_id = ?`,
  since: "SELECT * FROM paypal_batches WHERE created_at >= ? ORDER BY created_at, sender_batch_id LIMIT ?",
  insertBatch: `INSERT INTO paypal_batches (sender_batch_id, payout_batch_id, request, item_count, created_at, refused)
     VALUES (?, NULL, ?, ?, ?, NULL)`,
  insertItem: "INSERT INTO paypal_items (cashout_id, sender_batch_id) VALUES (?, ?)",
  setItemId: `UPDATE paypal_items SET payout_item_id = ?
     WHERE cashout_id = ? AND sender_batch_id = ? AND payout_item_id IS NULL`,
  setPayoutBatchId:
    "UPDATE paypal_batches SET payout_batch_id = ? WHERE sender_batch_id = ? AND payout_batch_id IS NULL",
  markRefused: "UPDATE paypal_batches SET refused = ? WHERE sender_batch_id = ? AND payout_batch_id IS NULL",
};

/**
 * The PayPal rail's batches (SQLite migration 9), written outside the ledger. A batch's request
 * holds the receivers' emails: sealed with the key of the payout methods.
 */
export class SqlPaypalPayoutStore implements PaypalPayoutStore {
  constructor(
    private readonly db: SqlDb,
    private readonly sealer: Sealer,
  ) {}

  async saveBatch(batch: PaypalBatch, cashoutIds: readonly string[]): Promise<void> {
    // One transaction: the batch and every item row, or none. A cash-out already in another batch
    // fails the primary key, and so the whole write.
    await this.db.execute([
      {
        sql: sql.insertBatch,
        params: [
          batch.senderBatchId,
          this.sealer.seal(Buffer.from(batch.request, "utf8"), requestContext(batch.senderBatchId)),
          BigInt(batch.itemCount),
          BigInt(batch.createdAt),
        ],
      },
      ...cashoutIds.map((cashoutId) => ({
        sql: sql.insertItem,
        params: [cashoutId, batch.senderBatchId],
      })),
    ]);
  }

  async itemOf(cashoutId: string): Promise<PaypalItemRef | undefined> {
    const row = await this.db.get(sql.itemOf, [cashoutId]);
    if (!row) return undefined;
    return { batch: this.toBatch(row), payoutItemId: (row.payout_item_id as string | null) ?? null };
  }

  async setItemIds(
    senderBatchId: string,
    items: readonly { cashoutId: string; payoutItemId: string }[],
  ): Promise<void> {
    if (items.length === 0) return;
    await this.db.execute(
      items.map(({ cashoutId, payoutItemId }) => ({
        sql: sql.setItemId,
        params: [payoutItemId, cashoutId, senderBatchId],
      })),
    );
  }

  async setPayoutBatchId(senderBatchId: string, payoutBatchId: string): Promise<void> {
    await this.db.execute([
      {
        sql: sql.setPayoutBatchId,
        params: [payoutBatchId, senderBatchId],
      },
    ]);
  }

  async markRefused(senderBatchId: string, reason: string): Promise<void> {
    await this.db.execute([
      {
        sql: sql.markRefused,
        params: [reason, senderBatchId],
      },
    ]);
  }

  async batchesSince(sinceMs: number, limit: number): Promise<PaypalBatch[]> {
    return (await this.db.all(sql.since, [BigInt(sinceMs), BigInt(limit)])).map((row) => this.toBatch(row));
  }

  private toBatch(row: Row): PaypalBatch {
    const senderBatchId = row.sender_batch_id as string;
    return {
      senderBatchId,
      payoutBatchId: (row.payout_batch_id as string | null) ?? null,
      request: this.sealer.open(row.request as Buffer, requestContext(senderBatchId)).toString("utf8"),
      itemCount: Number(row.item_count),
      createdAt: Number(row.created_at),
      refused: (row.refused as string | null) ?? null,
    };
  }
}
