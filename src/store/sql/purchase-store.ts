import {
  type Purchase,
  type PurchaseDocument,
  type PurchaseStore,
  purchaseFromDocument,
} from "../../economy/purchases/purchase.js";
import type { Row, SqlDb } from "./sql-db.js";

const sql = {
  byId: "SELECT document FROM purchases WHERE id = ?",
  byPaymentRef: "SELECT document FROM purchases WHERE provider = ? AND payment_ref = ?",
  byUser: `SELECT document FROM purchases WHERE user_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
           ORDER BY created_at DESC, id DESC LIMIT ?`,
  event: "SELECT 1 AS found FROM provider_events WHERE provider = ? AND event_id = ?",
};

/** Purchases are written as ledger effects (effects.ts), in the transaction that moves their coins. */
export class SqlPurchaseStore implements PurchaseStore {
  constructor(private readonly db: SqlDb) {}

  async getPurchase(id: string): Promise<Purchase | undefined> {
    return read(await this.db.get(sql.byId, [id]));
  }

  async findByPaymentRef(provider: string, paymentRef: string): Promise<Purchase | undefined> {
    return read(await this.db.get(sql.byPaymentRef, [provider, paymentRef]));
  }

  async listByUser(userId: string, before: { createdAt: number; id: string } | null, limit: number) {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    const rows = await this.db.all(sql.byUser, [userId, at, at, before?.id ?? "\uffff", BigInt(limit)]);
    return rows.map((row) => read(row)!);
  }

  async hasEvent(provider: string, eventId: string): Promise<boolean> {
    return (await this.db.get(sql.event, [provider, eventId])) !== undefined;
  }
}

function read(row: Row | undefined): Purchase | undefined {
  return row ? purchaseFromDocument(JSON.parse(row.document as string) as PurchaseDocument) : undefined;
}
