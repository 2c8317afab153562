import type { LeaderboardEntry, LeaderboardStore, TimeRange } from "../../realtime/leaderboards.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Aggregates gift rows: gifts_context serves a stream, gifts_recipient a creator and a period. */
export class SqliteLeaderboardStore implements LeaderboardStore {
  private readonly s;

  constructor(store: SqliteStore) {
    const db = store.database;
    const top = (where: string) =>
      db.prepare(
        `SELECT t.sender_id, t.coins, t.gifts, u.display_name
         FROM (SELECT sender_id, SUM(coins) AS coins, SUM(quantity) AS gifts
               FROM gifts WHERE ${where} GROUP BY sender_id
               ORDER BY coins DESC, sender_id LIMIT :limit) t
         LEFT JOIN users u ON u.id = t.sender_id
         ORDER BY t.coins DESC, t.sender_id`,
      );
    this.s = {
      stream: top("context_id = :id AND source = 'live'"),
      creator: top("recipient_id = :id AND created_at >= :from AND created_at < :to"),
    };
  }

  async streamTop(streamId: string, limit: number): Promise<LeaderboardEntry[]> {
    return (this.s.stream.all({ id: streamId, limit: BigInt(limit) }) as Row[]).map(toEntry);
  }

  async creatorTop(userId: string, range: TimeRange, limit: number): Promise<LeaderboardEntry[]> {
    const rows = this.s.creator.all({
      id: userId,
      // Open bounds as the widest integers SQLite holds.
      from: range.fromMs === null ? -(2n ** 63n) : BigInt(range.fromMs),
      to: range.toMs === null ? 2n ** 63n - 1n : BigInt(range.toMs),
      limit: BigInt(limit),
    }) as Row[];
    return rows.map(toEntry);
  }
}

function toEntry(row: Row): LeaderboardEntry {
  return {
    userId: row.sender_id as string,
    displayName: (row.display_name as string | null) ?? null,
    coins: row.coins as bigint,
    gifts: row.gifts as bigint,
  };
}
