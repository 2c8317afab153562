/** One live gift as the feed reads it back from the store. */
export interface LiveGift {
  /**
   * The store's commit order across all streams, and the feed's event id. It only grows: a gift
   * committed later has a larger `seq`, and ids skip (other streams, video gifts) but never repeat.
   */
  seq: bigint;
  id: string;
  streamId: string;
  senderId: string;
  recipientId: string;
  giftId: string;
  quantity: number;
  coins: bigint;
  diamonds: bigint;
  createdAt: number;
}

/** The last streak of one viewer and one gift in a streak period, as the store folds it. */
export interface StoredStreak {
  senderId: string;
  giftId: string;
  /** The id of the streak's first gift. */
  streakId: string;
  count: number;
  sends: number;
  /** `createdAt` of the streak's latest send (by `seq`). */
  lastAt: number;
}

/**
 * What the live feed reads: durable gift rows, never memory, so that any process (and a client
 * resuming on another one) sees the same events with the same ids and streaks.
 */
export interface LiveStore {
  /** The largest `seq` of any gift, live or not; 0n when there is none. */
  headSeq(): Promise<bigint>;
  /** Live gifts of every stream with `seq > after`, in `seq` order, at most `limit`. */
  liveAfter(after: bigint, limit: number): Promise<LiveGift[]>;
  /** The newest `limit` live gifts of a stream with `seq <= atMost`, in `seq` order. */
  streamLatest(streamId: string, atMost: bigint, limit: number): Promise<LiveGift[]>;
  /**
   * Per viewer and gift, the last streak among the stream's live gifts created in [fromMs, toMs)
   * with `seq < before`, folded in `seq` order by the rule of streaks.ts with `windowMs`.
   */
  periodStreaks(
    streamId: string,
    period: { fromMs: number; toMs: number },
    before: bigint,
    windowMs: number,
  ): Promise<StoredStreak[]>;
}
