import type { LiveGift } from "./live-store.js";
import type { Streak } from "./streaks.js";

/** The JSON of a `gift` event: amounts as integer strings, times as ISO 8601. */
export function giftEventData(gift: LiveGift, streak: Streak) {
  return {
    id: gift.id,
    streamId: gift.streamId,
    senderId: gift.senderId,
    recipientId: gift.recipientId,
    giftId: gift.giftId,
    quantity: gift.quantity,
    coins: gift.coins.toString(),
    diamonds: gift.diamonds.toString(),
    streak: {
      id: streak.id,
      count: streak.count,
      sends: streak.sends,
      expiresAt: new Date(streak.expiresAt).toISOString(),
    },
    at: new Date(gift.createdAt).toISOString(),
  };
}

/** One Server-Sent Event. JSON.stringify never emits a raw newline, so `data` is one line. */
export function eventFrame(event: string, data: unknown, id?: bigint): string {
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  return `${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function giftFrame(gift: LiveGift, streak: Streak): string {
  return eventFrame("gift", giftEventData(gift, streak), gift.seq);
}

/**
 * Sent instead of gifts that are too far back to replay. It has no `id`, so the client's
 * Last-Event-ID moves on with the gifts that follow it.
 */
export function truncatedFrame(after: bigint, resumedAfter: bigint): string {
  return eventFrame("truncated", { after: after.toString(), resumedAfter: resumedAfter.toString() });
}

/** A comment line: clients ignore it, proxies and load balancers see a live connection. */
export const keepAliveFrame = ": keep-alive\n\n";
