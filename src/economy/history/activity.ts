import type { JsonObject, StoreEffect } from "../../ledger/types.js";

/** What can appear in a user's history. */
export const activityKinds = [
  "purchase",
  "bonus",
  "gift_sent",
  "gift_received",
  "maturation",
  "refund",
  "chargeback",
  "cashout",
] as const;
export type ActivityKind = (typeof activityKinds)[number];

export interface Activity {
  userId: string;
  kind: ActivityKind;
  at: number;
  /** Amounts as integer strings, keyed by what they count: coins, diamonds, moneyMinor. */
  amounts: Record<string, string>;
  /** The other user involved, if any. */
  counterparty: string | null;
  /** Where it happened: a live stream or a video, for gifts. */
  context: { type: string; id: string } | null;
  /** The economy version whose prices and rates applied. */
  economyVersion: string | null;
  /** The purchase or gift it belongs to. */
  ref: string | null;
}

/** The ledger effect that writes one history entry in the same transaction as its transfers. */
export function activityEffect(a: Activity): StoreEffect {
  return { type: "activity.record", data: a as unknown as JsonObject };
}

/**
 * Where an entry of a user's history comes from. Most are activity rows, written beside their
 * transfers. A gift's two entries (the sender's `gift_sent`, the creator's `gift_received`) are
 * read from the gift's own row instead of written beside it: two rows fewer on every gift, the
 * hot path (docs/benchmarks.md). Gifts recorded before that change keep their activity rows.
 */
export const HistorySource = { activity: 0, giftSent: 1, giftReceived: 2 } as const;
export type HistorySource = (typeof HistorySource)[keyof typeof HistorySource];

/**
 * A place in a user's history, which is listed newest first by `at`, then by source, then by the
 * entry's key within its source (an activity row's id, a gift's id): a total order over entries
 * from different tables that a page can resume from exactly.
 */
export interface HistoryPosition {
  at: number;
  source: HistorySource;
  key: string;
}

export type HistoryEntry = Activity & { id: string; position: HistoryPosition };

export interface ActivityStore {
  /** Up to `limit` entries strictly older than `before` (from the newest when null), newest first. */
  list(userId: string, before: HistoryPosition | null, limit: number): Promise<HistoryEntry[]>;
}
