import { hash } from "node:crypto";
import { invariant } from "../../errors.js";
import type { JsonObject, StoreEffect } from "../../ledger/types.js";

/**
 * What the operator's backend can be told about, by outbound webhook. A type is
 * `<resource>.<what happened>`: the part before the dot names the resource its `data` is, and the
 * events of one resource are delivered in order. Cash-out events join as `cashout.requested`,
 * `cashout.paid`, … with a `cashout` resource; appending here is all the list needs.
 */
export const eventTypes = [
  "purchase.completed",
  "purchase.refunded",
  "purchase.disputed",
  "gift.sent",
  "user.restricted",
  "cashout.requested",
  "cashout.approved",
  "cashout.paid",
  "cashout.failed",
  "cashout.cancelled",
  "cashout.rejected",
  "cashout.returned",
] as const;
export type EventType = (typeof eventTypes)[number];

/** Subscribes an endpoint to every type, including types added later. */
export const allEventTypes = "*";

/**
 * Whether any webhook endpoint wants events of a type. The gift hot path asks it per gift, so it
 * answers from memory; no event is written when nobody subscribes.
 */
export interface EventFilter {
  wants(type: EventType): boolean;
}

/** One event as the outbox stores it and the receiver gets it (with `createdAt` as ISO 8601). */
export interface OutboxEvent {
  id: string;
  type: EventType;
  /** The ordering key: `<resource>:<data.id>`. */
  resource: string;
  createdAt: number;
  data: JsonObject;
}

/** The largest event body sent; the events built here stay far below it. */
export const eventBytesMax = 8192;

/**
 * The event id follows from what happened (`origin`: a purchase id, a chargeback key…), never from
 * when it was noticed, so that a replayed request or a repeated provider webhook cannot make a
 * second event: the outbox keeps the first of an id.
 */
export function eventId(type: EventType, origin: string): string {
  const digest = hash("sha256", `${type}\u0000${origin}`, "base64url");
  return `evt_${digest.slice(0, 24)}`;
}

export function outboxEvent(
  type: EventType,
  origin: string,
  createdAt: number,
  data: JsonObject,
): OutboxEvent {
  const dataId = data.id;
  invariant(typeof dataId === "string", "an event's data is a resource with an id");
  return {
    id: eventId(type, origin),
    type,
    resource: `${type.slice(0, type.indexOf("."))}:${dataId}`,
    createdAt,
    data,
  };
}

/** The exact JSON body receivers get, and sign-checked over. */
export function eventBody(event: Pick<OutboxEvent, "id" | "type" | "createdAt" | "data">): string {
  const body = JSON.stringify({
    id: event.id,
    type: event.type,
    createdAt: new Date(event.createdAt).toISOString(),
    data: event.data,
  });
  invariant(Buffer.byteLength(body) <= eventBytesMax, `event ${event.type} fits in ${eventBytesMax} bytes`);
  return body;
}

/**
 * The store writes these events into the outbox, in the same transaction as the rest of the
 * request. One effect carries all of a request's events, so that events cost a request at most one
 * of its effects.
 */
export function outboxEffect(events: readonly OutboxEvent[]): StoreEffect {
  invariant(events.length > 0, "an outbox effect carries events");
  return { type: "outbox.events", data: { events: events as unknown as JsonObject[] } };
}

/** A wanted event and how to build it; built only if some endpoint wants its type. */
export interface EventCandidate {
  type: EventType;
  build: () => OutboxEvent;
}

/** The outbox effect for the candidates some endpoint wants, or none. */
export function outboxEffects(
  filter: EventFilter | undefined,
  ...candidates: EventCandidate[]
): StoreEffect[] {
  if (filter === undefined) return [];
  const events = candidates.filter((c) => filter.wants(c.type)).map((c) => c.build());
  return events.length === 0 ? [] : [outboxEffect(events)];
}
