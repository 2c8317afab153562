import type { AuditEntry } from "../access/access-store.js";
import type { EventType } from "../economy/events/events.js";

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Event types, or `["*"]` for all. */
  events: string[];
  description: string | null;
  /** The first characters of the secret, so that an operator can tell secrets apart. */
  secretPrefix: string;
  createdAt: number;
  deletedAt: number | null;
}

export const deliveryStatuses = ["pending", "delivered", "failed", "cancelled"] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export interface AttemptRecord {
  at: number;
  /** The receiver's HTTP status; null when none came (refused, timed out, reset). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface Delivery {
  id: bigint;
  endpointId: string;
  eventId: string;
  eventType: EventType;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
  createdAt: number;
  deliveredAt: number | null;
  lastAttempt: AttemptRecord | null;
}

/** A delivery the job may attempt now: the oldest pending one of its endpoint and resource. */
export interface DueDelivery {
  id: bigint;
  endpointId: string;
  url: string;
  secret: string;
  eventId: string;
  eventType: string;
  body: string;
  /** Attempts since it was (re)queued, and when the first of them was. */
  windowAttempts: number;
  windowFrom: number | null;
  attemptCount: number;
  /** Times it was queued again when claimed: its outcome stands only if that still holds. */
  requeues: number;
}

/** What one attempt ended as, and what becomes of the delivery. */
export interface AttemptOutcome {
  deliveryId: bigint;
  attempt: AttemptRecord;
  /** `pending` with `nextAttemptAt`, or final. */
  status: "pending" | "delivered" | "failed";
  nextAttemptAt: number | null;
  windowFrom: number;
  /** `DueDelivery.requeues` as claimed. */
  requeues: number;
}

/** Storage for endpoints, the outbox and the delivery log. */
export interface WebhookStore {
  /**
   * Inserts unless `endpointsMax` live endpoints exist already; returns whether it did. `audit` is
   * written in the same transaction, only when it did.
   */
  insertEndpoint(
    endpoint: WebhookEndpoint,
    secret: string,
    endpointsMax: number,
    audit: AuditEntry,
  ): Promise<boolean>;
  listEndpoints(): Promise<WebhookEndpoint[]>;
  /** A live endpoint. */
  getEndpoint(id: string): Promise<WebhookEndpoint | undefined>;
  /**
   * Deletes a live endpoint and cancels its pending deliveries; returns whether it did. `audit` is
   * written in the same transaction, only when it did.
   */
  deleteEndpoint(id: string, at: number, audit: AuditEntry): Promise<boolean>;
  /** Newest first, ids below `beforeId`. */
  listDeliveries(endpointId: string, beforeId: bigint | null, limit: number): Promise<Delivery[]>;
  getDelivery(endpointId: string, deliveryId: bigint): Promise<Delivery | undefined>;
  /** Its attempts, oldest first, the last `limit` of them. */
  listAttempts(deliveryId: bigint, limit: number): Promise<AttemptRecord[]>;
  /** The event body a delivery sends. */
  eventBody(deliveryId: bigint): Promise<string | undefined>;
  /**
   * Due deliveries, oldest due first, each the oldest pending delivery of its endpoint and
   * resource: a later event of a resource waits while an earlier one is being retried.
   */
  listDue(now: number, limit: number): Promise<DueDelivery[]>;
  recordAttempts(outcomes: readonly AttemptOutcome[]): Promise<void>;
  /** Queues a delivery of a live endpoint again, due at `now`; returns whether it did. */
  requeue(endpointId: string, deliveryId: bigint, now: number, audit: AuditEntry): Promise<boolean>;
  /** Forgets finished deliveries, their attempts and their events created before `before`. */
  purge(before: number, limit: number): Promise<number>;
}
