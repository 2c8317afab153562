import type { ReportStore } from "../../economy/report/report.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** The economy report's sums, read from purchases, gifts and the ledger's coin lots. */
export class SqliteReportStore implements ReportStore {
  private readonly s;

  constructor(store: SqliteStore) {
    const db = store.database;
    this.s = {
      sales: db.prepare(
        `SELECT currency, SUM(coins) AS coins, SUM(price_minor) AS revenue,
                SUM(CAST(json_extract(document, '$.refundedMinor') AS INTEGER)) AS refunded
         FROM purchases WHERE status IN ('completed', 'refunded', 'disputed') AND created_at >= ? AND created_at < ?
         GROUP BY currency ORDER BY currency`,
      ),
      // A purchase's coin lot is the account user:{user}:coins:paid:{purchase}.
      outstanding: db.prepare(
        `SELECT p.currency AS currency, SUM(a.credits_posted - a.debits_posted) AS coins
         FROM purchases p JOIN accounts a ON a.id = 'user:' || p.user_id || ':coins:paid:' || p.id
         GROUP BY p.currency ORDER BY p.currency`,
      ),
      bonus: db.prepare(
        "SELECT COALESCE(SUM(credits_posted - debits_posted), 0) AS coins FROM accounts WHERE id LIKE 'user:%:coins:bonus'",
      ),
      gifts: db.prepare(
        `SELECT source, value_usd, commission_rate, SUM(coins) AS coins, SUM(diamonds) AS diamonds
         FROM gifts WHERE created_at >= ? AND created_at < ? GROUP BY source, value_usd, commission_rate`,
      ),
      held: db.prepare(
        `SELECT source, value_usd, commission_rate,
                (status = 'matured' OR matures_at <= ?) AS withdrawable,
                SUM(diamonds - reversed_diamonds) AS diamonds
         FROM gifts GROUP BY source, value_usd, commission_rate, withdrawable`,
      ),
    };
  }

  async sales(from: number, to: number) {
    return (this.s.sales.all(BigInt(from), BigInt(to)) as Row[]).map((r) => ({
      currency: r.currency as string,
      coins: r.coins as bigint,
      revenueMinor: r.revenue as bigint,
      refundedMinor: (r.refunded as bigint | null) ?? 0n,
    }));
  }

  async coinsOutstanding() {
    return (this.s.outstanding.all() as Row[]).map((r) => ({
      currency: r.currency as string,
      coins: r.coins as bigint,
    }));
  }

  async bonusCoinsOutstanding() {
    return (this.s.bonus.get() as { coins: bigint }).coins;
  }

  async giftsIn(from: number, to: number) {
    return (this.s.gifts.all(BigInt(from), BigInt(to)) as Row[]).map((r) => ({
      source: r.source as string,
      coins: r.coins as bigint,
      diamonds: r.diamonds as bigint,
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }

  async diamondsOutstanding(now: number) {
    return (this.s.held.all(BigInt(now)) as Row[]).map((r) => ({
      source: r.source as string,
      withdrawable: r.withdrawable === 1n,
      diamonds: r.diamonds as bigint,
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }
}
