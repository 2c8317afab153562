import { type EventType, eventBody, eventTypes, type OutboxEvent } from "../../economy/events/events.js";
import { invariant } from "../../errors.js";
import type { JsonObject } from "../../ledger/types.js";
import { jsonDocuments, jsonIntegers, jsonTexts, pgArray } from "./json-lists.js";
import type { SqlDialect, Statement } from "./sql-db.js";

const knownTypes: ReadonlySet<string> = new Set(eventTypes);

const insertEvent = `INSERT INTO webhook_events (id, type, resource, created_at, payload) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

// Fan-out at write time, to the endpoints subscribed at that moment. `changes() = 1` holds only
// when the statement before inserted the event: an id already in the outbox (a replay) fans out
// to nobody new.
const fanOutSqlite = `INSERT INTO webhook_deliveries (endpoint_id, event_seq, resource, status, next_attempt_at, created_at)
  SELECT DISTINCT s.endpoint_id, ev.seq, ev.resource, 'pending', ev.created_at, ev.created_at
  FROM webhook_events ev JOIN webhook_subscriptions s ON s.type IN (ev.type, '*')
  WHERE ev.id = ? AND changes() = 1
  ON CONFLICT DO NOTHING`;

// PostgreSQL has no `changes()`: the insert and the fan-out are one statement, and the fan-out
// reads only the rows this insert returned, so a replay (no row returned) fans out to nobody.
// Several processes write every event (WebhookEndpoints.writeAll): a row is only stored when
// some endpoint subscribes to its type, read in this transaction, so no junk rows pile up.
// Set-based over arrays, so a batch's events cost one round trip: outbox rows take their `seq`
// in the order given, and deliveries their `id` in event order, the order they are sent in.
const insertAndFanOutPostgres = `WITH ev AS (
    INSERT INTO webhook_events (id, type, resource, created_at, payload)
    SELECT u.id, u.type, u.resource, u.created_at, u.payload
    FROM unnest(${pgArray("?", "text")}, ${pgArray("?", "text")}, ${pgArray("?", "text")},
      ${pgArray("?", "bigint")}, ${pgArray("?", "document")}) WITH ORDINALITY
      AS u (id, type, resource, created_at, payload, n)
    WHERE EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.type IN (u.type, '*'))
    ORDER BY u.n
    ON CONFLICT (id) DO NOTHING RETURNING seq, type, resource, created_at)
  INSERT INTO webhook_deliveries (endpoint_id, event_seq, resource, status, next_attempt_at, created_at)
  SELECT DISTINCT s.endpoint_id, ev.seq, ev.resource, 'pending', ev.created_at, ev.created_at
  FROM ev JOIN webhook_subscriptions s ON s.type IN (ev.type, '*')
  ORDER BY ev.seq, s.endpoint_id
  ON CONFLICT DO NOTHING`;

/** The events an `outbox.events` effect carries, checked. */
export function outboxEvents(data: JsonObject): OutboxEvent[] {
  const events = data.events;
  invariant(Array.isArray(events) && events.length > 0, "outbox.events carries events");
  return events.map((item) => {
    invariant(typeof item === "object" && item !== null && !Array.isArray(item), "an event is an object");
    const { id, type, resource, createdAt, data: resourceData } = item;
    invariant(typeof id === "string" && id.startsWith("evt_"), "an event has an evt_ id");
    invariant(typeof type === "string" && knownTypes.has(type), `event type ${String(type)} is known`);
    invariant(typeof resource === "string", "an event names its resource");
    invariant(typeof createdAt === "number" && Number.isSafeInteger(createdAt), "an event has a time");
    invariant(
      typeof resourceData === "object" && resourceData !== null && !Array.isArray(resourceData),
      "an event's data is an object",
    );
    return { id, type: type as EventType, resource, createdAt, data: resourceData };
  });
}

/**
 * PostgreSQL: the events into the outbox, and one pending delivery per endpoint that subscribes
 * to each, in one statement; none when there are no events.
 */
export function postgresOutboxStatements(events: readonly OutboxEvent[]): Statement[] {
  if (events.length === 0) return [];
  return [
    {
      sql: insertAndFanOutPostgres,
      params: [
        jsonTexts(events.map((e) => e.id)),
        jsonTexts(events.map((e) => e.type)),
        jsonTexts(events.map((e) => e.resource)),
        jsonIntegers(events.map((e) => e.createdAt)),
        jsonDocuments(events.map((e) => eventBody(e))),
      ],
    },
  ];
}

/**
 * The `outbox.events` effect: each event into the outbox, and one pending delivery per endpoint
 * that subscribes to its type, in the transaction of the request that carries it.
 */
export function outboxStatements(data: JsonObject, dialect: SqlDialect): Statement[] {
  const events = outboxEvents(data);
  if (dialect === "postgres") return postgresOutboxStatements(events);
  return events.flatMap((event) => [
    {
      sql: insertEvent,
      params: [event.id, event.type, event.resource, BigInt(event.createdAt), eventBody(event)],
    },
    { sql: fanOutSqlite, params: [event.id] },
  ]);
}
