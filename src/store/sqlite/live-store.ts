import type { LiveGift, LiveStore, StoredStreak } from "../../realtime/live-store.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Most of the newest rows read back for a stream's newest gifts before asking its index instead. */
const nearbyRowsMax = 20_000n;

const columns =
  "rowid AS seq, id, context_id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, created_at";

/**
 * The live feed's reads. A gift's event id is the `rowid` of its row. Every gift is inserted by the
 * one writer, in commit order, and gift rows are never deleted, so each new rowid is the largest
 * yet plus one: ids follow commit order, and a reader sees them appear in that order. The rowid is
 * implicit (the primary key is the text id), and SQLite may renumber implicit rowids on VACUUM; it
 * does not in the SQLite we ship, and with no gaps ever made there would be nothing to close up
 * (live-store.test.ts checks that the ids survive a VACUUM).
 */
export class SqliteLiveStore implements LiveStore {
  private readonly s;

  constructor(store: SqliteStore) {
    const db = store.database;
    this.s = {
      head: db.prepare("SELECT COALESCE(MAX(rowid), 0) AS m FROM gifts"),
      // The table's own rowid order: what is new since the cursor, however many streams it spans.
      after: db.prepare(
        `SELECT ${columns} FROM gifts WHERE rowid > ? AND source = 'live' ORDER BY rowid LIMIT ?`,
      ),
      // A busy stream's newest gifts are among the newest of all: walking back a bounded stretch
      // of the table (`+` keeps SQLite off the index) avoids sorting the stream's whole history.
      latestNearby: db.prepare(
        `SELECT ${columns} FROM gifts WHERE rowid <= ? AND rowid > ? AND +context_id = ? AND source = 'live'
         ORDER BY rowid DESC LIMIT ?`,
      ),
      // Otherwise gifts_context (context_id, created_at) finds the stream's rows.
      latest: db.prepare(
        `SELECT ${columns} FROM gifts WHERE context_id = ? AND source = 'live' AND rowid <= ?
         ORDER BY rowid DESC LIMIT ?`,
      ),
      // The rule of src/realtime/streaks.ts in SQL: per viewer and gift, in rowid order, a send
      // more than the window after the previous one starts a streak; keep each one's last streak.
      periodStreaks: db.prepare(
        `WITH sends AS (
           SELECT rowid AS seq, sender_id, catalog_id, quantity, created_at,
                  CASE WHEN ABS(created_at - LAG(created_at) OVER k) <= :window THEN 0 ELSE 1 END AS starts
           FROM gifts
           WHERE context_id = :stream AND source = 'live' AND created_at >= :from AND created_at < :to
             AND rowid < :before
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
      ),
    };
  }

  async headSeq(): Promise<bigint> {
    return (this.s.head.get() as { m: bigint }).m;
  }

  async liveAfter(after: bigint, limit: number): Promise<LiveGift[]> {
    return (this.s.after.all(after, BigInt(limit)) as Row[]).map(toGift);
  }

  async streamLatest(streamId: string, atMost: bigint, limit: number): Promise<LiveGift[]> {
    const nearby = this.s.latestNearby.all(atMost, atMost - nearbyRowsMax, streamId, BigInt(limit)) as Row[];
    const rows =
      nearby.length === limit ? nearby : (this.s.latest.all(streamId, atMost, BigInt(limit)) as Row[]);
    return rows.map(toGift).reverse();
  }

  async periodStreaks(
    streamId: string,
    period: { fromMs: number; toMs: number },
    before: bigint,
    windowMs: number,
  ): Promise<StoredStreak[]> {
    const rows = this.s.periodStreaks.all({
      window: BigInt(windowMs),
      stream: streamId,
      from: BigInt(period.fromMs),
      to: BigInt(period.toMs),
      before,
    }) as Row[];
    return rows.map((row) => ({
      senderId: row.sender_id as string,
      giftId: row.catalog_id as string,
      streakId: row.streak_id as string,
      count: Number(row.count as bigint),
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
