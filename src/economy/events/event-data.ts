import { isoTime } from "../../iso-time.js";
import { type Cashout, cashoutView } from "../cashouts/cashout.js";
import { type GiftReceipt, giftView } from "../gifts/gifts.js";
import { type PurchaseDocument, purchaseView } from "../purchases/purchase.js";
import type { User } from "../users/user.js";
import { type EventType, type OutboxEvent, outboxEvent } from "./events.js";

/**
 * The `data` of each event is the resource as the HTTP API shows it (amounts as integer strings,
 * times as ISO 8601): the same view functions serve both, so a receiver parses an event and a GET
 * the same way.
 */
export const purchaseData = purchaseView;

export const giftData = giftView;

/**
 * The user as the API shows it, without the birth date (personal data a receiver acting on a
 * restriction has no need of) or the age derived from it.
 */
export function userData(u: User) {
  const { birthDate: _birthDate, ...rest } = u;
  return {
    ...rest,
    createdAt: isoTime(u.createdAt),
    updatedAt: isoTime(u.updatedAt),
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
