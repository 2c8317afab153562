import type { EventType } from "../../economy/events/events.js";
import type {
  AttemptOutcome,
  AttemptRecord,
  Delivery,
  DeliveryStatus,
  DueDelivery,
  WebhookEndpoint,
  WebhookStore,
} from "../../webhooks/webhook-store.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

const deliveryColumns = `d.id, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.created_at,
  d.delivered_at, d.last_attempt_at, d.last_status_code, d.last_error, d.last_duration_ms,
  ev.id AS event_id, ev.type AS event_type`;

/**
 * Endpoints, the outbox and the delivery log in the embedded database. Events and their deliveries
 * are written by the `outbox.events` effect (outbox.ts) with the request they report; everything
 * else here is a control-plane write through the writer thread.
 */
export class SqliteWebhookStore implements WebhookStore {
  private readonly s;

  constructor(private readonly store: SqliteStore) {
    const db = store.database;
    this.s = {
      endpoints: db.prepare(
        "SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id",
      ),
      endpoint: db.prepare("SELECT * FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL"),
      deliveries: db.prepare(
        `SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq
         WHERE d.endpoint_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`,
      ),
      delivery: db.prepare(
        `SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq
         WHERE d.endpoint_id = ? AND d.id = ?`,
      ),
      attempts: db.prepare(
        `SELECT * FROM (SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
      ),
      body: db.prepare(
        "SELECT ev.payload FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq WHERE d.id = ?",
      ),
      // The oldest pending delivery of each endpoint and resource only: a later event waits for an
      // earlier one that is still being retried.
      due: db.prepare(
        `SELECT d.id, d.endpoint_id, d.attempts, d.window_attempts, d.window_from, e.url, e.secret,
                ev.id AS event_id, ev.type AS event_type, ev.payload
         FROM webhook_deliveries d
         JOIN webhook_events ev ON ev.seq = d.event_seq
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ?
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                           WHERE p.endpoint_id = d.endpoint_id AND p.resource = d.resource
                             AND p.status = 'pending' AND p.id < d.id)
         ORDER BY d.next_attempt_at, d.id LIMIT ?`,
      ),
    };
  }

  async insertEndpoint(endpoint: WebhookEndpoint, secret: string, endpointsMax: number): Promise<boolean> {
    // Counted and inserted in one statement, so that concurrent creations cannot pass the limit.
    const changed = await this.store.execute([
      {
        sql: `INSERT INTO webhook_endpoints (id, url, events, description, secret, created_at, deleted_at)
              SELECT ?, ?, ?, ?, ?, ?, NULL
              WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL) < ?`,
        params: [
          endpoint.id,
          endpoint.url,
          JSON.stringify(endpoint.events),
          endpoint.description,
          secret,
          BigInt(endpoint.createdAt),
          BigInt(endpointsMax),
        ],
      },
      ...endpoint.events.map((type) => ({
        sql: `INSERT INTO webhook_subscriptions (type, endpoint_id)
              SELECT ?, id FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL`,
        params: [type, endpoint.id],
      })),
    ]);
    return changed > 0;
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return (this.s.endpoints.all() as Row[]).map(toEndpoint);
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = this.s.endpoint.get(id) as Row | undefined;
    return row ? toEndpoint(row) : undefined;
  }

  async deleteEndpoint(id: string, at: number): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: "UPDATE webhook_endpoints SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
        params: [BigInt(at), id],
      },
      { sql: "DELETE FROM webhook_subscriptions WHERE endpoint_id = ?", params: [id] },
      {
        sql: "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE endpoint_id = ? AND status = 'pending'",
        params: [id],
      },
    ]);
    return changed > 0;
  }

  async listDeliveries(endpointId: string, beforeId: bigint | null, limit: number): Promise<Delivery[]> {
    const rows = this.s.deliveries.all(endpointId, beforeId ?? 2n ** 63n - 1n, BigInt(limit)) as Row[];
    return rows.map(toDelivery);
  }

  async getDelivery(endpointId: string, deliveryId: bigint): Promise<Delivery | undefined> {
    const row = this.s.delivery.get(endpointId, deliveryId) as Row | undefined;
    return row ? toDelivery(row) : undefined;
  }

  async listAttempts(deliveryId: bigint, limit: number): Promise<AttemptRecord[]> {
    return (this.s.attempts.all(deliveryId, BigInt(limit)) as Row[]).map((row) => ({
      at: Number(row.at),
      statusCode: row.status_code === null ? null : Number(row.status_code),
      error: (row.error as string | null) ?? null,
      durationMs: Number(row.duration_ms),
    }));
  }

  async eventBody(deliveryId: bigint): Promise<string | undefined> {
    return (this.s.body.get(deliveryId) as { payload: string } | undefined)?.payload;
  }

  async listDue(now: number, limit: number): Promise<DueDelivery[]> {
    return (this.s.due.all(BigInt(now), BigInt(limit)) as Row[]).map((row) => ({
      id: row.id as bigint,
      endpointId: row.endpoint_id as string,
      url: row.url as string,
      secret: row.secret as string,
      eventId: row.event_id as string,
      eventType: row.event_type as string,
      body: row.payload as string,
      windowAttempts: Number(row.window_attempts),
      windowFrom: row.window_from === null ? null : Number(row.window_from),
      attemptCount: Number(row.attempts),
    }));
  }

  async recordAttempts(outcomes: readonly AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    // One transaction for a round of attempts: one fsync, however many were made.
    await this.store.execute(
      outcomes.flatMap(({ deliveryId, attempt, status, nextAttemptAt, windowFrom }) => [
        {
          sql: "INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?)",
          params: [
            deliveryId,
            BigInt(attempt.at),
            attempt.statusCode === null ? null : BigInt(attempt.statusCode),
            attempt.error,
            BigInt(attempt.durationMs),
          ],
        },
        {
          // Only while still pending: a delivery cancelled meanwhile (its endpoint deleted) stays so.
          sql: `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
                  window_attempts = window_attempts + 1, window_from = ?, next_attempt_at = ?,
                  delivered_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?, last_duration_ms = ?
                WHERE id = ? AND status = 'pending'`,
          params: [
            status,
            BigInt(windowFrom),
            nextAttemptAt === null ? null : BigInt(nextAttemptAt),
            status === "delivered" ? BigInt(attempt.at) : null,
            BigInt(attempt.at),
            attempt.statusCode === null ? null : BigInt(attempt.statusCode),
            attempt.error,
            BigInt(attempt.durationMs),
            deliveryId,
          ],
        },
      ]),
    );
  }

  async requeue(endpointId: string, deliveryId: bigint, now: number): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, window_attempts = 0,
                window_from = NULL, delivered_at = NULL
              WHERE id = ? AND endpoint_id = ? AND status <> 'cancelled'
                AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL)`,
        params: [BigInt(now), deliveryId, endpointId],
      },
    ]);
    return changed > 0;
  }

  async purge(before: number, limit: number): Promise<number> {
    const finished = `SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ? ORDER BY id LIMIT ?`;
    return this.store.execute([
      {
        sql: `DELETE FROM webhook_attempts WHERE delivery_id IN (${finished})`,
        params: [BigInt(before), BigInt(limit)],
      },
      {
        sql: `DELETE FROM webhook_deliveries WHERE id IN (${finished})`,
        params: [BigInt(before), BigInt(limit)],
      },
      {
        sql: `DELETE FROM webhook_events WHERE seq IN (
                SELECT seq FROM webhook_events ev WHERE created_at < ?
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = ev.seq)
                ORDER BY seq LIMIT ?)`,
        params: [BigInt(before), BigInt(limit)],
      },
    ]);
  }
}

function toEndpoint(row: Row): WebhookEndpoint {
  const secret = row.secret as string;
  return {
    id: row.id as string,
    url: row.url as string,
    events: JSON.parse(row.events as string) as string[],
    description: (row.description as string | null) ?? null,
    secretPrefix: secret.slice(0, 10),
    createdAt: Number(row.created_at),
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}

function toDelivery(row: Row): Delivery {
  const lastAt = row.last_attempt_at;
  return {
    id: row.id as bigint,
    endpointId: row.endpoint_id as string,
    eventId: row.event_id as string,
    eventType: row.event_type as EventType,
    status: row.status as DeliveryStatus,
    attemptCount: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    createdAt: Number(row.created_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    lastAttempt:
      lastAt === null
        ? null
        : {
            at: Number(lastAt),
            statusCode: row.last_status_code === null ? null : Number(row.last_status_code),
            error: (row.last_error as string | null) ?? null,
            durationMs: Number(row.last_duration_ms),
          },
  };
}
