import type { ReportStore } from "../../economy/report/report.js";
import { bigintOf, type SqlDb } from "./sql-db.js";

/**
 * Sales per currency. Refunds and chargebacks are read from the purchase document's JSON, which each
 * database reads its own way; `net_coins` are the coins a sale still stands for (none once charged
 * back, none of those refunded), and `net_minor` the money kept that they stand for. A dispute
 * takes back all of a purchase's coins even when it takes back only part of its money (one stored
 * before `chargedBackMinor` lost all it had not refunded), so a disputed purchase's money kept
 * stands for no coins: it is in `revenue` less `refunded` and `charged_back`, not in `net_minor`.
 */
const sales = (field: (name: string) => string) => {
  /** A document's integer-string field, 0 when the document predates it. */
  const int = (name: string) => `CAST(COALESCE(${field(name)}, '0') AS BIGINT)`;
  return `SELECT currency, economy_version, SUM(coins) AS coins, SUM(price_minor) AS revenue,
          SUM(${int("refundedMinor")}) AS refunded,
          SUM(CASE WHEN ${field("chargedBackMinor")} IS NOT NULL THEN ${int("chargedBackMinor")}
                   WHEN status = 'disputed' THEN price_minor - ${int("refundedMinor")}
                   ELSE 0 END) AS charged_back,
          SUM(CASE WHEN status = 'disputed' THEN 0 ELSE coins - ${int("refundedCoins")} END) AS net_coins,
          SUM(CASE WHEN status = 'disputed' THEN 0
                   ELSE price_minor - ${int("refundedMinor")} - ${int("chargedBackMinor")} END) AS net_minor
   FROM purchases WHERE status IN ('completed', 'refunded', 'disputed') AND created_at >= ? AND created_at < ?
   GROUP BY currency, economy_version ORDER BY currency, economy_version`;
};

/**
 * Coins of gifts in the window drawn from bonus coins, per source: the ledger's cascade rows. The
 * transfers table has no index on its time; the window is found as a range of ids first (ids grow
 * with time), so the read covers the window's transfers, not the whole ledger.
 */
const bonusSpent = (giftIdOf: string) =>
  `SELECT g.source AS source, SUM(t.amount) AS coins
   FROM transfers AS t JOIN gifts AS g ON g.id = ${giftIdOf}
   WHERE t.id >= ? AND t.id < ? AND t.kind = 'gift' AND t.debit_account_id LIKE 'user:%:coins:bonus'
     AND t.created_at >= ? AND t.created_at < ?
   GROUP BY g.source`;

/**
 * How far the time of a transfer may run behind one with a smaller id: batches of several
 * processes on PostgreSQL take ids from one sequence and their times from their own clocks. The
 * id range is widened by this much on both sides; the times themselves still decide.
 */
const idOrderSlackMs = 60_000;

