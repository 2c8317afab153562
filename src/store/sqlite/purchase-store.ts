import {
  type Purchase,
  type PurchaseDocument,
  type PurchaseStore,
  purchaseFromDocument,
} from "../../economy/purchases/purchase.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Purchases are written as ledger effects (effects.ts), in the transaction that moves their coins. */
export class SqlitePurchaseStore implements PurchaseStore {
  private readonly s;

  constructor(store: SqliteStore) {
    const db = store.database;
    this.s = {
      byId: db.prepare("SELECT document FROM purchases WHERE id = ?"),
      byPaymentRef: db.prepare("SELECT document FROM purchases WHERE provider = ? AND payment_ref = ?"),
      byUser: db.prepare(
        `SELECT document FROM purchases WHERE user_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      ),
      event: db.prepare("SELECT 1 FROM provider_events WHERE provider = ? AND event_id = ?"),
    };
  }

  async getPurchase(id: string): Promise<Purchase | undefined> {
    return read(this.s.byId.get(id) as Row | undefined);
  }

  async findByPaymentRef(provider: string, paymentRef: string): Promise<Purchase | undefined> {
    return read(this.s.byPaymentRef.get(provider, paymentRef) as Row | undefined);
  }

  async listByUser(userId: string, before: { createdAt: number; id: string } | null, limit: number) {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    const rows = this.s.byUser.all(userId, at, at, before?.id ?? "\uffff", BigInt(limit)) as Row[];
    return rows.map((row) => read(row)!);
  }

  async hasEvent(provider: string, eventId: string): Promise<boolean> {
    return this.s.event.get(provider, eventId) !== undefined;
  }
}

function read(row: Row | undefined): Purchase | undefined {
  return row ? purchaseFromDocument(JSON.parse(row.document as string) as PurchaseDocument) : undefined;
}
