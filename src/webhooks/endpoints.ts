import { randomBytes } from "node:crypto";
import { allEventTypes, type EventFilter, type EventType, eventTypes } from "../economy/events/events.js";
import { GiftstreamError } from "../errors.js";
import { int64Max } from "../ledger/int64.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import type { AttemptRecord, Delivery, WebhookEndpoint, WebhookStore } from "./webhook-store.js";

export interface CreateEndpoint {
  url: string;
  events: string[];
  description?: string;
}

export interface CreatedEndpoint {
  endpoint: WebhookEndpoint;
  /** Shown once, at creation. */
  secret: string;
}

/** Most attempts shown with one delivery. */
export const attemptsShownMax = 1000;
export const descriptionLengthMax = 500;

const deliveryIdPattern = /^whd_([1-9][0-9]{0,18})$/;

/** A delivery's public id. */
export function deliveryIdOf(id: bigint): string {
  return `whd_${id}`;
}

/**
 * The operator's webhook endpoints: created with their own secret and event filter, listed,
 * deleted, and their delivery log. Admin actions are audited.
 *
 * It is also the gift hot path's `EventFilter`: the set of subscribed types lives in memory. A type
 * is added before the endpoint is stored, so every request that starts once the endpoint's
 * creation has been answered writes its events; it is recomputed after a delete.
 */
export class WebhookEndpoints implements EventFilter {
  private types = new Set<string>();
  private all = false;

  private constructor(
    private readonly o: {
      store: WebhookStore;
      clock: () => number;
      endpointsMax: number;
    },
  ) {}

  static async open(o: WebhookEndpoints["o"]): Promise<WebhookEndpoints> {
    const endpoints = new WebhookEndpoints(o);
    await endpoints.refresh();
    return endpoints;
  }

  /** Told when this process changes an endpoint, so other processes on the database refresh theirs. */
  onChanged: (() => void) | undefined;

  /**
   * Several processes: write every event, and let the outbox's fan-out (which reads the
   * subscriptions in the writing transaction) decide who gets it. A filter kept in memory is
   * stale for a moment after another process adds an endpoint, and an event it turned away then
   * would be lost, not late. Events nobody subscribed to are purged with the rest.
   */
  writeAll = false;

  wants(type: EventType): boolean {
    return this.writeAll || this.all || this.types.has(type);
  }

  async create(input: CreateEndpoint, actor: string): Promise<CreatedEndpoint> {
    const url = parseEndpointUrl(input.url);
    const events = normaliseEvents(input.events);
    if (input.description !== undefined && input.description.length > descriptionLengthMax) {
      throw new GiftstreamError("invalid_request", `description is longer than ${descriptionLengthMax}`);
    }
    const secret = `whsec_${randomBytes(32).toString("base64url")}`;
    const endpoint: WebhookEndpoint = {
      id: `we_${randomBytes(12).toString("base64url")}`,
      url,
      events,
      description: input.description ?? null,
      secretPrefix: secret.slice(0, 10),
      createdAt: this.o.clock(),
      deletedAt: null,
    };
    // Subscribed before stored: an event written meanwhile finds no endpoint yet, which costs
    // nothing, whereas the other order could miss one from a request that starts after the 201.
    this.subscribe(events);
    let inserted: boolean;
    try {
      // The audit entry is written with the endpoint, in its transaction.
      inserted = await this.o.store.insertEndpoint(endpoint, secret, this.o.endpointsMax, {
        actor,
        action: "webhook_endpoint.create",
        target: endpoint.id,
        before: null,
        after: endpoint,
        at: endpoint.createdAt,
      });
    } finally {
      await this.refresh();
    }
    if (!inserted) {
      throw new GiftstreamError(
        "too_many_webhook_endpoints",
        `at most ${this.o.endpointsMax} webhook endpoints (webhooks.endpointsMax); delete one first`,
      );
    }
    this.onChanged?.();
    return { endpoint, secret };
  }

  list(): Promise<WebhookEndpoint[]> {
    return this.o.store.listEndpoints();
  }

  async get(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.o.store.getEndpoint(id);
    if (!endpoint) throw new GiftstreamError("not_found", `no webhook endpoint ${id}`);
    return endpoint;
  }