const sql = {
  salesSqlite: sales((name) => `json_extract(document, '$.${name}')`),
  salesPostgres: sales((name) => `(document::jsonb ->> '${name}')`),
  bonusSpentSqlite: bonusSpent("json_extract(t.metadata, '$.giftId')"),
  bonusSpentPostgres: bonusSpent("(t.metadata::jsonb ->> 'giftId')"),
  // A purchase's coin lot is the account user:{user}:coins:paid:{purchase}.
  outstanding: `SELECT p.currency AS currency, SUM(a.credits_posted - a.debits_posted) AS coins
                FROM purchases p JOIN accounts a ON a.id = 'user:' || p.user_id || ':coins:paid:' || p.id
                GROUP BY p.currency ORDER BY p.currency`,
  bonus:
    "SELECT COALESCE(SUM(credits_posted - debits_posted), 0) AS coins FROM accounts WHERE id LIKE 'user:%:coins:bonus'",
  // Earned is what was earned and not taken back by a chargeback.
  gifts: `SELECT source, value_usd, commission_rate, SUM(coins) AS coins,
                 SUM(diamonds - reversed_diamonds) AS diamonds
          FROM gifts WHERE created_at >= ? AND created_at < ? GROUP BY source, value_usd, commission_rate`,
  // Still the creators': not taken back, and not in a cash-out (held or paid). withdrawable is 0 or
  // 1 (a comparison is an integer on SQLite but a boolean on PostgreSQL).
  held: `SELECT source, value_usd, commission_rate,
                CASE WHEN status = 'matured' OR matures_at <= ? THEN 1 ELSE 0 END AS withdrawable,
                SUM(diamonds - reversed_diamonds - cashed_diamonds) AS diamonds
         FROM gifts GROUP BY source, value_usd, commission_rate, withdrawable`,
  // On hold: in a cash-out that is neither paid nor over (over ones released their lots).
  onHold: `SELECT g.source AS source, g.value_usd AS value_usd, g.commission_rate AS commission_rate,
                  SUM(l.diamonds) AS diamonds
           FROM cashout_lots AS l JOIN cashouts AS c ON c.id = l.cashout_id JOIN gifts AS g ON g.id = l.gift_id
           WHERE l.released = 0 AND c.status IN ('requested', 'approved', 'processing')
           GROUP BY g.source, g.value_usd, g.commission_rate`,
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
      economyVersion: r.economy_version as string,
      coins: bigintOf(r.coins),
      revenueMinor: bigintOf(r.revenue),
      refundedMinor: bigintOf(r.refunded),
      chargedBackMinor: bigintOf(r.charged_back),
      netCoins: bigintOf(r.net_coins),
      netMinor: bigintOf(r.net_minor),
    }));
  }

  async bonusCoinsSpent(from: number, to: number) {
    const text = this.db.dialect === "postgres" ? sql.bonusSpentPostgres : sql.bonusSpentSqlite;
    const max = bigintOf((await this.db.get("SELECT COALESCE(MAX(id), 0) AS id FROM transfers"))!.id);
    const first = await this.firstTransferFrom(from - idOrderSlackMs, max);
    const end = await this.firstTransferFrom(to + idOrderSlackMs, max);
    const params = [first, end, BigInt(from), BigInt(to)];
    return (await this.db.all(text, params)).map((r) => ({
      source: r.source as string,
      coins: bigintOf(r.coins),
    }));
  }

  /**
   * The smallest transfer id up to `max` whose time is `at` or later (`max` + 1 when none is), by
   * binary search over primary-key seeks: about 30 point reads, whatever the size of the ledger.
   */
  private async firstTransferFrom(at: number, max: bigint): Promise<bigint> {
    let low = 1n;
    let high = max + 1n;
    while (low < high) {
      const middle = (low + high) / 2n;
      const row = await this.db.get(
        "SELECT id, created_at FROM transfers WHERE id >= ? ORDER BY id LIMIT 1",
        [middle],
      );
      if (row === undefined || bigintOf(row.created_at) >= BigInt(at)) high = middle;
      else low = bigintOf(row.id) + 1n;
    }
    return low;
  }

  async diamondsOnHold() {
    return (await this.db.all(sql.onHold)).map((r) => ({
      source: r.source as string,
      diamonds: bigintOf(r.diamonds),
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }

  async coinsOutstanding() {
    return (await this.db.all(sql.outstanding)).map((r) => ({
      currency: r.currency as string,
      coins: bigintOf(r.coins),
    }));
  }

  async bonusCoinsOutstanding() {
    const row = await this.db.get(sql.bonus);
    return bigintOf(row!.coins);
  }

  async giftsIn(from: number, to: number) {
    return (await this.db.all(sql.gifts, [BigInt(from), BigInt(to)])).map((r) => ({
      source: r.source as string,
      coins: bigintOf(r.coins),
      diamonds: bigintOf(r.diamonds),
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }

  async diamondsOutstanding(now: number) {
    return (await this.db.all(sql.held, [BigInt(now)])).map((r) => ({
      source: r.source as string,
      withdrawable: Number(r.withdrawable) === 1,
      diamonds: bigintOf(r.diamonds),
      valueUsd: r.value_usd as string,
      commissionRate: r.commission_rate as string,
    }));
  }
}
