import type { AuditEntry } from "../../access/access-store.js";
import type { EventType } from "../../economy/events/events.js";
import { int64Max } from "../../ledger/int64.js";
import type {
  AttemptOutcome,
  AttemptRecord,
  Delivery,
  DeliveryStatus,
  DueDelivery,
  WebhookEndpoint,
  WebhookStore,
} from "../../webhooks/webhook-store.js";
import { auditedChange } from "./audit-sql.js";
import type { Row, SqlDb } from "./sql-db.js";

const deliveryColumns = `d.id, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.created_at,
  d.delivered_at, d.last_attempt_at, d.last_status_code, d.last_error, d.last_duration_ms,
  ev.id AS event_id, ev.type AS event_type`;

/**
 * Due, pending deliveries of live endpoints, oldest due first: only the oldest pending delivery
 * of each endpoint and resource, so that a later event waits for an earlier one that is still
 * being retried. A delivery of a deleted endpoint is never sent (see `purge`).
 */
const dueWhere = `d.status = 'pending' AND d.next_attempt_at <= ?
    AND d.endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                    WHERE p.endpoint_id = d.endpoint_id AND p.resource = d.resource
                      AND p.status = 'pending' AND p.id < d.id)
  ORDER BY d.next_attempt_at, d.id LIMIT ?`;

// The newest delivery is never purged: SQLite gives a new row the largest id + 1, so purging it
// would hand its id to the next delivery, and an id an operator kept would name another one.
const finished = `SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?
    AND id < (SELECT MAX(id) FROM webhook_deliveries) ORDER BY id LIMIT ?`;

const sql = {
  endpoints: "SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id",
  endpoint: "SELECT * FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL",
  deliveries: `SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq
     WHERE d.endpoint_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`,
  delivery: `SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq
     WHERE d.endpoint_id = ? AND d.id = ?`,
  attempts: `SELECT * FROM (SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY id DESC LIMIT ?) AS a
     ORDER BY id`,
  body: "SELECT ev.payload FROM webhook_deliveries d JOIN webhook_events ev ON ev.seq = d.event_seq WHERE d.id = ?",
  // SQLite: one process owns the file and its delivery runs never overlap, so a read is a claim.
  dueSqlite: `SELECT d.id, d.endpoint_id, d.attempts, d.window_attempts, d.window_from, d.requeues, e.url, e.secret,
       ev.id AS event_id, ev.type AS event_type, ev.payload
     FROM webhook_deliveries d
     JOIN webhook_events ev ON ev.seq = d.event_seq
     JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE ${dueWhere}`,
  // PostgreSQL: several processes run the delivery job on one database, so the due rows are
  // claimed, in one statement: locked (rows another claimer holds are skipped, not waited for),
  // and leased by moving `next_attempt_at` past the attempt. A claimer that reads a row after the
  // lease committed finds it no longer due. Parameters: lease end, now, limit.
  claimPostgres: `WITH claimed AS (
       UPDATE webhook_deliveries c SET next_attempt_at = ?
       FROM (SELECT d.id, d.next_attempt_at AS due_at FROM webhook_deliveries d
             WHERE ${dueWhere}
             FOR UPDATE OF d SKIP LOCKED) AS due
       WHERE c.id = due.id
       RETURNING c.id, c.endpoint_id, c.event_seq, c.attempts, c.window_attempts, c.window_from, c.requeues, due.due_at)
     SELECT d.id, d.endpoint_id, d.attempts, d.window_attempts, d.window_from, d.requeues, e.url, e.secret,
       ev.id AS event_id, ev.type AS event_type, ev.payload
     FROM claimed d
     JOIN webhook_events ev ON ev.seq = d.event_seq
     JOIN webhook_endpoints e ON e.id = d.endpoint_id
     ORDER BY d.due_at, d.id`,
  // Counted and inserted in one statement.
  insertEndpoint: `INSERT INTO webhook_endpoints (id, url, events, description, secret, created_at, deleted_at)
     SELECT ?, ?, ?, ?, ?, ?, NULL
     WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL) < ?`,
  // PostgreSQL only: makes the count and the insert above one step among processes (see
  // `insertEndpoint`). It changes no row, so it adds nothing to the count `execute` returns.
  lockEndpointsPostgres: "LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE",
  subscribe: `INSERT INTO webhook_subscriptions (type, endpoint_id)
     SELECT ?, id FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL`,
  deleteEndpoint: "UPDATE webhook_endpoints SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
  unsubscribe: "DELETE FROM webhook_subscriptions WHERE endpoint_id = ?",
  cancelPending:
    "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL WHERE endpoint_id = ? AND status = 'pending'",
  // PostgreSQL only, before `cancelPending`: takes the row locks that UPDATE takes on the
  // endpoint's pending deliveries, in id order, the order `recordAttempts` updates them in. A bare
  // UPDATE locks rows in whatever order its scan meets them, so a cancel and another process's
  // round of attempts could each hold a row the other waits for, and one of them fail with a
  // deadlock. It counts the rows that `cancelPending` then changes, so `deleteEndpoint`'s
  // "changed anything" means the same.
  lockPendingPostgres:
    "SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'pending' ORDER BY id FOR NO KEY UPDATE",
  insertAttempt:
    "INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?)",
  // Only while still pending: a delivery cancelled meanwhile (its endpoint deleted) stays so.
  recordAttempt: `UPDATE webhook_deliveries SET attempts = attempts + 1,
       last_attempt_at = ?, last_status_code = ?, last_error = ?, last_duration_ms = ?
     WHERE id = ? AND status = 'pending'`,
  // What the attempt makes of the delivery, unless it was queued again while the attempt was in
  // flight: the requeue's fresh window and "due at once" stand, not this attempt's verdict on the
  // window before it.
  recordOutcome: `UPDATE webhook_deliveries SET status = ?, window_attempts = window_attempts + 1,
       window_from = ?, next_attempt_at = ?, delivered_at = ?
     WHERE id = ? AND status = 'pending' AND requeues = ?`,
  requeue: `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, window_attempts = 0,
       window_from = NULL, delivered_at = NULL, requeues = requeues + 1
     WHERE id = ? AND endpoint_id = ? AND status <> 'cancelled'
       AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL)`,
  purgeAttempts: `DELETE FROM webhook_attempts WHERE delivery_id IN (${finished})`,
  purgeDeliveries: `DELETE FROM webhook_deliveries WHERE id IN (${finished})`,
  purgeEvents: `DELETE FROM webhook_events WHERE seq IN (
       SELECT seq FROM webhook_events ev WHERE created_at < ?
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = ev.seq)
       ORDER BY seq LIMIT ?)`,
  // Pending deliveries left to a deleted endpoint: on PostgreSQL, an event fanned out by a
  // transaction that read the subscriptions before the deletion committed, or a redelivery
  // queued concurrently with it. Never sent (`dueWhere`); cancelled here, then purged as finished.
  cancelOrphans: `UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL
     WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NOT NULL)`,
};

