import type { GiftLot, GiftStore } from "../../economy/gifts/gifts.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Gifts are written as ledger effects (effects.ts), in the transaction that moves their coins. */
/** Most users whose lot order is kept in memory. */
const lotOrdersCachedMax = 100_000;

export class SqliteGiftStore implements GiftStore {
  private readonly s;
  /** Each sender's lot order, read once per change of their purchases (see `forgetLots`). */
  private readonly lotOrders = new Map<string, string[]>();

  constructor(store: SqliteStore) {
    const db = store.database;
    this.s = {
      lot: db.prepare("SELECT * FROM gifts WHERE id = ?"),
      maturing: db.prepare(
        "SELECT * FROM gifts WHERE status = 'pending' AND matures_at <= ? ORDER BY matures_at, id LIMIT ?",
      ),
      maturingFor: db.prepare(
        `SELECT * FROM gifts WHERE recipient_id = ? AND status = 'pending' AND matures_at <= ?
         ORDER BY matures_at, id LIMIT ?`,
      ),
      withdrawable: db.prepare(
        `SELECT value_usd, commission_rate, SUM(diamonds - reversed_diamonds - cashed_diamonds) AS d,
                SUM(CASE WHEN status = 'pending' THEN diamonds - reversed_diamonds ELSE 0 END) AS due
         FROM gifts WHERE recipient_id = ? AND (status = 'matured' OR matures_at <= ?)
         GROUP BY value_usd, commission_rate ORDER BY value_usd, commission_rate`,
      ),
      lotOrder: db.prepare(
        "SELECT id FROM purchases WHERE user_id = ? AND status IN ('completed', 'disputed') ORDER BY created_at, rowid",
      ),
    };
  }

  async getLot(id: string): Promise<GiftLot | undefined> {
    const row = this.s.lot.get(id) as Row | undefined;
    return row ? toLot(row) : undefined;
  }

  async listMaturing(now: number, limit: number, recipientId?: string): Promise<GiftLot[]> {
    const rows =
      recipientId === undefined
        ? this.s.maturing.all(BigInt(now), BigInt(limit))
        : this.s.maturingFor.all(recipientId, BigInt(now), BigInt(limit));
    return (rows as Row[]).map(toLot);
  }

  async withdrawableGroups(userId: string, now: number) {
    const rows = this.s.withdrawable.all(userId, BigInt(now)) as Row[];
    let due = 0n;
    const groups = rows.map((row) => {
      due += row.due as bigint;
      return {
        diamonds: row.d as bigint,
        valueUsd: row.value_usd as string,
        commissionRate: row.commission_rate as string,
      };
    });
    return { groups, due };
  }

  async paidLotOrder(userId: string): Promise<string[]> {
    const cached = this.lotOrders.get(userId);
    if (cached) return cached;
    const order = (this.s.lotOrder.all(userId) as Row[]).map((row) => row.id as string);
    if (this.lotOrders.size >= lotOrdersCachedMax) this.lotOrders.clear();
    this.lotOrders.set(userId, order);
    return order;
  }

  forgetLots(userId: string): void {
    this.lotOrders.delete(userId);
  }
}

function toLot(row: Row): GiftLot {
  return {
    id: row.id as string,
    recipientId: row.recipient_id as string,
    diamonds: row.diamonds as bigint,
    coins: row.coins as bigint,
    status: row.status as GiftLot["status"],
    reversedDiamonds: row.reversed_diamonds as bigint,
    maturesAt: Number(row.matures_at),
  };
}
