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

export interface ActivityStore {
  list(userId: string, beforeId: bigint | null, limit: number): Promise<(Activity & { id: bigint })[]>;
}