/**
 * How long a claimed delivery stays out of other claimers' reach (PostgreSQL): longer than one
 * round of the delivery job takes, at most `claimPerWorker` attempts in a row per worker, each
 * under the webhooks.timeoutMs maximum of 60 s, then the write of their outcomes. A process that
 * dies mid-round leaves its deliveries due again once their leases end.
 */
export const deliveryLeaseMs = 10 * 60_000;

/**
 * Endpoints, the outbox and the delivery log. Events and their deliveries are written by the
 * `outbox.events` effect (outbox.ts) with the request they report; everything else here is a
 * control-plane write, each call one transaction.
 */
export class SqlWebhookStore implements WebhookStore {
  constructor(
    private readonly db: SqlDb,
    private readonly leaseMs = deliveryLeaseMs,
  ) {}

  async insertEndpoint(
    endpoint: WebhookEndpoint,
    secret: string,
    endpointsMax: number,
    audit: AuditEntry,
  ): Promise<boolean> {
    // Concurrent creations must not pass the limit. On SQLite the count and the insert are one
    // statement on the single writer. On PostgreSQL, under read committed, two such statements
    // could each count before the other's insert commits: the table lock before it serialises
    // them, and the insert, a statement of its own, counts what committed up to the lock.
    const insert = {
      sql: sql.insertEndpoint,
      params: [
        endpoint.id,
        endpoint.url,
        JSON.stringify(endpoint.events),
        endpoint.description,
        secret,
        BigInt(endpoint.createdAt),
        BigInt(endpointsMax),
      ],
    };
    const changed = await this.db.execute([
      ...(this.db.dialect === "postgres" ? [{ sql: sql.lockEndpointsPostgres, params: [] }] : []),
      // The audit entry follows the insert in its transaction, written only if the insert was.
      ...auditedChange(this.db.dialect, insert, audit),
      ...endpoint.events.map((type) => ({ sql: sql.subscribe, params: [type, endpoint.id] })),
    ]);
    return changed > 0;
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return (await this.db.all(sql.endpoints)).map(toEndpoint);
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.db.get(sql.endpoint, [id]);
    return row ? toEndpoint(row) : undefined;
  }

