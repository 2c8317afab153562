import type { ReportStore } from "../../economy/report/report.js";
import type { SqlDb } from "./sql-db.js";

/** Sales per currency; `refunded` reads the purchase document's JSON, which each database reads its own way. */
const sales = (refundedMinor: string) =>
  `SELECT currency, SUM(coins) AS coins, SUM(price_minor) AS revenue,
          SUM(CAST(${refundedMinor} AS BIGINT)) AS refunded
   FROM purchases WHERE status IN ('completed', 'refunded', 'disputed') AND created_at >= ? AND created_at < ?
   GROUP BY currency ORDER BY currency`;

const sql = {
  salesSqlite: sales("json_extract(document, '$.refundedMinor')"),
  salesPostgres: sales("(document::jsonb ->> 'refundedMinor')"),
  // A purchase's coin lot is the account user:{user}:coins:paid:{purchase}.
  outstanding: `SELECT p.currency AS currency, SUM(a.credits_posted - a.debits_posted) AS coins
                FROM purchases p JOIN accounts a ON a.id = 'user:' || p.user_id || ':coins:paid:' || p.id
                GROUP BY p.currency ORDER BY p.currency`,
  bonus:
    "SELECT COALESCE(SUM(credits_posted - debits_posted), 0) AS coins FROM accounts WHERE id LIKE 'user:%:coins:bonus'",
  gifts: `SELECT source, value_usd, commission_rate, SUM(coins) AS coins, SUM(diamonds) AS diamonds
          FROM gifts WHERE created_at >= ? AND created_at < ? GROUP BY source, value_usd, commission_rate`,
  // withdrawable is 0 or 1 (a comparison is an integer on SQLite but a boolean on PostgreSQL).
  held: `SELECT source, value_usd, commission_rate,
                CASE WHEN status = 'matured' OR matures_at <= ? THEN 1 ELSE 0 END AS withdrawable,
                SUM(diamonds - reversed_diamonds) AS diamonds
         FROM gifts GROUP BY source, value_usd, commission_rate, withdrawable`,
};

/**
 * The economy report's sums, read from purchases, gifts and the ledger's coin lots. A SUM over
 * bigint is numeric on PostgreSQL, read as an exact string, so every sum goes through `BigInt`.
 */
export class SqlReportStore implements ReportStore {
  constructor(private readonly db: SqlDb) {}

  async sales(from: number, to: number) {
    const text = this.db.dialect === "postgres" ? sql.salesPostgres : sql.salesSqlite;
    return (await this.db.all(text, [BigInt(from), BigInt(to)])).map((r) => ({
      currency: r.currency as string,
      coins: big(r.coins),
      revenueMinor: big(r.revenue),
      refundedMinor: r.refunded === null ? 0n : big(r.refunded),
    }));
  }

  async coinsOutstanding() {
    return (await this.db.all(sql.outstanding)).map((r) => ({
      currency: r.currency as string,
      coins: big(r.coins),
    }));
  }

  async bonusCoinsOutstanding() {
    const row = await this.db.get(sql.bonus);
    return big(row!.coins);
  }

  async giftsIn(from: number, to: number) {
    return (await this.db.all(sql.gifts, [BigInt(from), BigInt(to)])).map((r) => ({
      source: r.source as string,
      coins: big(r.coins),
      diamonds: big(r.diamonds),
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }

  async diamondsOutstanding(now: number) {
    return (await this.db.all(sql.held, [BigInt(now)])).map((r) => ({
      source: r.source as string,
      withdrawable: Number(r.withdrawable) === 1,
      diamonds: big(r.diamonds),
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }
}

/** A sum: bigint on SQLite, an exact numeric string on PostgreSQL. */
function big(value: unknown): bigint {
  return BigInt(value as bigint | string);
}