  async delete(id: string, actor: string): Promise<WebhookEndpoint> {
    const before = await this.get(id);
    const at = this.o.clock();
    const after = { ...before, deletedAt: at };
    const deleted = await this.o.store.deleteEndpoint(id, at, {
      actor,
      action: "webhook_endpoint.delete",
      target: id,
      before,
      after,
      at,
    });
    await this.refresh();
    if (!deleted) throw new GiftstreamError("not_found", `no webhook endpoint ${id}`);
    this.onChanged?.();
    return after;
  }

  async deliveries(
    endpointId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ deliveries: Delivery[]; nextCursor: string | null }> {
    await this.get(endpointId);
    const before = cursor === undefined ? null : parseDeliveryId(cursor, "cursor");
    const rows = await this.o.store.listDeliveries(endpointId, before, limit + 1);
    const page = rows.slice(0, limit);
    return {
      deliveries: page,
      nextCursor: rows.length > limit ? deliveryIdOf(page.at(-1)!.id) : null,
    };
  }

  async delivery(
    endpointId: string,
    deliveryId: string,
  ): Promise<{ delivery: Delivery; attempts: AttemptRecord[]; event: string }> {
    await this.get(endpointId);
    const id = parseDeliveryId(deliveryId, "deliveryId");
    const delivery = await this.o.store.getDelivery(endpointId, id);
    const event = await this.o.store.eventBody(id);
    if (!delivery || event === undefined) {
      throw new GiftstreamError("not_found", `no delivery ${deliveryId} of endpoint ${endpointId}`);
    }
    return { delivery, attempts: await this.o.store.listAttempts(id, attemptsShownMax), event };
  }

  /** The last `limit` attempts of a delivery, oldest first. */
  attempts(deliveryId: bigint, limit: number): Promise<AttemptRecord[]> {
    return this.o.store.listAttempts(deliveryId, limit);
  }

  /** Queues a delivery again, due now, with a fresh retry budget; its log keeps every attempt. */
  async redeliver(endpointId: string, deliveryId: string, actor: string): Promise<Delivery> {
    await this.get(endpointId);
    const id = parseDeliveryId(deliveryId, "deliveryId");
    const before = await this.o.store.getDelivery(endpointId, id);
    const missing = () =>
      new GiftstreamError("not_found", `no delivery ${deliveryId} of endpoint ${endpointId}`);
    if (!before) throw missing();
    const at = this.o.clock();
    // What the requeue makes of it; the attempt log is kept.
    const requeued: Delivery = { ...before, status: "pending", nextAttemptAt: at, deliveredAt: null };
    // Ids are bigints here; the audit log stores JSON.
    const audited = (d: Delivery) => ({ ...d, id: deliveryIdOf(d.id) });
    const audit = {
      actor,
      action: "webhook_delivery.redeliver",
      target: deliveryIdOf(id),
      before: audited(before),
      after: audited(requeued),
      at,
    };
    // The audit entry is written with the requeue, in its transaction.
    if (!(await this.o.store.requeue(endpointId, id, at, audit))) throw missing();
    return (await this.o.store.getDelivery(endpointId, id)) ?? requeued;
  }

  /** Reads the subscribed types back from the store: the truth after any change. */
  async refresh(): Promise<void> {
    const types = new Set<string>();
    for (const endpoint of await this.o.store.listEndpoints()) for (const t of endpoint.events) types.add(t);
    this.types = types;
    this.all = types.has(allEventTypes);
  }

  private subscribe(events: readonly string[]): void {
    for (const t of events) this.types.add(t);
    if (this.types.has(allEventTypes)) this.all = true;
  }
}

/** Known types only, each once, sorted; `*` alone stands for all of them. */
export function normaliseEvents(events: readonly string[]): string[] {
  if (events.length === 0) throw new GiftstreamError("invalid_request", "events needs at least one type");
  const known = new Set<string>([...eventTypes, allEventTypes]);
  for (const type of events) {
    if (!known.has(type)) {
      throw new GiftstreamError(
        "invalid_request",
        `unknown event type ${type}; known: ${[...eventTypes].join(", ")} or ${allEventTypes}`,
      );
    }
  }
  if (events.includes(allEventTypes)) return [allEventTypes];
  return [...new Set(events)].sort();
}

function parseDeliveryId(text: string, field: string): bigint {
  const match = deliveryIdPattern.exec(text);
  if (!match) {
    if (field === "cursor") throw new GiftstreamError("invalid_request", "cursor is not a delivery id");
    throw new GiftstreamError("not_found", `no delivery ${text}`);
  }
  const id = BigInt(match[1]!);
  if (id > int64Max) throw new GiftstreamError("not_found", `no delivery ${text}`);
  return id;
}