  async deleteEndpoint(id: string, at: number, audit: AuditEntry): Promise<boolean> {
    const changed = await this.db.execute([
      // The audit entry with the delete, written only if it deleted.
      ...auditedChange(this.db.dialect, { sql: sql.deleteEndpoint, params: [BigInt(at), id] }, audit),
      { sql: sql.unsubscribe, params: [id] },
      ...(this.db.dialect === "postgres" ? [{ sql: sql.lockPendingPostgres, params: [id] }] : []),
      { sql: sql.cancelPending, params: [id] },
    ]);
    return changed > 0;
  }

  async listDeliveries(endpointId: string, beforeId: bigint | null, limit: number): Promise<Delivery[]> {
    const rows = await this.db.all(sql.deliveries, [endpointId, beforeId ?? int64Max, BigInt(limit)]);
    return rows.map(toDelivery);
  }

  async getDelivery(endpointId: string, deliveryId: bigint): Promise<Delivery | undefined> {
    const row = await this.db.get(sql.delivery, [endpointId, deliveryId]);
    return row ? toDelivery(row) : undefined;
  }

  async listAttempts(deliveryId: bigint, limit: number): Promise<AttemptRecord[]> {
    return (await this.db.all(sql.attempts, [deliveryId, BigInt(limit)])).map((row) => ({
      at: Number(row.at),
      statusCode: row.status_code === null ? null : Number(row.status_code),
      error: (row.error as string | null) ?? null,
      durationMs: Number(row.duration_ms),
    }));
  }

  async eventBody(deliveryId: bigint): Promise<string | undefined> {
    return (await this.db.get(sql.body, [deliveryId]))?.payload as string | undefined;
  }

  /**
   * On PostgreSQL this claims what it returns: each delivery is leased to the caller until
   * `now + leaseMs` (its `next_attempt_at`), so no other process sends it meanwhile. Recording
   * the attempt ends the lease (its outcome sets `next_attempt_at`); an attempt never recorded (a
   * crash, or `stop` aborting it) leaves the delivery due again when the lease ends, not at once.
   * The write goes through `all`, since it returns the rows it claimed; one statement, so it
   * commits on its own.
   */
  async listDue(now: number, limit: number): Promise<DueDelivery[]> {
    const rows =
      this.db.dialect === "postgres"
        ? await this.db.all(sql.claimPostgres, [BigInt(now + this.leaseMs), BigInt(now), BigInt(limit)])
        : await this.db.all(sql.dueSqlite, [BigInt(now), BigInt(limit)]);
    return rows.map((row) => ({
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
      requeues: Number(row.requeues),
    }));
  }

  async recordAttempts(outcomes: readonly AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    // One transaction for a round of attempts: one commit, however many were made. Rows are
    // updated in delivery id order, as every other multi-row write of deliveries goes, so two
    // processes' writes cannot wait on each other in a cycle.
    const ordered = [...outcomes].sort((a, b) =>
      a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0,
    );
    await this.db.execute(
      ordered.flatMap(({ deliveryId, attempt, status, nextAttemptAt, windowFrom, requeues }) => [
        {
          sql: sql.insertAttempt,
          params: [
            deliveryId,
            BigInt(attempt.at),
            attempt.statusCode === null ? null : BigInt(attempt.statusCode),
            attempt.error,
            BigInt(attempt.durationMs),
          ],
        },
        {
          sql: sql.recordAttempt,
          params: [
            BigInt(attempt.at),
            attempt.statusCode === null ? null : BigInt(attempt.statusCode),
            attempt.error,
            BigInt(attempt.durationMs),
            deliveryId,
          ],
        },
        {
          sql: sql.recordOutcome,
          params: [
            status,
            BigInt(windowFrom),
            nextAttemptAt === null ? null : BigInt(nextAttemptAt),
            status === "delivered" ? BigInt(attempt.at) : null,
            deliveryId,
            BigInt(requeues),
          ],
        },
      ]),
    );
  }

  async requeue(endpointId: string, deliveryId: bigint, now: number, audit: AuditEntry): Promise<boolean> {
    // The audit entry with the requeue, written only if it requeued.
    const changed = await this.db.execute(
      auditedChange(
        this.db.dialect,
        { sql: sql.requeue, params: [BigInt(now), deliveryId, endpointId] },
        audit,
      ),
    );
    return changed > 0;
  }

  async purge(before: number, limit: number): Promise<number> {
    const page = [BigInt(before), BigInt(limit)];
    return this.db.execute([
      { sql: sql.cancelOrphans, params: [] },
      { sql: sql.purgeAttempts, params: page },
      { sql: sql.purgeDeliveries, params: page },
      { sql: sql.purgeEvents, params: page },
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
