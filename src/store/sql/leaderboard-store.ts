import { int64Max } from "../../ledger/int64.js";
import type { LeaderboardEntry, LeaderboardStore, TimeRange } from "../../realtime/leaderboards.js";
import { bigintOf, type Row, type SqlDb } from "./sql-db.js";

const top = (where: string) =>
  `SELECT t.sender_id, t.coins, t.gifts, u.display_name
   FROM (SELECT sender_id, SUM(coins) AS coins, SUM(quantity) AS gifts
         FROM gifts WHERE ${where} GROUP BY sender_id
         ORDER BY coins DESC, sender_id LIMIT ?) t
   LEFT JOIN users u ON u.id = t.sender_id
   ORDER BY t.coins DESC, t.sender_id`;

const sql = {
  stream: top("context_id = ? AND source = 'live'"),
  creator: top("recipient_id = ? AND created_at >= ? AND created_at < ?"),
};

/** Aggregates gift rows: gifts_context serves a stream, gifts_recipient a creator and a period. */
export class SqlLeaderboardStore implements LeaderboardStore {
  constructor(private readonly db: SqlDb) {}

  async streamTop(streamId: string, limit: number): Promise<LeaderboardEntry[]> {
    return (await this.db.all(sql.stream, [streamId, BigInt(limit)])).map(toEntry);
  }

  async creatorTop(userId: string, range: TimeRange, limit: number): Promise<LeaderboardEntry[]> {
    const rows = await this.db.all(sql.creator, [
      userId,
      // Open bounds as the widest 64-bit integers, which both databases hold.
      range.fromMs === null ? -int64Max - 1n : BigInt(range.fromMs),
      range.toMs === null ? int64Max : BigInt(range.toMs),
      BigInt(limit),
    ]);
    return rows.map(toEntry);
  }
}

function toEntry(row: Row): LeaderboardEntry {
  return {
    userId: row.sender_id as string,
    displayName: (row.display_name as string | null) ?? null,
    // SUM is numeric on PostgreSQL, read as an exact string.
    coins: bigintOf(row.coins),
    gifts: bigintOf(row.gifts),
  };
}
