import { expect } from "vitest";
import type { StoredStreak } from "../../realtime/live-store.js";
import { foldPeriod } from "../../realtime/streaks.js";
import { SqlLeaderboardStore } from "./leaderboard-store.js";
import type { SqlDb, Statement } from "./sql-db.js";

/** A gift row as the live feed and leaderboards read it, for the store tests. */
export interface GiftRow {
  id: string;
  sender: string;
  recipient: string;
  gift: string;
  quantity: number;
  coins: number;
  source: "live" | "video";
  context: string;
  at: number;
}

/** Rows per insert: well under either database's limit of bound parameters. */
const rowsPerInsert = 500;

/** Gift rows written straight into the table, as the gift.record effect writes them; all pending. */
export async function insertGifts(db: SqlDb, rows: readonly GiftRow[]): Promise<void> {
  const statements: Statement[] = [];
  for (let i = 0; i < rows.length; i += rowsPerInsert) {
    const chunk = rows.slice(i, i + rowsPerInsert);
    statements.push({
      sql: `INSERT INTO gifts (id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, source,
              context_id, value_usd, commission_rate, economy_version, status, created_at, matures_at)
            VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, '0.005', '0.5', 'ev_1', 'pending', ?, ?)").join(", ")}`,
      params: chunk.flatMap((r) => [
        r.id,
        r.sender,
        r.recipient,
        r.gift,
        BigInt(r.quantity),
        BigInt(r.coins),
        BigInt(r.coins * 2),
        r.source,
        r.context,
        BigInt(r.at),
        BigInt(r.at),
      ]),
    });
  }
  await db.execute(statements);
}

/** `count` gift rows from a seeded generator: the same rows for the same seed, on any store. */
export function randomGifts(count: number, seed: number): GiftRow[] {
  let s = seed;
  const random = () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const rows: GiftRow[] = [];
  let at = 1_000_000;
  for (let i = 0; i < count; i++) {
    // Mostly forward, sometimes a little back: request clocks are read before commit order is fixed.
    at += Math.floor(random() * 4000) - 500;
    const quantity = 1 + Math.floor(random() * 5);
    rows.push({
      // Ids in no particular order, so that nothing can lean on the primary key's order.
      id: `gft_${Math.floor(random() * 1e12).toString(36)}_${i}`,
      sender: `v${Math.floor(random() * 4)}`,
      recipient: random() < 0.8 ? "creator" : "other",
      gift: random() < 0.7 ? "rose" : "lion",
      quantity,
      coins: quantity * (random() < 0.7 ? 1 : 29_999),
      source: random() < 0.85 ? "live" : "video",
      context: `s${Math.floor(random() * 3)}`,
      at,
    });
  }
  return rows;
}

/** A one-rose live gift from one viewer, numbered `i` (its id and time), in stream `context`. */
export function plainGift(i: number, context: string): GiftRow {
  return {
    id: `gft_${i}`,
    sender: "v",
    recipient: "creator",
    gift: "rose",
    quantity: 1,
    coins: 1,
    source: "live",
    context,
    at: i,
  };
}

/** The TypeScript streak rule over `rows`, for the SQL version to be compared with. */
export function referenceStreaks(rows: readonly GiftRow[], windowMs: number): StoredStreak[] {
  return foldPeriod(
    rows.map((r) => ({
      id: r.id,
      senderId: r.sender,
      giftId: r.gift,
      quantity: r.quantity,
      createdAt: r.at,
    })),
    windowMs,
  );
}

/** Streaks in one order, by viewer then gift, whichever order a query returned them in. */
export function sortedStreaks(streaks: StoredStreak[]): StoredStreak[] {
  return streaks.sort((a, b) => `${a.senderId}/${a.giftId}`.localeCompare(`${b.senderId}/${b.giftId}`));
}

/**
 * Seeds `count` random gifts and the one sender with a display name, then checks both
 * leaderboards against the TypeScript ranking: live gifts only per stream, any source per creator,
 * within a time range or not, and the limit.
 */
export async function expectLeaderboardsAsReference(db: SqlDb, count: number): Promise<void> {
  const range = { fromMs: 1_100_000, toMs: 1_400_000 };
  // A gift at each end of the range: the range takes its start and leaves its end to the next.
  const edge = (id: string, sender: string, at: number): GiftRow => ({
    id,
    sender,
    recipient: "creator",
    gift: "lion",
    quantity: 1,
    coins: 29_999,
    source: "video",
    context: "vid",
    at,
  });
  const rows = [
    ...randomGifts(count, 3),
    edge("gft_at_from", "v_from", range.fromMs),
    edge("gft_at_to", "v_to", range.toMs),
  ];
  await insertGifts(db, rows);
  await db.execute([
    {
      sql: `INSERT INTO users (id, country, birth_date, display_name, status, created_at, updated_at)
            VALUES ('v1', 'US', '1990-01-01', 'Vee One', 'active', 0, 0)`,
      params: [],
    },
  ]);
  const boards = new SqlLeaderboardStore(db);
  const stream = rows.filter((r) => r.context === "s0" && r.source === "live");
  expect(await boards.streamTop("s0", 10)).toEqual(referenceLeaderboard(stream));
  expect(await boards.streamTop("s0", 2)).toEqual(referenceLeaderboard(stream).slice(0, 2));
  expect(await boards.creatorTop("creator", { fromMs: null, toMs: null }, 10)).toEqual(
    referenceLeaderboard(rows.filter((r) => r.recipient === "creator")),
  );
  expect(await boards.creatorTop("creator", range, 10)).toEqual(
    referenceLeaderboard(
      rows.filter((r) => r.recipient === "creator" && r.at >= range.fromMs && r.at < range.toMs),
    ),
  );
  const inRange = (await boards.creatorTop("creator", range, 10)).map((e) => e.userId);
  expect(inRange).toContain("v_from");
  expect(inRange).not.toContain("v_to");
  expect(await boards.streamTop("nobody", 10)).toEqual([]);
}

/**
 * A leaderboard computed in TypeScript over `rows`: senders by coins, highest first, ties by user
 * id; only `v1` has a display name ("Vee One").
 */
function referenceLeaderboard(rows: readonly GiftRow[]) {
  const totals = new Map<string, { coins: bigint; gifts: bigint }>();
  for (const r of rows) {
    const t = totals.get(r.sender) ?? { coins: 0n, gifts: 0n };
    totals.set(r.sender, { coins: t.coins + BigInt(r.coins), gifts: t.gifts + BigInt(r.quantity) });
  }
  return [...totals]
    .sort(([a, x], [b, y]) => (x.coins === y.coins ? (a < b ? -1 : 1) : x.coins > y.coins ? -1 : 1))
    .map(([userId, t]) => ({ userId, displayName: userId === "v1" ? "Vee One" : null, ...t }));
}
