import {
  type GiftContextType,
  type GiftLot,
  type GiftReceipt,
  type GiftStore,
  lotsPerGiftMax,
} from "../../economy/gifts/gifts.js";
import { batchedReads, keyIn } from "./batched-reads.js";
import { bigintOf, type Row, type SqlDb } from "./sql-db.js";

/** Gifts are written as ledger effects (effects.ts), in the transaction that moves their coins. */
/** Most users whose lot order is kept in memory. */
const lotOrdersCachedMax = 100_000;

const sql = {
  lot: "SELECT * FROM gifts WHERE id = ?",
  maturing:
    "SELECT * FROM gifts WHERE status = 'pending' AND matures_at <= ? ORDER BY matures_at, id LIMIT ?",
  maturingFor: `SELECT * FROM gifts WHERE recipient_id = ? AND status = 'pending' AND matures_at <= ?
     ORDER BY matures_at, id LIMIT ?`,
  withdrawable: `SELECT value_usd, commission_rate, SUM(diamonds - reversed_diamonds - cashed_diamonds) AS d,
            SUM(CASE WHEN status = 'pending' THEN diamonds - reversed_diamonds ELSE 0 END) AS due
     FROM gifts WHERE recipient_id = ? AND (status = 'matured' OR matures_at <= ?)
     GROUP BY value_usd, commission_rate ORDER BY value_usd, commission_rate`,
  // Every creator's pending-diamonds account against their pending lots, both ways round.
  pendingMismatches: `WITH l AS (SELECT recipient_id, SUM(diamonds - reversed_diamonds) AS d FROM gifts
                  WHERE status = 'pending' GROUP BY recipient_id)
     SELECT a.id AS account_id, a.credits_posted - a.debits_posted AS balance, COALESCE(l.d, 0) AS lots
     FROM accounts AS a LEFT JOIN l ON a.id = 'user:' || l.recipient_id || ':diamonds:pending'
     WHERE a.id LIKE 'user:%:diamonds:pending' AND a.credits_posted - a.debits_posted <> COALESCE(l.d, 0)
     UNION ALL
     SELECT 'user:' || l.recipient_id || ':diamonds:pending', 0, l.d FROM l
     WHERE l.d <> 0 AND NOT EXISTS
       (SELECT 1 FROM accounts WHERE id = 'user:' || l.recipient_id || ':diamonds:pending')
     LIMIT ?`,
};

export class SqlGiftStore implements GiftStore {
  /** Each sender's lot order, read once per change of their purchases (see `forgetLots`). */
  private readonly lotOrders = new Map<string, { order: string[]; atMs: number }>();
  /**
   * How long a cached lot order is trusted. Unbounded with one process, which sees every
   * purchase; with several, another process's purchase reaches this one by notice, and at worst
   * after this long. A stale order costs availability only: a lot missing from it is not spent
   * from yet, and a refunded lot left in it has nothing left to spend.
   */
  lotOrderTtlMs = Number.POSITIVE_INFINITY;
  /** Bumped per sender by every change, so a read that a change overtook is not cached. */
  private readonly lotChanges = new Map<string, number>();
  /** Told of each sender whose lots changed here, so other processes drop their copy too. */
  onLotsChanged: ((userId: string) => void) | undefined;

  /** Concurrent reads of lot orders, one statement for all senders (batched-reads.ts). */
  private readonly readLotOrder: (userId: string) => Promise<string[]>;
  /** Concurrent receipt reads (a replayed `send-batch` has up to 1,000), one statement for all. */
  private readonly readReceipt: (id: string) => Promise<GiftReceipt | undefined>;

  constructor(private readonly db: SqlDb) {
    this.readLotOrder = batchedReads<string[]>(
      db,
      // Only lots with coins left (the account id is userAccounts.paidCoins'): a buyer's purchases
      // grow without bound, and a cascade draws on at most cascadeAccountsMax accounts.
      `SELECT p.user_id, p.id FROM purchases p
         JOIN accounts a ON a.id = 'user:' || p.user_id || ':coins:paid:' || p.id
       WHERE ${keyIn(db.dialect, "p.user_id")} AND p.status IN ('completed', 'disputed')
         AND a.credits_posted > a.debits_posted
       ORDER BY p.user_id, p.created_at, p.rowid`,
      (rows) => {
        const orders = new Map<string, string[]>();
        for (const row of rows) {
          const userId = row.user_id as string;
          let order = orders.get(userId);
          if (order === undefined) {
            order = [];
            orders.set(userId, order);
          }
          order.push(row.id as string);
        }
        return orders;
      },
      () => [],
    );
    this.readReceipt = batchedReads<GiftReceipt | undefined>(
      db,
      `SELECT * FROM gifts WHERE ${keyIn(db.dialect, "id")}`,
      (rows) => new Map(rows.map((row) => [row.id as string, toReceipt(row)])),
      () => undefined,
    );
  }

