import { type Cashout, cashoutView } from "../cashouts/cashout.js";
import type { GiftReceipt } from "../gifts/gifts.js";
import type { PurchaseDocument } from "../purchases/purchase.js";
import type { User } from "../users/user.js";
import { type EventType, type OutboxEvent, outboxEvent } from "./events.js";

/**
 * The `data` of each event: the resource as the HTTP API shows it (amounts as integer strings,
 * times as ISO 8601), so that a receiver parses an event and a GET the same way. A test holds
 * these and the API views in step.
 */
export function purchaseData(d: PurchaseDocument) {
  return {
    id: d.id,
    userId: d.userId,
    packId: d.packId,
    coins: d.coins,
    priceMinor: d.priceMinor,
    currency: d.currency,
    provider: d.provider,
    status: d.status,
    checkoutUrl: d.checkoutUrl,
    economyVersion: d.economyVersion,
    channel: d.channel,
    country: d.country,
    refundedCoins: d.refundedCoins,
    refundedMinor: d.refundedMinor,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export function giftData(r: GiftReceipt) {
  return {
    id: r.id,
    senderId: r.senderId,
    recipientId: r.recipientId,
    giftId: r.giftId,
    quantity: r.quantity,
    coinsSpent: r.coinsSpent,
    diamondsEarned: r.diamondsEarned,
    context: { type: r.context.type, id: r.context.id },
    economyVersion: r.economyVersion,
    createdAt: new Date(r.createdAt).toISOString(),
    maturesAt: new Date(r.maturesAt).toISOString(),
  };
}

/**
 * The user as the API shows it, without the birth date (personal data a receiver acting on a
 * restriction has no need of) or the age derived from it.
 */
export function userData(u: User) {
  const { birthDate: _birthDate, ...rest } = u;
  return {
    ...rest,
    createdAt: new Date(u.createdAt).toISOString(),
    updatedAt: new Date(u.updatedAt).toISOString(),
  };
}

type PurchaseEventType = Extract<EventType, `purchase.${string}`>;

/** `origin` names the thing that happened, once: the purchase, or the chargeback's key. */
export function purchaseEvent(
  type: PurchaseEventType,
  purchase: PurchaseDocument,
  origin: string,
  at: number,
): OutboxEvent {
  return outboxEvent(type, origin, at, purchaseData(purchase));
}

/** A gift is sent once: its id follows from the request's idempotency key. */
export function giftSentEvent(receipt: GiftReceipt): OutboxEvent {
  return outboxEvent("gift.sent", receipt.id, receipt.createdAt, giftData(receipt));
}

/** `origin` names the restriction: the chargeback that caused it, or the admin action's time. */
export function userRestrictedEvent(user: User, origin: string, at: number): OutboxEvent {
  return outboxEvent("user.restricted", `${user.id}:${origin}`, at, userData(user));
}

type CashoutEventType = Extract<EventType, `cashout.${string}`>;

/** A cash-out reaches each status once, so the cash-out and the status name the event. */
export function cashoutEvent(type: CashoutEventType, cashout: Cashout, at: number): OutboxEvent {
  return outboxEvent(type, `${cashout.id}:${type}`, at, cashoutView(cashout));
}
