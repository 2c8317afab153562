import { GiftstreamError } from "../errors.js";

export const leaderboardPeriods = ["day", "week", "all"] as const;
export type LeaderboardPeriod = (typeof leaderboardPeriods)[number];

/** One gifter's line: coins spent on gifts and gifts sent (quantities summed). */
export interface LeaderboardEntry {
  userId: string;
  displayName: string | null;
  coins: bigint;
  gifts: bigint;
}

/** A span of time, `toMs` excluded; null bounds are open. */
export interface TimeRange {
  fromMs: number | null;
  toMs: number | null;
}

/**
 * Reads leaderboards from the durable gift rows. Both rank by coins, then by user id, so that equal
 * totals always come out in the same order.
 */
export interface LeaderboardStore {
  /** Top senders of live gifts in a stream, to any recipient. */
  streamTop(streamId: string, limit: number): Promise<LeaderboardEntry[]>;
  /** Top senders of gifts (live and video) to a creator, created within `range`. */
  creatorTop(userId: string, range: TimeRange, limit: number): Promise<LeaderboardEntry[]>;
}

const dayMs = 86_400_000;

/**
 * The calendar period holding `now`, in UTC: `day` from midnight, `week` from Monday midnight (the
 * ISO week), `all` unbounded. Calendar periods, not rolling ones, so that a period's board is one
 * fixed set of gifts that every reader at any moment agrees on once the period is over.
 */
export function periodRange(period: LeaderboardPeriod, now: number): TimeRange {
  if (period === "all") return { fromMs: null, toMs: null };
  const dayStart = now - (((now % dayMs) + dayMs) % dayMs);
  if (period === "day") return { fromMs: dayStart, toMs: dayStart + dayMs };
  // getUTCDay: 0 is Sunday; the ISO week starts on Monday.
  const daysSinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
  const weekStart = dayStart - daysSinceMonday * dayMs;
  return { fromMs: weekStart, toMs: weekStart + 7 * dayMs };
}

export interface LeaderboardsOptions {
  store: LeaderboardStore;
  /** Resolves a user, or throws `not_found`. */
  userExists(userId: string): Promise<unknown>;
  clock: () => number;
  /** Longest leaderboard returned. */
  sizeMax: number;
}

/** Top gifters of a live stream and of a creator, built from the gifts themselves. */
export class Leaderboards {
  constructor(private readonly o: LeaderboardsOptions) {}

  get sizeMax(): number {
    return this.o.sizeMax;
  }

  async stream(streamId: string, limit: number): Promise<LeaderboardEntry[]> {
    this.checkLimit(limit);
    return this.o.store.streamTop(streamId, limit);
  }

  async creator(
    userId: string,
    period: LeaderboardPeriod,
    limit: number,
  ): Promise<{ range: TimeRange; entries: LeaderboardEntry[] }> {
    this.checkLimit(limit);
    await this.o.userExists(userId);
    const range = periodRange(period, this.o.clock());
    return { range, entries: await this.o.store.creatorTop(userId, range, limit) };
  }

  private checkLimit(limit: number): void {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.o.sizeMax) {
      throw new GiftstreamError(
        "invalid_request",
        `limit must be 1 to ${this.o.sizeMax} (live.leaderboardSizeMax)`,
      );
    }
  }
}