  async getLot(id: string): Promise<GiftLot | undefined> {
    const row = await this.db.get(sql.lot, [id]);
    return row ? toLot(row) : undefined;
  }

  getReceipt(id: string): Promise<GiftReceipt | undefined> {
    return this.readReceipt(id);
  }

  async listMaturing(now: number, limit: number, recipientId?: string): Promise<GiftLot[]> {
    const rows =
      recipientId === undefined
        ? await this.db.all(sql.maturing, [BigInt(now), BigInt(limit)])
        : await this.db.all(sql.maturingFor, [recipientId, BigInt(now), BigInt(limit)]);
    return rows.map(toLot);
  }

  /**
   * Creators whose pending-diamonds account does not hold exactly their pending lots' diamonds
   * (earned less taken back): a lot moved twice, or moved without its row. `giftstream reconcile`
   * reports them; none in a sound database.
   */
  async pendingMismatches(limit: number): Promise<{ accountId: string; balance: bigint; lots: bigint }[]> {
    const rows = await this.db.all(sql.pendingMismatches, [BigInt(limit)]);
    // SUM is numeric on PostgreSQL, read as an exact string.
    return rows.map((row) => ({
      accountId: row.account_id as string,
      balance: bigintOf(row.balance),
      lots: bigintOf(row.lots),
    }));
  }

  async withdrawableGroups(userId: string, now: number) {
    const rows = await this.db.all(sql.withdrawable, [userId, BigInt(now)]);
    let due = 0n;
    const groups = rows.map((row) => {
      // SUM is numeric on PostgreSQL, read as an exact string.
      due += bigintOf(row.due);
      return {
        diamonds: bigintOf(row.d),
        valueUsd: row.value_usd as string,
        commissionRate: row.commission_rate as string,
      };
    });
    return { groups, due };
  }

  async paidLotOrder(userId: string): Promise<string[]> {
    const cached = this.lotOrders.get(userId);
    if (cached && Date.now() - cached.atMs < this.lotOrderTtlMs) return cached.order;
    const atMs = Date.now();
    const changes = this.lotChanges.get(userId);
    const order = await this.readLotOrder(userId);
    if (this.lotChanges.get(userId) !== changes) return order;
    // Lots only gain coins through a purchase's change, which drops the copy (`forgetLots`), so a
    // copy lists every lot with coins left. Not so for an order longer than one gift can draw on:
    // as gifts empty its oldest lots, the ones past them come within reach, so it is read afresh.
    if (order.length > lotsPerGiftMax) return order;
    if (this.lotOrders.size >= lotOrdersCachedMax) this.lotOrders.clear();
    this.lotOrders.set(userId, { order, atMs });
    return order;
  }

  forgetLots(userId: string): void {
    this.dropLots(userId);
    this.onLotsChanged?.(userId);
  }

  /** Drops a sender's cached lot order because another process changed their lots; tells no one. */
  dropLots(userId: string): void {
    this.lotOrders.delete(userId);
    if (this.lotChanges.size >= lotOrdersCachedMax) this.lotChanges.clear();
    this.lotChanges.set(userId, (this.lotChanges.get(userId) ?? 0) + 1);
  }
}

/** Field for field what `Gifts` answered when the gift was sent (and in the same order). */
function toReceipt(row: Row): GiftReceipt {
  return {
    id: row.id as string,
    senderId: row.sender_id as string,
    recipientId: row.recipient_id as string,
    giftId: row.catalog_id as string,
    quantity: Number(row.quantity),
    coinsSpent: String(row.coins),
    diamondsEarned: String(row.diamonds),
    context: { type: row.source as GiftContextType, id: row.context_id as string },
    economyVersion: row.economy_version as string,
    createdAt: Number(row.created_at),
    maturesAt: Number(row.matures_at),
  };
}

function toLot(row: Row): GiftLot {
  return {
    id: row.id as string,
    recipientId: row.recipient_id as string,
    diamonds: row.diamonds as bigint,
    coins: row.coins as bigint,
    status: row.status as GiftLot["status"],
    reversedDiamonds: row.reversed_diamonds as bigint,
    economyVersion: row.economy_version as string,
    createdAt: Number(row.created_at),
    maturesAt: Number(row.matures_at),
  };
}
