import { invariant } from "../../errors.js";
import { freshJson, type JsonTexts } from "../../ledger/json-texts.js";
import type { JsonObject, StoreEffect } from "../../ledger/types.js";
import { auditParams, auditSql } from "./audit-sql.js";
import { outboxStatements } from "./outbox.js";
import type { SqlDialect, Statement } from "./sql-db.js";

/**
 * How each kind of record that rides beside a ledger request is written, in SQL both stores run
 * (see sql-db.ts). The economy names the effect and its data; this file owns the SQL. Data is
 * JSON, so amounts arrive as strings and are bound as bigint.
 */
/** Rows per insert of a cash-out's lots: well under SQLite's limit of bound parameters. */
const lotRowsPerInsert = 100;

/** `texts` gives the JSON text of the data, as the ledger checked it (json-texts.ts). */
const writers: Record<string, (data: JsonObject, dialect: SqlDialect, texts: JsonTexts) => Statement[]> = {
  "purchase.upsert": (d, _dialect, texts) => [
    {
      sql: `INSERT INTO purchases (id, user_id, pack_id, coins, price_minor, currency, provider, status,
              provider_ref, payment_ref, economy_version, channel, country, created_at, updated_at, document)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, provider_ref = excluded.provider_ref,
              payment_ref = excluded.payment_ref, updated_at = excluded.updated_at, document = excluded.document`,
      params: [
        str(d, "id"),
        str(d, "userId"),
        str(d, "packId"),
        BigInt(str(d, "coins")),
        BigInt(str(d, "priceMinor")),
        str(d, "currency"),
        str(d, "provider"),
        str(d, "status"),
        nullableStr(d, "providerRef"),
        nullableStr(d, "paymentRef"),
        str(d, "economyVersion"),
        str(d, "channel"),
        str(d, "country"),
        BigInt(num(d, "createdAt")),
        BigInt(num(d, "updatedAt")),
        texts.of(d),
      ],
    },
  ],
  "gift.record": (d) => [
    {
      sql: `INSERT INTO gifts (id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, source, context_type,
              context_id, value_usd, commission_rate, economy_version, status, created_at, matures_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      params: [
        str(d, "id"),
        str(d, "senderId"),
        str(d, "recipientId"),
        str(d, "giftId"),
        BigInt(num(d, "quantity")),
        BigInt(str(d, "coins")),
        BigInt(str(d, "diamonds")),
        str(d, "source"),
        str(d, "contextType"),
        str(d, "contextId"),
        str(d, "valueUsd"),
        str(d, "commissionRate"),
        str(d, "economyVersion"),
        BigInt(num(d, "createdAt")),
        BigInt(num(d, "maturesAt")),
      ],
    },
  ],
  "gift.mature": (d) => [
    {
      sql: "UPDATE gifts SET status = 'matured' WHERE id = ? AND status = 'pending'",
      params: [str(d, "id")],
    },
  ],
  "gift.reverse": (d) => [
    {
      sql: "UPDATE gifts SET reversed_diamonds = reversed_diamonds + ? WHERE id = ?",
      params: [BigInt(str(d, "diamonds")), str(d, "id")],
    },
  ],
  "cashout.upsert": (d, _dialect, texts) => [
    {
      sql: `INSERT INTO cashouts (id, user_id, status, rail, diamonds, currency, net_minor, created_at, updated_at, document)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
              document = excluded.document`,
      params: [
        str(d, "id"),
        str(d, "userId"),
        str(d, "status"),
        str(d, "rail"),
        BigInt(str(d, "diamonds")),
        str(d, "currency"),
        BigInt(str(d, "netMinor")),
        BigInt(num(d, "createdAt")),
        BigInt(num(d, "updatedAt")),
        texts.of(d),
      ],
    },
  ],
  /**
   * The lots a cash-out took, exactly as the service valued them (oldest first, under the
   * creator's lock), in multi-row inserts; then their diamonds are marked cashed.
   */
  "cashout.take_lots": (d) => {
    const cashoutId = str(d, "cashoutId");
    const takes = d.takes;
    invariant(Array.isArray(takes) && takes.length > 0, "a cash-out takes at least one lot");
    const statements: Statement[] = [];
    for (let i = 0; i < takes.length; i += lotRowsPerInsert) {
      const chunk = takes.slice(i, i + lotRowsPerInsert) as JsonObject[];
      statements.push({
        sql: `INSERT INTO cashout_lots (cashout_id, gift_id, diamonds) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}`,
        params: chunk.flatMap((t) => [cashoutId, str(t, "giftId"), BigInt(str(t, "diamonds"))]),
      });
    }
    statements.push({
      sql: `UPDATE gifts SET cashed_diamonds = cashed_diamonds + l.diamonds
            FROM cashout_lots AS l WHERE l.cashout_id = ? AND l.gift_id = gifts.id`,
      params: [cashoutId],
    });
    return statements;
  },
  "cashout.quote_spent": (d) => [
    { sql: "DELETE FROM cashout_quotes WHERE id = ?", params: [str(d, "quoteId")] },
  ],
  /** Its diamonds go back to their lots, with their locked values: failed, cancelled, rejected, returned. */
  "cashout.release_lots": (d) => [
    {
      sql: `UPDATE gifts SET cashed_diamonds = cashed_diamonds - l.diamonds
            FROM cashout_lots AS l WHERE l.cashout_id = ? AND l.released = 0 AND l.gift_id = gifts.id`,
      params: [str(d, "cashoutId")],
    },
    { sql: "UPDATE cashout_lots SET released = 1 WHERE cashout_id = ?", params: [str(d, "cashoutId")] },
  ],
  "activity.record": (d, _dialect, texts) => [
    {
      sql: "INSERT INTO activity (user_id, kind, at, data) VALUES (?, ?, ?, ?)",
      params: [str(d, "userId"), str(d, "kind"), BigInt(num(d, "at")), texts.of(d)],
    },
  ],
  /** An admin action recorded with the change it made (src/access/audit-effect.ts). */
  "audit.record": (d) => [
    {
      sql: auditSql.insert,
      params: auditParams({
        actor: str(d, "actor"),
        action: str(d, "action"),
        target: str(d, "target"),
        before: d.before ?? null,
        after: d.after ?? null,
        at: num(d, "at"),
      }),
    },
  ],
  "user.status": (d) => [
    {
      sql: "UPDATE users SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
      params: [str(d, "status"), nullableStr(d, "reason"), BigInt(num(d, "at")), str(d, "userId")],
    },
  ],
  "provider_event.record": (d) => [
    {
      sql: "INSERT INTO provider_events (provider, event_id, type, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      params: [str(d, "provider"), str(d, "eventId"), str(d, "type"), BigInt(num(d, "at"))],
    },
  ],
  /** Webhook events into the outbox, fanned out to the endpoints subscribed now (outbox.ts). */
  "outbox.events": outboxStatements,
};

export function statementsFor(
  effect: StoreEffect,
  dialect: SqlDialect,
  texts: JsonTexts = freshJson,
): Statement[] {
  const writer = writers[effect.type];
  invariant(writer !== undefined, `no writer for effect ${effect.type}`);
  return writer(effect.data, dialect, texts);
}

export function hasEffectWriter(type: string): boolean {
  return type in writers;
}

function str(d: JsonObject, key: string): string {
  const value = d[key];
  invariant(typeof value === "string", `effect field ${key} is a string`);
  return value;
}

function nullableStr(d: JsonObject, key: string): string | null {
  const value = d[key];
  invariant(
    value === null || value === undefined || typeof value === "string",
    `effect field ${key} is a string`,
  );
  return value ?? null;
}

function num(d: JsonObject, key: string): number {
  const value = d[key];
  invariant(typeof value === "number" && Number.isSafeInteger(value), `effect field ${key} is an integer`);
  return value;
}
