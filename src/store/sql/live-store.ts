import type { LiveGift, LiveStore, StoredStreak } from "../../realtime/live-store.js";
import type { Row, SqlDb } from "./sql-db.js";

/** Most of the newest rows read back for a stream's newest gifts before asking its index instead. */
const nearbyRowsMax = 20_000n;

const columns =
  "rowid AS seq, id, context_id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, created_at";

// A busy stream's newest gifts are among the newest of all: walking back a bounded stretch of the
// table avoids sorting the stream's whole history. On SQLite `+` keeps the planner off the index;
// PostgreSQL has no unary `+` on text, and its planner weighs the two paths by statistics.
const latestNearby = (contextId: string) =>
  `SELECT ${columns} FROM gifts WHERE rowid <= ? AND rowid > ? AND ${contextId} = ? AND source = 'live'
   ORDER BY rowid DESC LIMIT ?`;

const sql = {
  head: "SELECT COALESCE(MAX(rowid), 0) AS m FROM gifts",
  // The table's own rowid order: what is new since the cursor, however many streams it spans.
  after: `SELECT ${columns} FROM gifts WHERE rowid > ? AND source = 'live' ORDER BY rowid LIMIT ?`,
  latestNearbySqlite: latestNearby("+context_id"),
  latestNearbyPostgres: latestNearby("context_id"),
  // Otherwise gifts_context (context_id, created_at) finds the stream's rows.
  latest: `SELECT ${columns} FROM gifts WHERE context_id = ? AND source = 'live' AND rowid <= ?
           ORDER BY rowid DESC LIMIT ?`,
  // The rule of src/realtime/streaks.ts in SQL: per viewer and gift, in rowid order, a send
  // more than the window after the previous one starts a streak; keep each one's last streak.
  // Parameters, in order: window, stream, from, to, before.
  periodStreaks: `WITH sends AS (
      SELECT rowid AS seq, sender_id, catalog_id, quantity, created_at,
             CASE WHEN ABS(created_at - LAG(created_at) OVER k) <= ? THEN 0 ELSE 1 END AS starts
      FROM gifts
      WHERE context_id = ? AND source = 'live' AND created_at >= ? AND created_at < ?
        AND rowid < ?
      WINDOW k AS (PARTITION BY sender_id, catalog_id ORDER BY rowid)
    ),
    numbered AS (
      SELECT *, SUM(starts) OVER (PARTITION BY sender_id, catalog_id ORDER BY seq) AS streak
      FROM sends
    ),
    last AS (
      SELECT *, MAX(streak) OVER (PARTITION BY sender_id, catalog_id) AS last_streak FROM numbered
    ),
    streaks AS (
      SELECT sender_id, catalog_id, SUM(quantity) AS count, COUNT(*) AS sends,
             MIN(seq) AS first_seq, MAX(seq) AS last_seq
      FROM last WHERE streak = last_streak GROUP BY sender_id, catalog_id
    )
    SELECT s.sender_id, s.catalog_id, s.count, s.sends, f.id AS streak_id, l.created_at AS last_at
    FROM streaks s JOIN gifts f ON f.rowid = s.first_seq JOIN gifts l ON l.rowid = s.last_seq`,
};

/**
 * The live feed's reads. A gift's event id is the `rowid` of its row, and the feed relies on ids
 * following commit order: a reader that has seen id n must never later see a smaller one appear.
 *
 * On SQLite every gift is inserted by the one writer, in commit order, and gift rows are never
 * deleted, so each new rowid is the largest yet plus one: ids follow commit order, and a reader
 * sees them appear in that order. The rowid is implicit (the primary key is the text id), and
 * SQLite may renumber implicit rowids on VACUUM; it does not in the SQLite we ship, and with no
 * gaps ever made there would be nothing to close up (live-store.test.ts checks that the ids
 * survive a VACUUM).
 *
 * On PostgreSQL `rowid` is an identity column: its values follow insertion order, not commit
 * order, and a rolled-back insert leaves a gap. Gaps are harmless here (reads go by `>` and `<=`,
 * never by count), but with several writers a later id could commit before an earlier one and a
 * reader past it would skip the earlier gift. The PostgreSQL write path therefore takes a lock
 * around inserting gifts that makes their insert order their commit order; these reads rely on it.
 */
export class SqlLiveStore implements LiveStore {
  constructor(private readonly db: SqlDb) {}

  async headSeq(): Promise<bigint> {
    // MAX of a bigint column is bigint on both databases.
    return (await this.db.get(sql.head))!.m as bigint;
  }

  async liveAfter(after: bigint, limit: number): Promise<LiveGift[]> {
    return (await this.db.all(sql.after, [after, BigInt(limit)])).map(toGift);
  }

  async streamLatest(streamId: string, atMost: bigint, limit: number): Promise<LiveGift[]> {
    const nearbySql = this.db.dialect === "postgres" ? sql.latestNearbyPostgres : sql.latestNearbySqlite;
    const nearby = await this.db.all(nearbySql, [atMost, atMost - nearbyRowsMax, streamId, BigInt(limit)]);
    const rows =
      nearby.length === limit ? nearby : await this.db.all(sql.latest, [streamId, atMost, BigInt(limit)]);
    return rows.map(toGift).reverse();
  }

  async periodStreaks(
    streamId: string,
    period: { fromMs: number; toMs: number },
    before: bigint,
    windowMs: number,
  ): Promise<StoredStreak[]> {
    const rows = await this.db.all(sql.periodStreaks, [
      BigInt(windowMs),
      streamId,
      BigInt(period.fromMs),
      BigInt(period.toMs),
      before,
    ]);
    return rows.map((row) => ({
      senderId: row.sender_id as string,
      giftId: row.catalog_id as string,
      streakId: row.streak_id as string,
      // SUM is numeric on PostgreSQL, read as an exact string; COUNT is bigint on both.
      count: Number(row.count as bigint | string),
      sends: Number(row.sends as bigint),
      lastAt: Number(row.last_at as bigint),
    }));
  }
}

function toGift(row: Row): LiveGift {
  return {
    seq: row.seq as bigint,
    id: row.id as string,
    streamId: row.context_id as string,
    senderId: row.sender_id as string,
    recipientId: row.recipient_id as string,
    giftId: row.catalog_id as string,
    quantity: Number(row.quantity as bigint),
    coins: row.coins as bigint,
    diamonds: row.diamonds as bigint,
    createdAt: Number(row.created_at as bigint),
  };
}
