import type { GiftReceipt } from "../economy/gifts/gifts.js";
import type { EventBus } from "./bus.js";

/**
 * The gift service's `onSent` hook: rings the bus of a live gift's stream once the gift is
 * durable. It runs on the hot path, so it only publishes; and it never throws into it, since the
 * gift is already committed and the feed catches up from the store anyway.
 */
export function giftNotices(
  bus: EventBus,
  onError: (error: unknown) => void,
): (receipt: GiftReceipt) => void {
  return (receipt) => {
    if (receipt.context.type !== "live") return;
    try {
      bus.publish(receipt.context.id, { type: "gift", giftId: receipt.id });
    } catch (error) {
      onError(error);
    }
  };
}
